#!/usr/bin/env python3
"""A fake OpenAI-compatible chat-completions server for OpenAICompatibleModelTests.

Usage: fake_openai_server.py API_KEY

Binds 127.0.0.1 on a free port and prints the port as its first line. POST /v1/chat/completions
behaves according to the request's "model" (see MODELS); GET /stats returns how many requests each
model received and which streams the client hung up on. The replies echo what the request carried
(roles, parts, texts, images, settings, whether the bearer key matched), so a test can check the
request body without a second channel. Stdlib only.

Model `fixture:NAME` serves Fixtures/ServerStreams/NAME.sse, a recorded-shape event stream per server:
its replies are separated by a line `---8<---`, and the n-th request for the model gets the n-th reply,
so a multi-step agent run can be answered. Model `transcript:/path/file` streams the replies of a
scripted transcript the same way.
"""

import base64
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = sys.argv[1] if len(sys.argv) > 1 else ""
lock = threading.Lock()
attempts = {}
disconnected = set()

THINKING = "Let me look at the request.\n</think>\n\n"
SERVER_STREAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Fixtures", "ServerStreams")


def describe(request, headers):
    """One line that says what the request carried: the tests compare it exactly."""
    roles, parts, texts, images = [], [], [], []
    for message in request.get("messages", []):
        roles.append(message["role"])
        if isinstance(message["content"], str):
            parts.append("string")
            texts.append(message["content"])
            continue
        for part in message["content"]:
            parts.append(part["type"])
            if part["type"] == "text":
                texts.append(part["text"])
            elif part["type"] == "image_url":
                url = part["image_url"]["url"]
                prefix, data = url.split(",", 1)
                png = base64.b64decode(data)
                width, height = struct.unpack(">II", png[16:24])
                images.append(f"{prefix}:{data[:8]}:{width}x{height}")
    settings = " ".join(f"{key}={json.dumps(request[key])}" for key in sorted(request) if key not in ("model", "messages"))
    authorization = headers.get("Authorization")
    auth = "none" if authorization is None else "match" if authorization == f"Bearer {API_KEY}" else "mismatch"
    return (f"roles={','.join(roles)} parts={','.join(parts)} texts={'|'.join(texts)} "
            f"images={';'.join(images)} {settings} auth={auth} 世界")


