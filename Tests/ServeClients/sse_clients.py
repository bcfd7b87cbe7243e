"""Opens many Server-Sent Event streams on `qwen-agent serve` at once, closes them, and measures the
server's open file descriptors and resident memory before, while and after they are connected.

Usage: sse_clients.py HOST PORT PATH SERVER_PID CLIENTS ROUNDS
Prints one JSON object.
"""
import json
import os
import socket
import sys
import time

host, port, path, pid, clients, rounds = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])


def descriptors():
    return len(os.listdir(f"/proc/{pid}/fd"))


def resident_kb():
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def settle(limit, timeout=30):
    """Waits until the server holds at most `limit` descriptors; returns how long that took."""
    start = time.monotonic()
    while descriptors() > limit and time.monotonic() - start < timeout:
        time.sleep(0.05)
    return time.monotonic() - start


result = {"before": {"fds": descriptors(), "rss_kb": resident_kb()}, "rounds": []}
for _ in range(rounds):
    sockets = []
    for _ in range(clients):
        connection = socket.create_connection((host, port))
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
        sockets.append(connection)
    # Every stream is open when its headers and first event have arrived.
    opened = 0
    for connection in sockets:
        connection.settimeout(30)
        received = b""
        while b"data: " not in received:
            piece = connection.recv(65536)
            if not piece:
                break
            received += piece
        opened += b"200 OK" in received and b"data: " in received
    during = {"fds": descriptors(), "rss_kb": resident_kb(), "open_streams": opened}
    for connection in sockets:
        connection.close()
    seconds = settle(result["before"]["fds"] + 2)
    result["rounds"].append({"during": during, "after": {"fds": descriptors(), "rss_kb": resident_kb()}, "released_in_s": round(seconds, 2)})
print(json.dumps(result))
