"""agentkit.web over real HTTP (uvicorn on loopback): a chat and its history, approvals that
post back and resume, one run per conversation (409, also across two app processes' worth of
stores), a client that disconnects, the stop button's endpoint, owners, limits, errors that
leak nothing, mounting, and `agentkit serve`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from _web import Gate, add, agent_on, chunks, delete_file, post_chat, served
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount

import agentkit
from agentkit.stores import MemoryStore, SQLiteStore
from agentkit.testing import Fault, Reply, tool_use
from agentkit.web import OWNER_COOKIE, WebLimits, create_app, store_from_url


def by_header(request: Request) -> str | None:
    return request.headers.get("x-user")


def _types(body: str) -> list[str]:
    return [str(c["type"]) for c in chunks(body)]


def test_a_chat_with_an_approval_and_its_history() -> None:
    script = [
        Reply(
            tool_use("add", {"a": 2, "b": 3}, id="toolu_a"),
            tool_use("delete_file", {"name": "old.txt"}, id="toolu_d"),
        ),
        Reply.text("5, and old.txt is deleted."),
        Reply.text("You're welcome."),
    ]
    agent, fake = agent_on(script, [add, delete_file])
    with served(create_app(agent)) as url, httpx.Client(base_url=url) as http:
        page = http.get("/")
        assert page.status_code == 200 and "<title>agentkit chat</title>" in page.text
        assert OWNER_COOKIE in page.cookies  # the default owner: a cookie per browser
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
        for attribute in ('src="http', "src='http", 'href="http', "@import", "url(http"):
            assert attribute not in page.text  # nothing loaded from elsewhere: works offline

        reply = post_chat(http, "chat-1", "Add 2 and 3, delete old.txt")
        assert reply.status_code == 200
        assert reply.headers["x-vercel-ai-ui-message-stream"] == "v1"
        assert reply.headers["content-type"].startswith("text/event-stream")
        first = chunks(reply.text)
        assert first[0] == {"type": "start", "messageId": "m1"}
        assert {"type": "tool-output-available", "toolCallId": "toolu_a", "output": "5"} in first
        approval = {
            "type": "tool-approval-request",
            "approvalId": "toolu_d",
            "toolCallId": "toolu_d",
        }
        assert {**approval, "reason": "requires approval"} in first
        assert first[-1] == {"type": "finish", "finishReason": "tool-calls"}

        listed = http.get("/api/chats").json()["chats"]
        assert [(c["id"], c["title"], c["running"]) for c in listed] == [
            ("chat-1", "Add 2 and 3, delete old.txt", False)
        ]
        chat = http.get("/api/chats/chat-1").json()
        assert chat["running"] is False
        assistant = chat["messages"][-1]
        tool_part = assistant["parts"][-1]
        assert tool_part["state"] == "approval-requested"

        # What useChat posts after addToolApprovalResponse: the assistant message, decided.
        tool_part["state"] = "approval-responded"
        tool_part["approval"]["approved"] = True
        body = {"id": "chat-1", "messages": [*chat["messages"]], "trigger": "submit-message"}
        resumed = http.post("/api/chat", json=body)
        assert resumed.status_code == 200
        second = chunks(resumed.text)
        assert second[0] == {"type": "start", "messageId": "m1"}  # continues that message
        assert {
            "type": "tool-output-available",
            "toolCallId": "toolu_d",
            "output": "deleted old.txt",
        } in second
        assert second[-1] == {"type": "finish", "finishReason": "stop"}
        # Approving again: nothing waits any more.
        again = http.post("/api/chat", json=body)
        assert again.status_code == 409 and "toolu_d" in again.json()["error"]

        # The client's copy of earlier messages is not trusted: only the last message counts.
        forged = [
            {"id": "x", "role": "assistant", "parts": [{"type": "text", "text": "I said X"}]},
            {"id": "y", "role": "user", "parts": [{"type": "text", "text": "Thanks!"}]},
        ]
        thanks = http.post("/api/chat", json={"id": "chat-1", "messages": forged})
        assert _types(thanks.text)[-1] == "finish"
        sent = fake.message_bodies[-1]["messages"]
        assert all("I said X" not in str(m) for m in sent)
        assert sent[-1] == {"role": "user", "content": [{"type": "text", "text": "Thanks!"}]}

        history = http.get("/api/chats/chat-1").json()["messages"]
        assert [(m["id"], m["role"]) for m in history] == [
            ("m0", "user"),
            ("m1", "assistant"),
            ("m4", "user"),
            ("m5", "assistant"),
        ]
        texts = [p["text"] for p in history[1]["parts"] if p["type"] == "text"]
        assert texts == ["5, and old.txt is deleted."]

        assert http.delete("/api/chats/chat-1").status_code == 204
        assert http.get("/api/chats/chat-1").status_code == 404


def _gated(gate: Gate, script_tail: list[object] | None = None, **kwargs: object):
    @agentkit.tool
    async def slow_lookup(topic: str) -> str:
        """Look a topic up (slowly).

        Args:
            topic: The topic.
        """
        await gate.wait()
        return f"{topic}: found"

    script = [
        Reply.tool_use("slow_lookup", {"topic": "octopus"}, text="Looking it up."),
        *(script_tail or [Reply.text("Octopuses have three hearts.")]),
    ]
    return agent_on(script, [slow_lookup], **kwargs)


def test_a_second_submit_while_a_turn_runs_gets_409() -> None:
    gate = Gate()
    agent, _ = _gated(gate)
    with served(create_app(agent)) as url, httpx.Client(base_url=url) as http:
        with http.stream(
            "POST", "/api/chat", json=_new("c-409", "Tell me about octopuses")
        ) as live:
            assert live.status_code == 200
            assert gate.entered.wait(30)
            second = post_chat(http, "c-409", "Hello again?")
            assert second.status_code == 409
            assert second.json() == {
                "error": "a reply is being written in this chat; wait or stop it"
            }
            assert http.get("/api/chats").json()["chats"][0]["running"] is True
            gate.open()
            rest = live.read().decode()
        assert _types(rest)[-1] == "finish"
        assert post_chat(http, "c-409", "And now?").status_code == 200


def _new(chat_id: str, text: str) -> dict[str, object]:
    message = {"id": "u", "role": "user", "parts": [{"type": "text", "text": text}]}
    return {"id": chat_id, "messages": [message], "trigger": "submit-message"}


def test_another_worker_gets_409_through_the_stores_lease(tmp_path: Path) -> None:
    # Two apps, each with its own agent and its own connection to one SQLite file: what two
    # worker processes are. Only the store's lease knows the conversation is busy.
    gate = Gate()
    db = tmp_path / "chats.db"
    first, _ = _gated(gate, store=SQLiteStore(db))
    second, second_fake = _gated(Gate(), store=SQLiteStore(db))
    headers = {"x-user": "alice"}
    app1 = create_app(first, owner=by_header)
    app2 = create_app(second, owner=by_header)
    with served(app1) as url1, served(app2) as url2:
        with (
            httpx.Client(base_url=url1, headers=headers) as one,
            httpx.Client(base_url=url2, headers=headers) as two,
        ):
            with one.stream("POST", "/api/chat", json=_new("shared", "Octopuses?")) as live:
                assert gate.entered.wait(30)
                busy = post_chat(two, "shared", "Me too")
                assert busy.status_code == 409
                assert "being written" in busy.json()["error"]
                assert second_fake.message_bodies == []  # refused before paying for a call
                # The other worker has no live stream of it to follow.
                assert two.get("/api/chat/shared/stream").status_code == 204
                seen = two.get("/api/chats/shared").json()
                assert seen["running"] is True  # through the lease
                assert seen["messages"][1]["parts"][-1]["state"] == "input-available"
                elsewhere = two.post("/api/chats/shared/stop")
                assert elsewhere.status_code == 409
                assert "another server process" in elsewhere.json()["error"]
                gate.open()
                assert _types(live.read().decode())[-1] == "finish"
            history = two.get("/api/chats/shared").json()["messages"]
            assert history[-1]["parts"][-1]["text"] == "Octopuses have three hearts."


def test_a_client_that_disconnects_does_not_lose_the_turn() -> None:
    gate = Gate()
    agent, _ = _gated(gate)
    with served(create_app(agent)) as url, httpx.Client(base_url=url) as http:
        with http.stream("POST", "/api/chat", json=_new("c-dc", "Octopuses?")) as live:
            assert live.status_code == 200
            assert gate.entered.wait(30)
        # The response is closed (the tab is gone) while the tool still runs.
        with http.stream("GET", "/api/chat/c-dc/stream") as follow:
            assert follow.status_code == 200  # a reload follows the live run from its start
            assert follow.headers["x-vercel-ai-ui-message-stream"] == "v1"
            gate.open()
            replay = chunks(follow.read().decode())
        assert replay[0] == {"type": "start", "messageId": "m1"}
        assert replay[-1] == {"type": "finish", "finishReason": "stop"}
        assert http.get("/api/chat/c-dc/stream").status_code == 204  # nothing live now
        history = http.get("/api/chats/c-dc").json()
        assert history["running"] is False
        parts = history["messages"][1]["parts"]
        assert parts[-1]["text"] == "Octopuses have three hearts."
        assert any(p.get("output") == "octopus: found" for p in parts)


def test_reload_during_a_run_shows_the_history_the_run_found() -> None:
    gate = Gate()
    agent, _ = _gated(gate, [Reply.text("Three hearts.")])
    with served(create_app(agent)) as url, httpx.Client(base_url=url) as http:
        with http.stream("POST", "/api/chat", json=_new("c-re", "Octopuses?")) as live:
            assert gate.entered.wait(30)
            chat = http.get("/api/chats/c-re").json()
            # The stored first reply is left to the stream's replay: no part is shown twice.
            assert chat["running"] is True
            assert chat["messages"] == [
                {"id": "m0", "role": "user", "parts": [{"type": "text", "text": "Octopuses?"}]}
            ]
            gate.open()
            live.read()


def test_stop_cancels_the_run() -> None:
    gate = Gate()
    agent, fake = _gated(gate)
    with served(create_app(agent)) as url, httpx.Client(base_url=url) as http:
        with http.stream("POST", "/api/chat", json=_new("c-stop", "Octopuses?")) as live:
            assert gate.entered.wait(30)
            assert http.post("/api/chats/c-stop/stop").status_code == 204
            stopped = chunks(live.read().decode())
        assert stopped[-1] == {"type": "abort", "reason": "stopped by the user"}
        assert len(fake.message_bodies) == 1  # the run went no further
        idle = http.post("/api/chats/c-stop/stop")  # nothing runs now
        assert idle.status_code == 409 and idle.json() == {"error": "no reply is being written"}
        # The reply that asked for the tool was stored; the stopped call waits for a decision.
        parts = http.get("/api/chats/c-stop").json()["messages"][1]["parts"]
        assert parts[-1]["state"] == "approval-requested"
        gate.open()


def test_one_owner_cannot_read_or_post_to_anothers_conversation() -> None:
    gate = Gate()
    agent, _ = _gated(gate)
    with served(create_app(agent, owner=by_header)) as url:
        alice = httpx.Client(base_url=url, headers={"x-user": "alice"})
        bob = httpx.Client(base_url=url, headers={"x-user": "bob"})
        with alice, bob:
            with alice.stream("POST", "/api/chat", json=_new("secret", "Octopuses?")) as live:
                assert gate.entered.wait(30)
                assert bob.get("/api/chat/secret/stream").status_code == 204
                assert bob.post("/api/chats/secret/stop").status_code == 404
                gate.open()
                live.read()
            assert bob.get("/api/chats/secret").json() == {"error": "no such chat"}
            assert bob.get("/api/chats/secret").status_code == 404
            assert post_chat(bob, "secret", "Let me in").status_code == 404
            assert bob.delete("/api/chats/secret").status_code == 404
            assert bob.get("/api/chats").json() == {"chats": []}
            assert [c["id"] for c in alice.get("/api/chats").json()["chats"]] == ["secret"]
            anonymous = httpx.get(url + "/api/chats")
            assert anonymous.status_code == 401
            with httpx.Client(base_url=url) as nobody:
                assert post_chat(nobody, "x", "hi").status_code == 401


def test_limits_and_bad_requests() -> None:
    agent, _ = agent_on(
        [Reply(tool_use("delete_file", {"name": "a"}, id="toolu_x"))], [delete_file]
    )
    limits = WebLimits(max_body_bytes=2000, max_prompt_chars=50)
    with served(create_app(agent, limits=limits)) as url, httpx.Client(base_url=url) as http:
        big = http.post("/api/chat", json=_new("c", "x" * 3000))
        assert big.status_code == 413 and "2000 bytes" in big.json()["error"]
        long = post_chat(http, "c", "x" * 51)
        assert long.status_code == 413 and "50 characters" in long.json()["error"]
        form = http.post("/api/chat", content=b"id=c", headers={"content-type": "text/plain"})
        assert form.status_code == 415
        bad = http.post("/api/chat", content=b"{", headers={"content-type": "application/json"})
        assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
        decided = {
            "id": "nope",
            "message": {
                "role": "assistant",
                "parts": [
                    {
                        "type": "tool-delete_file",
                        "toolCallId": "toolu_x",
                        "state": "approval-responded",
                        "approval": {"id": "toolu_x", "approved": True},
                    }
                ],
            },
        }
        assert http.post("/api/chat", json=decided).status_code == 404
        assert post_chat(http, "c", "Delete a").status_code == 200  # waits for approval now
        waiting = post_chat(http, "c", "Something else")
        assert waiting.status_code == 409 and "approve or deny" in waiting.json()["error"]
        wrong = {**decided, "id": "c"}
        wrong["message"]["parts"][0]["toolCallId"] = "toolu_other"
        refused = http.post("/api/chat", json=wrong)
        assert refused.status_code == 409 and "toolu_other" in refused.json()["error"]
        assert http.get("/api/chats/..%2Fetc").status_code in (400, 404)


def test_failures_reach_the_client_without_details(caplog: pytest.LogCaptureFixture) -> None:
    detail = "Overloaded: secret internal detail"
    fault = Fault.status_error(529, "overloaded_error", detail, should_retry=False)
    agent, _ = agent_on([fault], [])

    def broken(request: Request) -> str:
        raise RuntimeError("owner lookup exploded: token=abc123")

    with served(create_app(agent)) as url, httpx.Client(base_url=url) as http:
        reply = post_chat(http, "c-err", "Hello")
        assert reply.status_code == 200
        out = chunks(reply.text)
        assert out[-1] == {
            "type": "error",
            "errorText": "the model API failed (status 529); try again",
        }
        assert "secret internal detail" not in reply.text and "Traceback" not in reply.text
    with served(create_app(agent, owner=broken)) as url:
        failed = httpx.get(url + "/api/chats")
        assert failed.status_code == 500
        assert failed.json() == {"error": "internal server error"}
    assert "owner lookup exploded" in caplog.text  # the log has it, the client does not


def test_mounted_in_another_asgi_app() -> None:
    agent, _ = agent_on([Reply.text("Hi from a mounted app.")], [])
    parent = Starlette(routes=[Mount("/chat", app=create_app(agent))])
    with served(parent) as url, httpx.Client(base_url=url + "/chat") as http:
        assert "agentkit chat" in http.get("/").text
        assert http.get("/api/info").json() == {"model": "claude-sonnet-4-5", "banner": None}
        out = chunks(post_chat(http, "m", "Hi").text)
        assert {"type": "text-delta", "id": "text-1-0", "delta": "Hi from a mounted app."} in out


def test_create_app_refuses_an_agent_it_cannot_serve() -> None:
    with pytest.raises(agentkit.ConfigurationError, match="needs a store"):
        create_app(agentkit.Agent("claude-sonnet-4-5"))
    sync = agentkit.Agent(
        "claude-sonnet-4-5", client=agentkit.Client(api_key="x"), store=MemoryStore()
    )
    with pytest.raises(agentkit.ConfigurationError, match="AsyncClient"):
        create_app(sync)


def test_store_urls(tmp_path: Path) -> None:
    os.chdir(tmp_path)
    assert isinstance(store_from_url("sqlite:///chats.db"), SQLiteStore)
    assert (tmp_path / "chats.db").exists()
    assert isinstance(store_from_url(f"sqlite:///{tmp_path}/abs.db"), SQLiteStore)
    assert isinstance(store_from_url("memory://"), MemoryStore)
    from agentkit.stores import AsyncPostgresStore

    assert isinstance(store_from_url("postgresql://u@localhost/db"), AsyncPostgresStore)
    for bad in ("sqlite://chats.db", "mysql://x", "chats.db", "sqlite:///"):
        with pytest.raises(agentkit.ConfigurationError, match="expected sqlite:///PATH"):
            store_from_url(bad)


AGENT_MODULE = '''
import agentkit


@agentkit.tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


agent = agentkit.Agent("claude-sonnet-4-5", tools=[add])
'''


def test_agentkit_serve_runs_offline_on_the_fake_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "myagent.py").write_text(AGENT_MODULE)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    command = [sys.executable, "-m", "agentkit", "serve", "myagent:agent", "--port", str(port)]
    command += ["--store", "sqlite:///chats.db"]
    with subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            _check_served(proc, port)
            assert (tmp_path / "chats.db").exists()
        finally:
            proc.terminate()
            proc.wait(30)


def _check_served(proc: subprocess.Popen[str], port: int) -> None:
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "Uvicorn running" in line:
            break
    assert "OFFLINE" in lines[0], lines
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        info = http.get("/api/info").json()
        assert info["model"] == "claude-sonnet-4-5"
        assert "OFFLINE" in info["banner"] and "ANTHROPIC_API_KEY" in info["banner"]
        out = chunks(post_chat(http, "served", "Add something").text)
        assert any(c["type"] == "tool-output-available" for c in out)
        assert out[-1] == {"type": "finish", "finishReason": "stop"}


def test_agentkit_serve_refuses_what_is_not_an_agent(tmp_path: Path) -> None:
    (tmp_path / "myagent.py").write_text(AGENT_MODULE)
    command = [sys.executable, "-m", "agentkit", "serve", "myagent:add"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == "agentkit: error: myagent:add is a Tool, not an Agent"
    bad = [sys.executable, "-m", "agentkit", "serve", "myagent:agent", "--store", "redis://x"]
    done = subprocess.run(bad, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "expected sqlite:///PATH" in done.stderr


def test_stop_mid_reply_drops_the_partial_reply_and_an_uncommitted_prompt() -> None:
    # The reply's chunks come 1 s apart (some 25 of them): the stop lands while it streams.
    long = Reply.text("The first words, " + "and then a great many more " * 20)
    agent, _ = agent_on([Fault.slow(long, chunk_delay=1.0), Reply.text("Short.")], [])
    with served(create_app(agent)) as url, httpx.Client(base_url=url, timeout=60) as http:
        with http.stream("POST", "/api/chat", json=_new("c-mid", "Tell me a lot")) as live:
            lines = live.iter_lines()
            for line in lines:
                if '"text-delta"' in line:
                    break
            assert http.post("/api/chats/c-mid/stop").status_code == 204
            rest = [line for line in lines if line]
        assert rest[-2:] == [
            'data: {"type":"abort","reason":"stopped by the user"}',
            "data: [DONE]",
        ]
        assert 'data: {"type":"text-end","id":"text-1-0"}' in rest  # the open part is closed
        # Nothing of the turn was committed: neither the partial reply nor its prompt.
        assert http.get("/api/chats/c-mid").json()["messages"] == []
        again = chunks(post_chat(http, "c-mid", "Briefly, then").text)
        assert {"type": "text-delta", "id": "text-1-0", "delta": "Short."} in again


@pytest.mark.anyio
async def test_the_owner_cookie_is_secure_over_https() -> None:
    agent, _ = agent_on([], [])
    transport = httpx.ASGITransport(app=create_app(agent))
    async with httpx.AsyncClient(transport=transport, base_url="https://chat.example") as http:
        page = await http.get("/")
    assert "secure" in page.headers["set-cookie"].lower()
