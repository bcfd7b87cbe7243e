#!/usr/bin/env python3
"""Writes one event-stream fixture per server (vllm.sse, sglang.sse, llamacpp.sse, ollama.sse) from the
log-out transcript, in the chunk shapes each server sends (README.md says where each shape comes from).

Usage: python3 make_streams.py   (stdlib only; run it again after changing the transcript)
"""

import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
TRANSCRIPT = os.path.join(HERE, "..", "Transcripts", "log-out.txt")
CREATED = 1764074006


def pieces(text):
    """Roughly the tokens a Qwen tokenizer makes: a word with its leading space, punctuation, newlines."""
    return re.findall(r"\n+| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]|\s+", text)


def split(reply):
    """(reasoning, answer text before the tool call, tool call JSON) of one transcript reply."""
    reasoning, answer = reply.split("\n</think>\n\n", 1)
    text, call = answer.split("\n<tool_call>\n", 1)
    return reasoning, text, call.removesuffix("\n</tool_call>")


def event(payload):
    return "data: " + json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n\n"


def vllm(reply, step):
    """vLLM with --reasoning-parser qwen3: the reasoning keeps the newline before </think>, the answer the two
    after it; without tools in the request the tool call stays in the text."""
    raw_reasoning, raw_answer = reply.split("</think>", 1)
    head = {"id": f"chatcmpl-8128e5ff3a86421681ebdef4c6d28a1{step}", "object": "chat.completion.chunk", "created": CREATED,
            "model": "Qwen/Qwen3-VL-8B-Thinking"}

    def chunk(delta, finish=None, **extra):
        return event(dict(head, choices=[dict({"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}, **extra,
                                              token_ids=None)]))

    out = chunk({"role": "assistant", "content": ""})
    out += "".join(chunk({"reasoning": p}) for p in pieces(raw_reasoning))
    out += "".join(chunk({"content": p}) for p in pieces(raw_answer))
    out += chunk({"content": ""}, "stop", stop_reason=None)
    out += event(dict(head, choices=[], usage={"prompt_tokens": 1712 + 400 * step, "total_tokens": 1843 + 400 * step,
                                                "completion_tokens": 131}))
    return out + "data: [DONE]\n\n"


def sglang(reply, step):
    """SGLang with --reasoning-parser qwen3: every delta field is written, null when empty; whitespace around
    </think> kept, as in vLLM."""
    raw_reasoning, raw_answer = reply.split("</think>", 1)
    head = {"id": f"fea45bfa7bbd4209b1e71bdcdcc6c66{step}", "object": "chat.completion.chunk", "created": CREATED,
            "model": "Qwen/Qwen3-VL-8B-Thinking"}

    def chunk(role=None, content=None, reasoning=None, finish=None, matched=None):
        delta = {"role": role, "content": content, "reasoning_content": reasoning, "tool_calls": None}
        return event(dict(head, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish,
                                          "matched_stop": matched}], usage=None))

    out = chunk(role="assistant", content="")
    out += "".join(chunk(reasoning=p) for p in pieces(raw_reasoning))
    out += "".join(chunk(content=p) for p in pieces(raw_answer))
    out += chunk(finish="stop", matched=151645)
    out += event(dict(head, choices=[], usage={"prompt_tokens": 1712 + 400 * step, "total_tokens": 1843 + 400 * step,
                                                "completion_tokens": 131, "prompt_tokens_details": None}))
    return out + "data: [DONE]\n\n"


def llamacpp(reply, step):
    """llama-server --jinja (--reasoning-format auto): reasoning in reasoning_content, trimmed; the answer
    without its leading newlines; usage and timings on the last chunk."""
    reasoning, answer = reply.split("\n</think>\n\n", 1)
    tail = {"created": CREATED, "id": f"chatcmpl-qC6laQHbZ2CmxNvJ4NoB1L93LcVF7nf{step}", "model": "Qwen3-VL-8B-Thinking-Q4_K_M.gguf",
            "system_fingerprint": "b7142-d403f00ec", "object": "chat.completion.chunk"}

    def chunk(delta, finish=None, **extra):
        return event(dict({"choices": [{"finish_reason": finish, "index": 0, "delta": delta}]}, **tail, **extra))

    out = chunk({"role": "assistant", "content": None})
    out += "".join(chunk({"reasoning_content": p}) for p in pieces(reasoning))
    out += "".join(chunk({"content": p}) for p in pieces(answer))
    out += chunk({}, "stop", usage={"completion_tokens": 131, "prompt_tokens": 1712 + 400 * step, "total_tokens": 1843 + 400 * step},
                 timings={"prompt_n": 1712, "prompt_ms": 2210.4, "prompt_per_token_ms": 1.29, "prompt_per_second": 774.5,
                          "predicted_n": 131, "predicted_ms": 2642.1, "predicted_per_token_ms": 20.17, "predicted_per_second": 49.6})
    return out + "data: [DONE]\n\n"


def ollama(reply, step):
    """Ollama /v1 with its qwen3-vl parser: reasoning in `reasoning`, whitespace around </think> and before
    <tool_call> trimmed, the tool call always moved to tool_calls (arguments a compact JSON string)."""
    reasoning, text, call = split(reply)
    parsed = json.loads(call)
    head = {"id": f"chatcmpl-83{step}", "object": "chat.completion.chunk", "created": CREATED, "model": "qwen3-vl:8b",
            "system_fingerprint": "fp_ollama"}

    def chunk(delta, finish=None):
        return event(dict(head, choices=[{"index": 0, "delta": dict({"role": "assistant", "content": ""}, **delta),
                                          "finish_reason": finish}]))

    out = "".join(chunk({"reasoning": p}) for p in pieces(reasoning))
    out += "".join(chunk({"content": p}) for p in pieces(text))
    arguments = json.dumps(parsed["arguments"], separators=(",", ":"), sort_keys=True)
    out += chunk({"tool_calls": [{"id": f"call_k3v9x2a{step}", "index": 0, "type": "function",
                                  "function": {"name": parsed["name"], "arguments": arguments}}]})
    out += chunk({}, "tool_calls")
    out += event(dict(head, choices=[], usage={"prompt_tokens": 1712 + 400 * step, "completion_tokens": 131,
                                                "total_tokens": 1843 + 400 * step}))
    return out + "data: [DONE]\n\n"


def main():
    with open(TRANSCRIPT, encoding="utf-8") as f:
        replies = [r.strip("\n") for r in f.read().split("\n---8<---\n")]
    for name, shape in [("vllm", vllm), ("sglang", sglang), ("llamacpp", llamacpp), ("ollama", ollama)]:
        with open(os.path.join(HERE, name + ".sse"), "w", encoding="utf-8", newline="\n") as f:
            f.write("\n---8<---\n".join(shape(reply, step) for step, reply in enumerate(replies, 1)))


if __name__ == "__main__":
    main()
