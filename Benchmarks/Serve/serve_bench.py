"""Measures `qwen-agent serve` against the terminal and `qwen-agent generate` (run by scripts/benchmark-serve).

1. The page: load to interactive, and how much later the page shows the first reasoning text than the
   run emits it (the moment the terminal prints it: the CLI prints from the same event), over plan-only
   tasks answered by the log-out transcript on Xvfb with the fixture app; headless Chromium via selenium.
2. The server's resident memory idle and with 200 connected event streams.
3. /v1/chat/completions against `qwen-agent generate` on the same prompt, greedy, same token count,
   with the tiny golden checkpoint: the request's wall time against generate's own prefill + decode time.
Prints a Markdown table of medians and ratios.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

parser = argparse.ArgumentParser()
parser.add_argument("--binary", required=True)
parser.add_argument("--fixture", required=True)
parser.add_argument("--root", required=True)
parser.add_argument("--runs", type=int, default=10)
args = parser.parse_args()
root = args.root
scratch = tempfile.mkdtemp(prefix="serve-bench-")
started = []


def start(command, **options):
    process = subprocess.Popen(command, **options)
    started.append(process)
    return process


def serve(arguments, environment):
    out = open(os.path.join(scratch, f"serve-{len(started)}.out"), "w+")
    process = start([args.binary, "serve", "--port", "0"] + arguments, stdout=out, stderr=subprocess.STDOUT, env=environment)
    for _ in range(600):
        out.seek(0)
        match = re.search(r"qwen-agent serve: (http://[0-9.]+:[0-9]+)/", out.read())
        if match:
            return process, match.group(1)
        time.sleep(0.1)
    raise SystemExit("serve did not start")


def get(url):
    with urllib.request.urlopen(url) as response:
        return json.load(response)


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


rows = []
try:
    xvfb = start(["Xvfb", "-displayfd", "1", "-nolisten", "tcp", "-screen", "0", "1280x800x24"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    display = ":" + xvfb.stdout.readline().decode().strip()
    environment = dict(os.environ, DISPLAY=display, XDG_DATA_HOME=os.path.join(scratch, "data"))
    start([args.fixture, "--log", os.path.join(scratch, "fixture.jsonl"), "--x", "320", "--y", "200", "--scenario", "login",
           "--start", "home", "--user", "ada"], env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    server, base = serve(["--transcript", os.path.join(root, "Fixtures/Transcripts/log-out.txt"), "--display", display], environment)

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000", "--disable-gpu"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    wait = WebDriverWait(driver, 60, poll_frequency=0.01)
    loads, added = [], []
    try:
        for _ in range(args.runs):
            driver.get(base + "/")
            wait.until(lambda d: "scripted" in d.find_element(By.ID, "status").text)
            loads.append(driver.execute_script("const t = performance.getEntriesByType('navigation')[0]; return t.domInteractive - t.startTime;"))
        driver.find_element(By.ID, "plan-only").click()
        driver.find_element(By.ID, "task").send_keys("log out of the app")
        for _ in range(args.runs):
            driver.execute_script("""
                window.firstText = null;
                window.answeredAt = undefined;
                const reasoning = document.getElementById('reasoning');
                new MutationObserver((changes, observer) => {
                  if (reasoning.textContent.replace(/── step \\d+ ──/g, '').trim().length > 0 && window.firstText === null) {
                    window.firstText = performance.now(); observer.disconnect();
                  }
                }).observe(reasoning, {childList: true, characterData: true, subtree: true});
                const originalFetch = window.fetch;
                window.fetch = async (...a) => {
                  if (String(a[0]) === '/api/tasks') window.postedAt = performance.now();
                  const response = await originalFetch(...a);
                  if (String(a[0]) === '/api/tasks') window.answeredAt = performance.now();
                  return response;
                };""")
            driver.find_element(By.ID, "start").click()
            wait.until(lambda d: d.execute_script("return window.firstText !== null && window.answeredAt !== undefined;"))
            wait.until(lambda d: d.find_element(By.ID, "outcome").is_displayed())
            tasks = get(base + "/api/tasks")
            events = urllib.request.urlopen(f"{base}/api/tasks/{tasks[0]['id']}/events").read().decode()
            first = next(json.loads(line[6:]) for line in events.splitlines() if line.startswith("data: ") and '"type":"text"' in line)
            timing = driver.execute_script("return [window.postedAt, window.answeredAt, window.firstText];")
            # The run starts between the POST and its answer: count from the answer, so the page is not blamed for the POST.
            added.append(timing[2] - timing[1] - first["time"] * 1000)
    finally:
        driver.quit()
    rows.append(("Page load to interactive (loopback, headless Chromium)", f"{statistics.median(loads):.0f} ms", "—", "—"))
    rows.append(("First reasoning text: page shows it after the run emits it (terminal prints it then)",
                 f"{statistics.median(added):.1f} ms", f"p90 {sorted(added)[int(len(added) * 0.9) - 1]:.1f} ms", "goal < 50 ms"))

    idle = rss_mb(server.pid)
    post(base + "/api/tasks", {"task": "log out of the app", "confirm": True})
    time.sleep(1)
    task = get(base + "/api/tasks")[0]["id"]
    clients = subprocess.run([sys.executable, os.path.join(root, "Tests/ServeClients/sse_clients.py"), "127.0.0.1", base.rsplit(":", 1)[1],
                              f"/api/tasks/{task}/events", str(server.pid), "200", "1"], capture_output=True, text=True, check=True)
    during = json.loads(clients.stdout)["rounds"][0]["during"]
    rows.append(("Server resident memory with 200 event streams / idle", f"{during['rss_kb'] / 1024:.0f} MB", f"{idle:.0f} MB idle",
                 f"+{(during['rss_kb'] / 1024 - idle) * 1024 / 200:.0f} kB per stream"))
    urllib.request.urlopen(urllib.request.Request(f"{base}/api/tasks/{task}/abort", method="POST")).read()

    model = os.path.join(root, "Fixtures/Golden/tiny-tied")
    tokenizer = os.path.join(root, "Fixtures/QwenTokenizer")
    tokens = 200
    served, base = serve(["--model", model, "--tokenizer", tokenizer], environment)
    post(base + "/v1/chat/completions", {"messages": [{"role": "user", "content": "warm-up"}], "max_tokens": 8})
    api, engine = [], []
    for run in range(args.runs):
        # A new prompt each run: the engine's prompt cache must not spare the server the prefill that generate does.
        prompt = f"Run {run}: describe a desktop with a login form, a menu bar and a clock."
        request = {"messages": [{"role": "user", "content": prompt}], "temperature": 0, "max_tokens": tokens}
        begin = time.perf_counter()
        reply = post(base + "/v1/chat/completions", request)
        api.append(time.perf_counter() - begin)
        assert reply["usage"]["completion_tokens"] == tokens, reply["usage"]
        generated = subprocess.run([args.binary, "generate", "--model", model, "--tokenizer", tokenizer, prompt, "--greedy",
                                    "--max-new-tokens", str(tokens)], capture_output=True, text=True, check=True, env=environment)
        timing = re.search(r"prefill (\d+) tokens at ([0-9.]+) tokens/s; decode (\d+) tokens at ([0-9.]+) tokens/s", generated.stderr)
        engine.append(int(timing.group(1)) / float(timing.group(2)) + int(timing.group(3)) / float(timing.group(4)))
    ratio = statistics.median(api) / statistics.median(engine)
    rows.append((f"/v1/chat/completions request wall time vs `generate`'s own prefill + decode time ({tokens} tokens, tiny checkpoint)",
                 f"{statistics.median(api) * 1000:.0f} ms", f"{statistics.median(engine) * 1000:.0f} ms", f"{ratio:.3f}× (goal < 1.05×)"))
finally:
    for process in reversed(started):
        if process.poll() is None:
            process.send_signal(2)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

print("| What | Measured (median) | Reference | Ratio / goal |")
print("|---|---|---|---|")
for row in rows:
    print("| " + " | ".join(row) + " |")
