#!/usr/bin/env python3
"""Writes the small seed inputs that Fixtures/ has no file for (scripts/fuzz adds the fixtures).

Run from anywhere: python3 Fuzz/Seeds/make_seeds.py. The output is committed; rerun after changing it.
"""
import json, os, struct, zlib

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "..", "Fixtures")


def write(target, name, data):
    os.makedirs(os.path.join(here, target), exist_ok=True)
    with open(os.path.join(here, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def png(width, height, color_type=2, pixel=lambda x, y: (x * 40 % 256, y * 60 % 256, 90)):
    channels = {0: 1, 2: 3, 6: 4}[color_type]
    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in (pixel(x, y) + (255,))[:channels]) for y in range(height))
    chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, (dtype, shape, payload) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


# PNG: the colour types and sizes a frame or screenshot has.
write("PNG", "rgb-5x3.png", png(5, 3))
write("PNG", "gray-4x4.png", png(4, 4, 0, lambda x, y: (x * 60,)))
write("PNG", "rgba-3x2.png", png(3, 2, 6))

# Safetensors: each dtype, a scalar, an empty tensor, metadata.
write("Safetensors", "small.safetensors", safetensors({
    "a.weight": ("F32", [2, 3], struct.pack("<6f", *range(6))),
    "b.bias": ("BF16", [4], b"\x80\x3f" * 4),
    "c": ("F16", [], b"\x00\x3c"),
    "empty": ("F32", [0, 5], b""),
}, {"format": "pt"}))

# Tokenizer files: vocab.json, merges.txt, tokenizer_config.json separated as the target reads them.
vocab = {c: i for i, c in enumerate(["a", "b", "c", "Ġ", "ab", "Ġa", "abc", "!", "0", "1"])}
config = {"added_tokens_decoder": {"10": {"content": "<|im_start|>", "special": True}, "11": {"content": "<|im_end|>", "special": True}}}
write("TokenizerFiles", "slow-tokenizer", json.dumps(vocab) + "\n====\n#version: 0.2\na b\nab c\nĠ a\n" + "\n====\n" + json.dumps(config))
fast = {"model": {"type": "BPE", "vocab": vocab, "merges": ["a b", ["ab", "c"]]}, "added_tokens": [{"id": 10, "content": "<|im_start|>", "special": True}]}
write("TokenizerFiles", "tokenizer.json", json.dumps(fast))

# Chat template: a conversation in the target's NUL-separated fields (role, text, reasoning, tool name, arguments).
fields = ["system", "You operate a desktop.", "", "", "",
          "user", "Click <|im_end|> OK <|vision_start|><|image_pad|><|vision_end|>", "", "", "",
          "assistant", "Done.</think>", "I see a button", "computer_use", '{"action": "left_click", "coordinate": [1, 2]}',
          "tool", "<tool_response>ok</tool_response>", "", "", ""]
write("ChatTemplate", "conversation", "\0".join(fields))

# Server stream: four cut sizes, then a short vLLM-style stream with reasoning and a tool call in pieces.
events = [
    {"choices": [{"delta": {"reasoning_content": "The button is at the top."}}]},
    {"choices": [{"delta": {"content": "Click it.", "tool_calls": [{"index": 0, "function": {"name": "computer_use", "arguments": "{\"action\": \"left_"}}]}}]},
    {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "click\", \"coordinate\": [5, 9]}"}}]}, "finish_reason": "tool_calls"}]},
    {"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5}},
]
stream = ": ping\r\n\r\n" + "".join("data: " + json.dumps(e) + "\n\n" for e in events) + "data: [DONE]\n\n"
write("ServerStream", "tool-call-stream", b"\x05\x11\x01\x40" + stream.encode())
write("ChatReply", "object-arguments", json.dumps({"choices": [{"message": {"content": "ok", "reasoning": "hmm", "tool_calls": [
    {"function": {"name": "computer_use", "arguments": {"coordinate": [3, 4], "action": "left_click"}}}]}}]}))

# Session folder: the fixture run's log with two tiny frames per step.
with open(os.path.join(fixtures, "Sessions", "v1-agent-run", "session.jsonl"), "rb") as f:
    log = f.read()
frames = [png(8, 5, pixel=lambda x, y, k=k: (x * 30 % 256, y * 50 % 256, k * 40 % 256)) for k in range(9)]
write("SessionFolder", "v1-agent-run", log + b"".join(b"\n====\n" + frame for frame in frames))

# Parser: 4 KB Instruct replies (first byte '1': Instruct, 0-1000 coordinates) of the kinds that cost the most per byte,
# which RELIABILITY.md times: one sentence naming hundreds of verbs, numbered steps, and a random mix of verbs,
# coordinates, step markers and Chinese.
def instruct_4k(text):
    return b"1" + (text * (4096 // len(text) + 1)).encode()[:4095]

with open(os.path.join(fixtures, "ModelOutputs", "steps-english-numbered.txt")) as f:
    write("Parser", "instruct-4k-numbered-steps", instruct_4k(f.read()))
write("Parser", "instruct-4k-verbs", instruct_4k("click the button then type and press and scroll drag hover wait select tap input write hit "))
import random
pick = random.Random(1)
words = ["click", "double-click", "Right Click", "type", "press", "scroll", "drag", "move to", "wait", "点击", "输入", "第2步",
         "(12, 34)", "[5,6]", "x=3, y=4", "the", "ok", "Step 3.", "1.", "foo", "按下", "\n", "。"]
write("Parser", "instruct-4k-mixed", instruct_4k(" ".join(pick.choice(words) for _ in range(2000))))