def pieces(text, size):
    return [text[i:i + size] for i in range(0, len(text), size)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Each SSE write goes out at once, so the client sees lines split across network reads.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # MARK: plumbing

    def send_json(self, status, body, extra_headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def write(self, data):
        """One HTTP chunk of the chunked body."""
        self.wfile.write(b"%X\r\n" % len(data) + data + b"\r\n")
        self.wfile.flush()

    def event(self, payload, ending=b"\n\n"):
        self.write(b"data: " + json.dumps(payload, ensure_ascii=False).encode() + ending)

    def end_stream(self):
        self.write(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def abort(self):
        """Closes the socket with a reset, mid-response or before one."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    @staticmethod
    def chunk(delta=None, finish=None):
        return {"object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}

    @staticmethod
    def completion(message):
        return {"object": "chat.completion",
                "choices": [{"index": 0, "message": dict(role="assistant", **message), "finish_reason": "stop"}]}

    # MARK: requests

    def do_GET(self):
        if self.path != "/stats":
            return self.send_json(404, {"error": {"message": "no such path"}})
        with lock:
            self.send_json(200, {"attempts": attempts, "disconnected": sorted(disconnected)})

    def do_POST(self):
        if self.path != "/v1/chat/completions":
            return self.send_json(404, {"detail": "Not Found"})  # as vLLM (FastAPI) answers an unknown route
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        model = request.get("model", "")
        with lock:
            attempts[model] = attempts.get(model, 0) + 1
            attempt = attempts[model]
        prefix = model.split(":", 1)[0] + ":" if ":" in model else model
        behaviour = PREFIXED.get(prefix) or MODELS.get(model)
        if behaviour is None:
            return self.send_json(404, {"error": {"message": f"the model `{model}` does not exist"}})
        try:
            behaviour(self, request, attempt)
        except (BrokenPipeError, ConnectionResetError):
            with lock:
                disconnected.add(model)
            self.close_connection = True

    def ok(self, request, attempt):
        """A Thinking-style reply that echoes the request; streamed in pieces, with the awkward parts
        of SSE: a comment, a role-only delta, CRLF endings, a line (and a UTF-8 character) split across
        network reads, a finish chunk, a usage chunk with no choices."""
        reply = THINKING + describe(request, self.headers)
        if not request.get("stream"):
            return self.send_json(200, self.completion({"content": reply}))
        self.start_stream()
        self.write(b": keep-alive\n\n")
        self.event(self.chunk({"role": "assistant", "content": ""}))
        for index, piece in enumerate(pieces(reply, 9)):
            line = b"data: " + json.dumps(self.chunk({"content": piece}), ensure_ascii=False).encode()
            line += b"\r\n\r\n" if index % 2 else b"\n\n"
            # Cut inside a multi-byte character when there is one, else in the middle.
            cut = next((i + 1 for i, byte in enumerate(line) if byte >= 0x80), len(line) // 2)
            self.write(line[:cut])
            time.sleep(0.002)
            self.write(line[cut:])
        self.event(self.chunk(finish="stop"))
        self.event({"object": "chat.completion.chunk", "choices": [], "usage": {"completion_tokens": 42}})
        self.end_stream()

    def transcript(self, request, attempt):
        """Model `transcript:/path/file`: the attempt-th reply of a scripted transcript (replies split by a
        `---8<---` line), streamed. A request without an image is refused, as a vision agent's never is."""
        images = [part for message in request.get("messages", []) if isinstance(message.get("content"), list)
                  for part in message["content"] if part.get("type") == "image_url"]
        if not images:
            return self.send_json(400, {"error": {"message": "no screenshot in the request"}})
        with open(request["model"][len("transcript:"):], encoding="utf-8") as f:
            replies = [r.strip("\n") for r in f.read().split("\n---8<---\n")]
        if attempt > len(replies):
            return self.send_json(500, {"error": {"message": "the transcript is used up"}})
        self.start_stream()
        for piece in pieces(replies[attempt - 1], 7):
            self.event(self.chunk({"content": piece}))
        self.event(self.chunk(finish="stop"))
        self.end_stream()

    def fixture(self, request, attempt):
        """Model `fixture:NAME`: the attempt-th reply of Fixtures/ServerStreams/NAME.sse, written one event
        at a time, exactly as recorded."""
        with open(os.path.join(SERVER_STREAMS, request["model"][len("fixture:"):] + ".sse"), "rb") as f:
            replies = f.read().split(b"\n---8<---\n")
        if attempt > len(replies):
            return self.send_json(500, {"error": {"message": "the fixture is used up"}})
        self.start_stream()
        for event in replies[attempt - 1].split(b"\n\n"):
            if event.strip():
                self.write(event + b"\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def budget(self, request, attempt):
        """Model `budget:continue|restart|reject`: a reasoning that goes on and on, then, for the request that
        continues it (continue_final_message), what vLLM and SGLang do (continue the assistant message), what a
        server that ignores the fields does (start a new reply), or what llama-server does (refuse it)."""
        behaviour = request["model"][len("budget:"):]
        last = request["messages"][-1]
        if not request.get("continue_final_message"):
            self.start_stream()
            self.event(self.chunk({"role": "assistant", "content": ""}))
            # A minute of reasoning: longer than a loaded machine can take to cut it after five pieces.
            for index in range(3000):
                self.event(self.chunk({"reasoning": f"thought{index} " if index % 3 else f"thought{index}\n"}))
                time.sleep(0.02)
            self.event(self.chunk({"content": "never read"}, finish="stop"))
            return self.end_stream()
        if behaviour == "reject":
            return self.send_json(400, {"error": {"code": 400, "message": "Assistant response prefill is incompatible with enable_thinking.",
                                                  "type": "invalid_request_error"}})
        if request.get("add_generation_prompt") is not False or last["role"] != "assistant" or not last["content"].endswith("\n</think>\n\n"):
            return self.send_json(400, {"error": {"message": "continue_final_message is set but the final message does not appear in the chat"}})
        self.start_stream()
        if behaviour == "restart":
            self.event(self.chunk({"reasoning": "Let me start over. "}))
            self.event(self.chunk({"reasoning": "The OK button.\n"}))
        self.event(self.chunk({"content": "\n\n" if behaviour == "restart" else ""}))
        for piece in ["Action: Click OK.", "\n<tool_call>\n", '{"name": "computer_use", "arguments": {"action": "left_click", ',
                      '"coordinate": [500, 500]}}', "\n</tool_call>"]:
            self.event(self.chunk({"content": piece}))
        self.event(self.chunk(finish="stop"))
        self.event({"object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 321, "completion_tokens": 17}})
        self.end_stream()

    def tool_calls(self, request, attempt):
        """Two tool calls taken out of the text: the first streamed in pieces by index (as vLLM and llama.cpp
        stream them), the second with its arguments as an object, keys not in sorted order."""
        typed = {"text": "hi", "action": "type"}
        if not request.get("stream"):
            return self.send_json(200, self.completion({
                "reasoning_content": "I should click OK.", "content": "Action: Click OK, then type.",
                "tool_calls": [{"id": "call_1", "type": "function", "function": {
                                    "name": "computer_use", "arguments": '{"action": "left_click", "coordinate": [500, 500]}'}},
                               {"id": "call_2", "type": "function", "function": {"name": "computer_use", "arguments": typed}}]}))
        self.start_stream()
        self.event(self.chunk({"role": "assistant", "content": ""}))
        self.event(self.chunk({"reasoning_content": "I should click OK.\n"}))
        self.event(self.chunk({"content": "\n\nAction: Click OK, then type.\n"}))
        self.event(self.chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                               "function": {"name": "computer_use", "arguments": ""}}]}))
        for piece in ['{"action": "left', '_click", "coordinate": [5', '00, 500]}']:
            self.event(self.chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
        self.event(self.chunk({"tool_calls": [{"index": 1, "id": "call_2", "type": "function",
                                               "function": {"name": "computer_use", "arguments": typed}}]}))
        self.event(self.chunk(finish="tool_calls"))
        self.end_stream()

    def not_implemented(self, request, attempt):
        self.send_json(501, {"error": {"message": "this server does not implement chat completions"}})

    def flaky(self, request, attempt):
        if attempt <= 2:
            return self.send_json(503, {"error": {"message": "the model is still loading"}})
        self.ok(request, attempt)

    def ratelimit(self, request, attempt):
        if attempt == 1:
            return self.send_json(429, {"error": {"message": "too many requests"}}, [("Retry-After", "0")])
        self.ok(request, attempt)

    def ratelimit_bare(self, request, attempt):
        """429 without Retry-After: the client backs off on its own."""
        if attempt == 1:
            return self.send_json(429, {"error": {"message": "too many requests"}})
        self.ok(request, attempt)

    def reset(self, request, attempt):
        if attempt == 1:
            return self.abort()
        self.ok(request, attempt)

    def bad_request(self, request, attempt):
        self.send_json(400, {"error": {"message": "model not found", "type": "invalid_request_error"}})

    def bad_key(self, request, attempt):
        # Like OpenAI's "Incorrect API key provided: sk-…": the server quotes the key back.
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        self.send_json(401, {"error": {"message": f"Incorrect API key provided: {key}"}})

    def malformed(self, request, attempt):
        data = b"<html><body>502 Bad Gateway</body></html>\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def no_choices(self, request, attempt):
        self.send_json(200, {"object": "chat.completion", "choices": []})

    def garbled(self, request, attempt):
        self.start_stream()
        self.event(self.chunk({"content": "Let"}))
        self.write(b"data: {\"choices\": [\n\n")
        self.end_stream()

    def stream_error(self, request, attempt):
        self.start_stream()
        self.event({"error": {"message": "CUDA out of memory", "code": 500}})
        self.end_stream()

    def truncated(self, request, attempt):
        self.start_stream()
        for piece in ["Let me ", "think about"]:
            self.event(self.chunk({"content": piece}))
        time.sleep(0.05)
        self.abort()

    def truncated_clean(self, request, attempt):
        """No length and no chunking, so the body ends where the connection closes: cleanly, early."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for piece in ["Let me ", "think about"]:
            self.wfile.write(b"data: " + json.dumps(self.chunk({"content": piece})).encode() + b"\n\n")
        self.close_connection = True

    def slow(self, request, attempt):
        self.start_stream()
        time.sleep(300)

    def silent(self, request, attempt):
        """Says nothing for 4 s, then answers like `ok`: a server still reading the screenshot."""
        time.sleep(4)
        self.ok(request, attempt)

    def slow_stream(self, request, attempt):
        self.start_stream()
        for index in range(300):
            self.event(self.chunk({"content": f"tick {index} "}))
            time.sleep(0.1)
        self.end_stream()

    def steady(self, request, attempt):
        """Longer in total than the client's timeout, but never idle for long."""
        self.start_stream()
        for index in range(16):
            self.event(self.chunk({"content": f"{index} "}))
            time.sleep(0.2)
        self.end_stream()

    def long_think(self, request, attempt):
        self.start_stream()
        for index in range(200):
            self.event(self.chunk({"content": f"hmm{index} "}))
            time.sleep(0.02)
        self.event(self.chunk({"content": "</think>\n\nnever read"}))
        self.end_stream()

    def reasoning(self, request, attempt, field="reasoning_content"):
        thoughts, answer = ["The user ", "wants OK ", "clicked."], ["Click ", "OK."]
        if not request.get("stream"):
            return self.send_json(200, self.completion({field: "".join(thoughts), "content": "".join(answer)}))
        self.start_stream()
        self.event(self.chunk({"role": "assistant", "content": None, field: ""}))
        for piece in thoughts:
            self.event(self.chunk({"content": None, field: piece}))
        for piece in answer:
            self.event(self.chunk({"content": piece, field: None}))
        self.event(self.chunk(finish="stop"))
        self.end_stream()

    def reasoning_field(self, request, attempt):
        self.reasoning(request, attempt, field="reasoning")


PREFIXED = {
    "transcript:": Handler.transcript,
    "fixture:": Handler.fixture,
    "budget:": Handler.budget,
}

MODELS = {
    "ok": Handler.ok,
    "not-implemented": Handler.not_implemented,
    "tool-calls": Handler.tool_calls,
    "flaky": Handler.flaky,
    "ratelimit": Handler.ratelimit,
    "ratelimit-bare": Handler.ratelimit_bare,
    "reset": Handler.reset,
    "bad-request": Handler.bad_request,
    "bad-key": Handler.bad_key,
    "malformed": Handler.malformed,
    "no-choices": Handler.no_choices,
    "garbled": Handler.garbled,
    "stream-error": Handler.stream_error,
    "truncated": Handler.truncated,
    "truncated-clean": Handler.truncated_clean,
    "slow": Handler.slow,
    "silent": Handler.silent,
    "slow-stream": Handler.slow_stream,
    "steady": Handler.steady,
    "long-think": Handler.long_think,
    "reasoning": Handler.reasoning,
    "reasoning-field": Handler.reasoning_field,
}


def exit_with_parent():
    # A test run that is killed cannot kill its servers: each leaves by itself once its parent is gone.
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main():
    threading.Thread(target=exit_with_parent, daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
