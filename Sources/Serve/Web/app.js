// The qwen-agent page: three tabs over the server's own API (no libraries, works offline).
"use strict";

const $ = (id) => document.getElementById(id);

function show(element, visible) { element.hidden = !visible; }

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const message = json && json.error ? json.error.message : `${response.status} ${text}`;
    throw new Error(message);
  }
  return json;
}

// ---- Tabs ----
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll(".tab")) other.classList.toggle("active", other === tab);
    for (const panel of document.querySelectorAll(".panel")) panel.classList.toggle("active", panel.id === tab.dataset.tab);
    if (tab.dataset.tab === "sessions") loadSessions();
  });
}

// ---- Status line ----
let profilesShown = false;
async function refreshStatus() {
  try {
    const status = await api("GET", "/api/status");
    const parts = [`${status.model} (${status.backend})`];
    if (status.resident_memory_bytes) parts.push(`memory ${Math.round(status.resident_memory_bytes / 1048576)} MB`);
    if (status.kv_cache_bytes !== undefined && status.kv_cache_bytes !== null) parts.push(`KV cache ${(status.kv_cache_bytes / 1048576).toFixed(1)} MB`);
    if (status.last.tokens_per_second) parts.push(`last ${status.last.tokens_per_second.toFixed(1)} tokens/s`);
    if (status.waiting) parts.push(`${status.waiting} waiting`);
    parts.push(`display ${status.display || "(none)"}`);
    $("status").textContent = parts.join(" · ");
    showChatModels(status.models);
    if (!profilesShown) {
      profilesShown = true;
      for (const name of status.profiles) {
        const option = document.createElement("option");
        option.value = name;
        option.textContent = name;
        $("profile").append(option);
      }
    }
  } catch (error) {
    $("status").textContent = `status unavailable: ${error.message}`;
  }
}
refreshStatus();
setInterval(refreshStatus, 3000);

// ---- Agent tab ----
let currentTask = null;
let events = null;
let started = 0;

function message(text) {
  $("message").textContent = text;
  show($("message"), Boolean(text));
}

function timeline(text, time) {
  const item = document.createElement("li");
  const stamp = document.createElement("span");
  stamp.className = "time";
  stamp.textContent = `${time.toFixed(2)} s`;
  item.append(stamp, document.createTextNode(text));
  $("timeline").append(item);
  $("timeline").scrollTop = $("timeline").scrollHeight;
}

function refreshScreenshot(seq) {
  const image = $("screenshot");
  image.src = `/api/tasks/${currentTask}/screenshot?seq=${seq}`;
  show(image, true);
}

function handle(event) {
  switch (event.type) {
    case "started":
      timeline(`started: ${event.text}${event.session ? ` — session ${event.session}` : ""}`, event.time);
      break;
    case "step":
      timeline(`step ${event.step}${event.model ? ` (${event.model})` : ""}`, event.time);
      $("reasoning").append(document.createTextNode(`\n── step ${event.step} ──\n`));
      break;
    case "screenshot":
      $("screenshot-caption").textContent = `Step ${event.step}: ${event.width}×${event.height}`;
      refreshScreenshot(event.seq);
      break;
    case "text":
      $("reasoning").append(document.createTextNode(event.text));
      $("reasoning").scrollTop = $("reasoning").scrollHeight;
      break;
    case "status":
      timeline(`[${event.text}…]`, event.time);
      break;
    case "planned":
      timeline(event.text ? `unusable reply: ${event.text}` : `planned: ${event.actions.join("; ") || "nothing"}`, event.time);
      refreshScreenshot(event.seq);
      break;
    case "approval":
      $("approval-action").textContent = event.text;
      show($("approval"), true);
      timeline(`waiting for approval: ${event.text}`, event.time);
      break;
    case "approved":
      show($("approval"), false);
      timeline(`answered: ${event.text}`, event.time);
      break;
    case "acting":
      timeline(`→ ${event.text}`, event.time);
      break;
    case "verified": {
      const t = event.timings_ms;
      timeline(`${event.verification} (think ${t.think} ms, act ${t.act} ms, settle ${t.settle} ms)`, event.time);
      break;
    }
    case "note":
      timeline(`· ${event.text}`, event.time);
      break;
    case "outcome":
      show($("approval"), false);
      $("outcome").textContent = `${event.outcome === "success" ? "✔" : "✘"} ${event.text}`;
      $("outcome").className = `outcome ${event.outcome === "success" ? "success" : "other"}`;
      show($("outcome"), true);
      timeline(`outcome: ${event.outcome}`, event.time);
      finishTask();
      break;
  }
}

