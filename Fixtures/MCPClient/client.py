"""A real MCP client for the tests of `qwen-agent mcp`: the official Python `mcp` package.

Usage: client.py SCENARIO CONFIG_JSON. CONFIG_JSON has `command` (the server's argv), `env` (extra
environment for it) and what the scenario needs; with `url` (and `token`) the client connects to a
running `qwen-agent mcp --http` over streamable HTTP instead of launching the server. Prints one JSON
object with what happened; the Swift test asserts on it.
"""

import asyncio
import base64
import contextlib
import glob
import json
import os
import select
import subprocess
import sys
import time

import anyio
import httpx2
from mcp import ClientSession, MCPError, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def text_of(result):
    return "\n".join(item.text for item in result.content if item.type == "text")


async def expect_error(session, name, arguments):
    """Calls a tool that must fail with a JSON-RPC error; returns its code and message."""
    try:
        result = await session.call_tool(name, arguments)
    except MCPError as error:
        return {"code": error.code, "message": error.message}
    return {"code": None, "message": "no error: " + text_of(result)}


async def desktop(session, config, out):
    tools = await session.list_tools()
    out["tools"] = {tool.name: sorted(tool.input_schema.get("properties", {})) for tool in tools.tools}

    shot = await session.call_tool("screenshot", {})
    images = [item for item in shot.content if item.type == "image"]
    out["screenshot_text"] = text_of(shot)
    out["screenshot_structured"] = shot.structured_content
    out["screenshot_mime"] = images[0].mime_type
    with open(config["png"], "wb") as file:
        file.write(base64.b64decode(images[0].data))

    click = await session.call_tool("click", {"coordinate": config["avatar"]})
    out["click"] = {"text": text_of(click), "is_error": bool(click.is_error)}

    out["errors"] = {
        "unknown_tool": await expect_error(session, "launch_rockets", {}),
        "missing_coordinate": await expect_error(session, "click", {}),
        "out_of_range": await expect_error(session, "click", {"coordinate": [1200, 50]}),
        "not_a_point": await expect_error(session, "double_click", {"coordinate": "here"}),
        "oversized_text": await expect_error(session, "type", {"text": "x" * 10_001}),
        "unknown_argument": await expect_error(session, "move", {"coordinate": [1, 1], "speed": 3}),
        "unknown_key": await expect_error(session, "key", {"keys": ["ctrl", "nosuchkey"]}),
        "unknown_monitor": await expect_error(session, "screenshot", {"monitor": "NOPE"}),
    }
    # Still serving after all of that.
    again = await session.call_tool("screenshot", {})
    out["still_serving"] = not again.is_error and any(item.type == "image" for item in again.content)

    parsed = await session.call_tool("parse", {
        "text": 'Click it.\n</think>\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]}}\n</tool_call>',
        "image_size": "1000x800",
    })
    out["parse"] = parsed.structured_content
    out["parse_bad"] = (await session.call_tool("parse", {"text": "no reasoning end", "image_size": "1000x800"})).structured_content
    out["parse_bad"]["actions"] = []


async def run(session, config, out):
    messages = []

    async def progress(value, total, message):
        messages.append(message or "")

    arguments = {"task": config["task"]}
    if config.get("plan_only"):
        arguments["plan_only"] = True
    result = await session.call_tool("run_task", arguments, progress_callback=progress)
    structured = result.structured_content or {}
    out["text"] = text_of(result)
    out["images"] = sum(1 for item in result.content if item.type == "image")
    # A run's outcome, or (plan_only) the plan.
    out["outcome"] = structured.get("outcome")
    out["steps"] = structured.get("steps")
    out["session"] = structured.get("session")
    out["plan_status"] = structured.get("status")
    out["plan_actions"] = [action["action"] for action in structured.get("actions", []) if isinstance(action, dict)]
    out["is_error"] = bool(result.is_error)
    out["progress"] = "".join(messages)
    out["progress_count"] = len(messages)


async def cancel(session, config, out):
    messages = []
    waiting = anyio.Event()

    async def progress(value, total, message):
        messages.append(message or "")
        if config["cancel_after"] in "".join(messages):
            waiting.set()

    async def call():
        out["completed"] = text_of(await session.call_tool("run_task", {"task": config["task"]}, progress_callback=progress))

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        with anyio.fail_after(60):
            await waiting.wait()
        group.cancel_scope.cancel()
    progress_text = "".join(messages)
    out["progress"] = progress_text
    session_dir = next(line.split("session: ", 1)[1] for line in progress_text.splitlines() if line.startswith("session: "))
    out["session"] = session_dir
    # The run ends on its own after the cancellation: its outcome is the session's last line.
    deadline = time.monotonic() + 30
    outcome = None
    while outcome is None and time.monotonic() < deadline:
        with open(os.path.join(session_dir, "session.jsonl")) as log:
            for line in log:
                record = json.loads(line)
                if record.get("type") == "outcome":
                    outcome = record
        await anyio.sleep(0.1)
    out["outcome"] = outcome and outcome["outcome"]
    tools = await session.list_tools()
    out["still_serving"] = len(tools.tools) > 0


async def calls(session, config, out):
    """Calls the tools of `calls` (name, and arguments as a JSON text) in order; records each result or error."""
    out["results"] = []
    for call in config["calls"]:
        try:
            result = await session.call_tool(call["name"], json.loads(call["arguments"]))
            out["results"].append({"text": text_of(result), "is_error": bool(result.is_error)})
        except MCPError as error:
            out["results"].append({"code": error.code, "message": error.message})


