#!/usr/bin/env python3
"""A fake OpenAI-compatible chat-completions server for OpenAICompatibleModelTests.

Usage: fake_openai_server.py API_KEY

Binds 127.0.0.1 on a free port and prints the port as its first line. POST /v1/chat/completions
behaves according to the request's "model" (see MODELS); GET /stats returns how many requests each
model received and which streams the client hung up on. The replies echo what the request carried
(roles, parts, texts, images, settings, whether the bearer key matched), so a test can check the
request body without a second channel. Stdlib only.
"""

import base64
import json
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


def describe(request, headers):
    """One line that says what the request carried: the tests compare it exactly."""
    roles, parts, texts, images = [], [], [], []
    for message in request.get("messages", []):
        roles.append(message["role"])
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
            return self.send_json(404, {"error": {"message": f"no route for {self.path}"}})
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        model = request.get("model", "")
        with lock:
            attempts[model] = attempts.get(model, 0) + 1
            attempt = attempts[model]
        behaviour = Handler.transcript if model.startswith("transcript:") else MODELS.get(model)
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

    def flaky(self, request, attempt):
        if attempt <= 2:
            return self.send_json(503, {"error": {"message": "the model is still loading"}})
        self.ok(request, attempt)

    def ratelimit(self, request, attempt):
        if attempt == 1:
            return self.send_json(429, {"error": {"message": "too many requests"}}, [("Retry-After", "0")])
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


MODELS = {
    "ok": Handler.ok,
    "flaky": Handler.flaky,
    "ratelimit": Handler.ratelimit,
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
    "slow-stream": Handler.slow_stream,
    "steady": Handler.steady,
    "long-think": Handler.long_think,
    "reasoning": Handler.reasoning,
    "reasoning-field": Handler.reasoning_field,
}


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
