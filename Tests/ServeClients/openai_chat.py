"""Talks to `qwen-agent serve` with the official openai package, as any OpenAI client would.

Usage: openai_chat.py BASE_URL MODEL IMAGE.png PROMPT MAX_TOKENS
Prints one JSON object: the model list, a whole reply and a streamed one (same request, greedy), and
what happened when a streaming client went away early.
"""
import base64
import json
import sys
import time
import urllib.request

from openai import OpenAI

base, model, image_path, prompt, max_tokens = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
client = OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=120)
with open(image_path, "rb") as image:
    data_url = "data:image/png;base64," + base64.b64encode(image.read()).decode()
messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url}}, {"type": "text", "text": prompt}]}]


def extra(message, name):
    return (message.model_extra or {}).get(name)


whole = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=max_tokens)
choice = whole.choices[0]
result = {
    "models": [entry.id for entry in client.models.list().data],
    "whole": {
        "content": choice.message.content,
        "reasoning": extra(choice.message, "reasoning_content"),
        "finish_reason": choice.finish_reason,
        "completion_tokens": whole.usage.completion_tokens,
        "prompt_tokens": whole.usage.prompt_tokens,
    },
}

content, reasoning, chunks, finish, usage = "", "", 0, None, None
for chunk in client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=max_tokens,
                                            stream=True, stream_options={"include_usage": True}):
    chunks += 1
    if chunk.usage is not None:
        usage = chunk.usage.completion_tokens
    if not chunk.choices:
        continue
    delta = chunk.choices[0].delta
    content += delta.content or ""
    reasoning += extra(delta, "reasoning_content") or ""
    finish = chunk.choices[0].finish_reason or finish
result["stream"] = {"content": content, "reasoning": reasoning, "chunks": chunks, "finish_reason": finish, "completion_tokens": usage}

# A client that reads a few pieces of a long reply and goes away.
long_reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Count to a million."}],
                                            temperature=0, max_tokens=30000, stream=True)
for index, _ in enumerate(long_reply):
    if index == 3:
        break
long_reply.close()
status = None
for _ in range(300):
    with urllib.request.urlopen(base + "/api/status") as response:
        status = json.load(response)
    if status["last"].get("stopped_by_disconnect"):
        break
    time.sleep(0.1)
result["after_disconnect"] = status["last"]

# The server is free again: a short request is answered.
again = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}], temperature=0, max_tokens=2)
result["after_disconnect_reply_tokens"] = again.usage.completion_tokens
print(json.dumps(result))