function finishTask() {
  if (events) events.close();
  events = null;
  $("start").disabled = false;
  $("abort").disabled = true;
}

$("task-form").addEventListener("submit", async (submit) => {
  submit.preventDefault();
  message("");
  const body = {
    task: $("task").value,
    profile: $("profile").value || undefined,
    plan_only: $("plan-only").checked,
    confirm: $("confirm").checked,
  };
  try {
    const task = await api("POST", "/api/tasks", body);
    currentTask = task.id;
    started = performance.now();
    $("reasoning").textContent = "";
    $("timeline").textContent = "";
    show($("outcome"), false);
    show($("approval"), false);
    show($("screenshot"), false);
    $("screenshot-caption").textContent = "Waiting for the first screenshot…";
    $("start").disabled = true;
    $("abort").disabled = false;
    if (events) events.close();
    events = new EventSource(`/api/tasks/${task.id}/events`);
    events.onmessage = (incoming) => handle(JSON.parse(incoming.data));
    events.onerror = () => { if (events && events.readyState === EventSource.CLOSED) finishTask(); };
  } catch (error) {
    message(error.message);
  }
});

$("abort").addEventListener("click", async () => {
  if (currentTask === null) return;
  try { await api("POST", `/api/tasks/${currentTask}/abort`); } catch (error) { message(error.message); }
});

for (const [button, decision] of [["approve", "approve"], ["approve-all", "approve_all"], ["skip", "skip"], ["stop", "stop"]]) {
  $(button).addEventListener("click", async () => {
    try { await api("POST", `/api/tasks/${currentTask}/approve`, { decision }); } catch (error) { message(error.message); }
  });
}

// ---- Chat tab ----
// The Mode switch picks the model of that variant; a variant serve has no model for is disabled, with how to load one.
const missingVariantHints = {
  thinking: "Thinking is not loaded: start serve with --thinking-model DIR (a Qwen3-VL Thinking folder) as well.",
  instruct: "Instruct is not loaded: start serve with --model DIR of an Instruct folder (and the Thinking one as --thinking-model DIR).",
};
function showChatModels(models) {
  const hints = [];
  for (const option of $("chat-mode").options) {
    const model = models.find((candidate) => candidate.variant === option.value);
    const label = option.value === "thinking" ? "Thinking" : "Instruct";
    option.disabled = !model;
    option.dataset.model = model ? model.name : "";
    option.textContent = model ? `${label} · ${model.name}${model.loaded ? "" : " (loads when first asked)"}` : `${label} (not loaded)`;
    if (!model) hints.push(missingVariantHints[option.value]);
  }
  const select = $("chat-mode");
  if (select.selectedOptions[0] && select.selectedOptions[0].disabled) {
    const usable = Array.from(select.options).find((option) => !option.disabled);
    if (usable) select.value = usable.value;
  }
  $("chat-mode-hint").textContent = hints.join(" ");
  show($("chat-mode-hint"), hints.length > 0);
}

let chatImage = null; // a data: URL, sent with the next question
let chatMessages = [];

for (const [slider, output] of [["chat-temperature", "chat-temperature-value"], ["chat-top-p", "chat-top-p-value"],
                                ["chat-max-tokens", "chat-max-tokens-value"], ["chat-thinking", "chat-thinking-value"]]) {
  $(slider).addEventListener("input", () => { $(output).textContent = $(slider).value; });
}

function setChatImage(url) {
  chatImage = url;
  $("chat-preview").src = url || "";
  show($("chat-preview"), Boolean(url));
}

function readImage(blob) {
  const reader = new FileReader();
  reader.onload = () => setChatImage(reader.result);
  reader.readAsDataURL(blob);
}

$("chat-image").addEventListener("change", () => { if ($("chat-image").files[0]) readImage($("chat-image").files[0]); });
$("chat-clear-image").addEventListener("click", () => { setChatImage(null); $("chat-image").value = ""; });
document.addEventListener("paste", (paste) => {
  for (const item of paste.clipboardData.items) {
    if (item.type.startsWith("image/")) readImage(item.getAsFile());
  }
});
$("chat-screenshot").addEventListener("click", async () => {
  const response = await fetch("/api/display/screenshot");
  if (!response.ok) { addTurn("assistant").answer.textContent = (await response.json()).error.message; return; }
  readImage(await response.blob());
});
$("chat-new").addEventListener("click", () => { chatMessages = []; $("conversation").textContent = ""; });