async def cancel_call(session, config, out):
    """Makes the calls of `calls`, cancelling the last after `cancel_after_seconds`; then checks the server still serves."""
    *first, last = config["calls"]
    for call in first:
        await session.call_tool(call["name"], json.loads(call["arguments"]))

    async def call():
        out["completed"] = text_of(await session.call_tool(last["name"], json.loads(last["arguments"])))

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await anyio.sleep(config["cancel_after_seconds"])
        group.cancel_scope.cancel()
    shot = await session.call_tool("screenshot", {})
    out["still_serving"] = not shot.is_error
    # The server records the cancelled action once the input has stopped; wait for it before hanging up.
    pattern = os.path.join(config["env"]["XDG_DATA_HOME"], "qwen-agent", "sessions", "*", "session.jsonl")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any('"status":"cancelled"' in open(path).read() for path in glob.glob(pattern)):
        await anyio.sleep(0.1)


async def refused(config, out):
    """Speaks streamable HTTP by hand: an initialize without the token, with a wrong one, from a foreign
    Origin, and (for contrast) a proper one; then the official client without the token."""
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
    accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    token = {"Authorization": "Bearer " + config["token"]} if config.get("token") else {}
    async with httpx2.AsyncClient(timeout=30) as http:
        async def post(headers):
            response = await http.post(config["url"], json=initialize, headers=dict(accept, **headers))
            if response.status_code == 200 and "mcp-session-id" in response.headers:
                await http.delete(config["url"], headers=dict(token, **{"Mcp-Session-Id": response.headers["mcp-session-id"]}))
            return {"status": response.status_code, "body": response.text}
        out["without_token"] = await post({})
        out["wrong_token"] = await post({"Authorization": "Bearer not-the-token"})
        out["foreign_origin"] = await post(dict(token, Origin="http://evil.example"))
        out["proper"] = await post(token)
    try:
        with anyio.fail_after(30):
            async with streamable_http_client(config["url"]) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
        out["client_without_token"] = "connected"
    except BaseException as error:  # the client's task group wraps the HTTP error
        out["client_without_token"] = repr(error)


def signal_after_click(config, out):
    """Launches the server, clicks once, then stops it with `signal`; the server must exit cleanly."""
    env = dict(os.environ, **config.get("env", {}))
    server = subprocess.Popen(config["command"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)

    def send(message):
        server.stdin.write(json.dumps(message).encode() + b"\n")
        server.stdin.flush()
        ready, _, _ = select.select([server.stdout], [], [], 30)
        return json.loads(server.stdout.readline()) if ready else None

    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
    server.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode() + b"\n")
    call = json.loads(config["calls"][0]["arguments"])
    out["click"] = send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": config["calls"][0]["name"], "arguments": call}})
    server.send_signal(config["signal"])
    out["exit_status"] = server.wait(timeout=30)


def raw(config, out):
    """Speaks JSON-RPC by hand, to send what no client library would: malformed messages."""
    env = dict(os.environ, **config.get("env", {}))
    server = subprocess.Popen(config["command"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)

    def send(line):
        server.stdin.write(line.encode() + b"\n")
        server.stdin.flush()

    def receive(timeout=20):
        ready, _, _ = select.select([server.stdout], [], [], timeout)
        if not ready:
            return None
        line = server.stdout.readline()
        return json.loads(line) if line else None

    send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}))
    out["initialize"] = receive()
    send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    send("this is not JSON at all {")
    out["not_json"] = receive()
    send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "no/such/method"}))
    out["unknown_method"] = receive()
    send(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"arguments": {}}}))
    out["call_without_name"] = receive()
    send(json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {}}))
    out["list_after"] = receive()
    server.stdin.close()
    out["exit_status"] = server.wait(timeout=20)


async def main():
    scenario, config = sys.argv[1], json.loads(sys.argv[2])
    out = {}
    if scenario == "raw":
        raw(config, out)
    elif scenario == "signal_after_click":
        signal_after_click(config, out)
    elif scenario == "refused":
        await refused(config, out)
    else:
        parameters = StdioServerParameters(command=config["command"][0], args=config["command"][1:], env=config.get("env", {}))
        asked = []

        async def elicit(context, params):
            # The user of this client answers every confirmation with `config["answer"]`.
            asked.append(params.message)
            return types.ElicitResult(action=config["answer"], content={} if config["answer"] == "accept" else None)

        callback = elicit if "answer" in config else None
        scenarios = {"desktop": desktop, "run": run, "cancel": cancel, "calls": calls, "cancel_call": cancel_call}
        async with contextlib.AsyncExitStack() as stack:
            if "url" in config:
                headers = {"Authorization": "Bearer " + config["token"]} if config.get("token") else None
                http = await stack.enter_async_context(create_mcp_http_client(headers=headers))
                read, write = await stack.enter_async_context(streamable_http_client(config["url"], http_client=http))
            else:
                errlog = stack.enter_context(open(config["errlog"], "w")) if config.get("errlog") else sys.stderr
                read, write = await stack.enter_async_context(stdio_client(parameters, errlog=errlog))
            session = await stack.enter_async_context(ClientSession(read, write, elicitation_callback=callback))
            await session.initialize()
            await scenarios[scenario](session, config, out)
        out["asked"] = asked
    print(json.dumps(out))


if __name__ == "__main__":
    anyio.run(main)