function addTurn(role, text) {
  const turn = document.createElement("div");
  turn.className = `turn ${role}`;
  const parts = {};
  if (role === "assistant") {
    parts.model = document.createElement("div");
    parts.model.className = "model";
    turn.append(parts.model);
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "Reasoning";
    parts.reasoning = document.createElement("pre");
    details.append(summary, parts.reasoning);
    details.hidden = true;
    parts.details = details;
    turn.append(details);
  }
  parts.answer = document.createElement("div");
  parts.answer.className = "answer";
  parts.answer.textContent = text || "";
  turn.append(parts.answer);
  $("conversation").append(turn);
  return parts;
}

$("chat-form").addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const question = $("chat-question").value.trim();
  if (!question) return;
  const content = [];
  if (chatImage) content.push({ type: "image_url", image_url: { url: chatImage } });
  content.push({ type: "text", text: question });
  chatMessages.push({ role: "user", content });
  addTurn("user", question + (chatImage ? "  [image]" : ""));
  setChatImage(null);
  $("chat-question").value = "";
  $("chat-send").disabled = true;
  const turn = addTurn("assistant");
  const mode = $("chat-mode").selectedOptions[0];
  const request = {
    model: mode.dataset.model || undefined,
    messages: chatMessages,
    stream: true,
    temperature: Number($("chat-temperature").value),
    top_p: Number($("chat-top-p").value),
    max_tokens: Number($("chat-max-tokens").value),
    // Only a Thinking model has reasoning to budget.
    thinking_budget: mode.value === "thinking" ? Number($("chat-thinking").value) : undefined,
  };
  let answer = "";
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request),
    });
    if (!response.ok) throw new Error((await response.json()).error.message);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!block.startsWith("data: ") || block === "data: [DONE]") continue;
        const chunk = JSON.parse(block.slice(6));
        if (chunk.error) throw new Error(chunk.error.message);
        if (chunk.model) turn.model.textContent = chunk.model;
        const delta = chunk.choices && chunk.choices[0] ? chunk.choices[0].delta : {};
        if (delta.reasoning_content) {
          turn.details.hidden = false;
          turn.reasoning.append(document.createTextNode(delta.reasoning_content));
        }
        if (delta.content) {
          answer += delta.content;
          turn.answer.textContent = answer;
        }
      }
    }
    chatMessages.push({ role: "assistant", content: answer });
    turn.answer.classList.add("done");
  } catch (error) {
    turn.answer.classList.add("error");
    turn.answer.textContent = error.message;
    chatMessages.pop();
  }
  $("chat-send").disabled = false;
});

// ---- Sessions tab ----
async function loadSessions() {
  try {
    const sessions = await api("GET", "/api/sessions");
    const list = $("session-list");
    list.textContent = "";
    for (const session of sessions) {
      const row = document.createElement("tr");
      row.dataset.name = session.name;
      for (const text of [session.started.replace("T", " ").slice(0, 19), session.task, String(session.steps), session.outcome || "unfinished", session.model]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      const replay = document.createElement("td");
      const dryRun = document.createElement("button");
      dryRun.type = "button";
      dryRun.className = "dry-run-button";
      dryRun.textContent = "Dry run";
      dryRun.title = "What replay would do: each step, the first one checked against the screen; nothing is sent";
      dryRun.addEventListener("click", (click) => { click.stopPropagation(); showDryRun(session.name, dryRun); });
      replay.append(dryRun);
      row.append(replay);
      row.addEventListener("click", () => {
        $("session-report").src = `/api/sessions/${encodeURIComponent(session.name)}/report`;
        show($("session-report"), true);
      });
      list.append(row);
    }
  } catch (error) {
    $("session-list").textContent = error.message;
  }
}
$("sessions-refresh").addEventListener("click", loadSessions);

async function showDryRun(name, button) {
  const output = $("dry-run");
  button.disabled = true;
  output.classList.remove("error");
  output.textContent = `replay --dry-run ${name} …`;
  show(output, true);
  try {
    const report = await api("POST", `/api/sessions/${encodeURIComponent(name)}/dry-run`);
    output.textContent = [`replay --dry-run ${name}`, ...report.lines.map((line) => `  ${line}`), report.summary].join("\n");
    output.classList.toggle("error", report.ending !== "completed");
  } catch (error) {
    output.textContent = `replay --dry-run ${name}: ${error.message}`;
    output.classList.add("error");
  }
  button.disabled = false;
}
