"""The batch runner against the fake Claude: same conversations as direct runs, retries,
fallback, cancellation, progress, crash and resume (in process and with SIGKILL), and the CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from agentkit import Agent, AsyncClient, Client, Conversation, Limits, tool
from agentkit.batches import (
    MANIFEST_PREFIX,
    BatchJob,
    BatchProgress,
    BatchRunner,
    batch_runs,
    custom_id,
)
from agentkit.stores import MemoryStore, SQLiteStore, to_async
from agentkit.testing import FakeClaude, FakeRequest, FakeResponse, Fault, Reply
from agentkit.types import RunUsage

MODEL = "claude-haiku-4-5"
ROOT = Path(__file__).resolve().parents[1]


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
async def mul(a: int, b: int) -> int:
    """Multiply two integers."""
    await anyio.lowlevel.checkpoint()
    return a * b


def tool_rounds(body: dict[str, Any]) -> int:
    """How many tool-result messages the request carries."""
    return sum(
        1
        for m in body["messages"]
        if m["role"] == "user"
        and isinstance(m["content"], list)
        and any(b.get("type") == "tool_result" for b in m["content"])
    )


def prompt_of(body: dict[str, Any]) -> str:
    return str(body["messages"][0]["content"][0]["text"])


def three_rounds(body: dict[str, Any]) -> Reply:
    """Two parallel calls per round for three rounds, then an answer naming the prompt."""
    n = tool_rounds(body)
    if n < 3:
        return Reply.tool_uses(("add", {"a": n, "b": 1}), ("mul", {"a": n, "b": 2}))
    results = [b["content"] for b in body["messages"][-1]["content"]]
    return Reply.text(f"{prompt_of(body)}: {results}")


def faulty(faults: dict[tuple[str, int], list[Any]]) -> Callable[[dict[str, Any]], Any]:
    """`three_rounds`, but the first requests of (prompt, round) get the listed faults."""

    def respond(body: dict[str, Any]) -> Any:
        pending = faults.get((prompt_of(body), tool_rounds(body)))
        return pending.pop(0) if pending else three_rounds(body)

    return respond


def make_agent(client: Any, **kwargs: Any) -> Agent[Any, Any]:
    return Agent(MODEL, tools=[add, mul], client=client, max_tokens=512, **kwargs)


def sync_client(fake: FakeClaude) -> Client:
    return Client(api_key="test", http_client=fake.http_client(), max_retries=0)


def runner_for(fake: FakeClaude, store: Any = None, **kwargs: Any) -> BatchRunner:
    kwargs.setdefault("poll_interval", 0.001)
    agent = make_agent(sync_client(fake), limits=kwargs.pop("limits", None))
    return BatchRunner(agent, store=store if store is not None else MemoryStore(), **kwargs)


def normalized(messages: list[dict[str, Any]]) -> str:
    """The messages as JSON with the fake's generated tool-use ids renamed by first appearance."""
    text = json.dumps(messages, sort_keys=True)
    names: dict[str, str] = {}
    return re.sub(r"toolu_\w+", lambda m: names.setdefault(m.group(), f"id{len(names)}"), text)


def downloads(fake: FakeClaude) -> list[str]:
    """The ids of the batches whose results were read, once per download (even a partial one)."""
    found = (re.fullmatch(r"/v1/messages/batches/(\w+)/results", r.path) for r in fake.requests)
    return [m.group(1) for m in found if m]


def stored_usage(store: MemoryStore, ids: list[str], discount: float) -> RunUsage:
    usage = RunUsage()
    for cid in ids:
        for entry in store.load(cid):
            response = entry.meta.get("response")
            if response:
                usage = usage.add(response["usage"], response["model"], discount=discount)
    return usage


# -- equivalence with direct runs -----------------------------------------------------------------


def test_200_conversations_match_direct_runs() -> None:
    prompts = [f"question {i}" for i in range(200)]
    batch_fake = FakeClaude(three_rounds, seed=7)
    store = MemoryStore()
    result = runner_for(batch_fake, store, run_id="eq").run(prompts)

    direct_fake = FakeClaude(three_rounds, seed=7)
    agent = make_agent(sync_client(direct_fake))
    assert result.rounds == 4
    assert len(batch_fake.submitted_custom_ids) == 800
    for i, prompt in enumerate(prompts):
        outcome = result.outcomes[f"eq-{i}"]
        assert outcome.status == "complete"
        direct = agent.run(prompt, conversation=Conversation(id=f"eq-{i}"))
        batched = store.load(f"eq-{i}").messages
        assert len(batched) == 8
        assert normalized(batched) == normalized(direct.conversation.messages)
        assert outcome.result is not None and outcome.result.output == direct.output
    # every request went through the batch endpoint, none directly
    assert not batch_fake.message_bodies


def test_batch_bodies_are_the_direct_bodies() -> None:
    fake = FakeClaude(three_rounds, seed=1)
    runner_for(fake, run_id="b").run(["hello"])
    direct_fake = FakeClaude(three_rounds, seed=1)
    make_agent(sync_client(direct_fake)).run("hello")
    batch_params = [
        item["params"]
        for r in fake.requests
        if r.method == "POST" and r.path == "/v1/messages/batches"
        for item in r.body["requests"]
    ]
    assert [normalized(p) for p in batch_params] == [
        normalized(b) for b in direct_fake.message_bodies
    ]


def test_structured_output_as_in_a_direct_run() -> None:
    from pydantic import BaseModel

    class Verdict(BaseModel):
        label: str
        score: int

    def answer(body: dict[str, Any]) -> Reply:
        if tool_rounds(body) == 0:
            return Reply.tool_uses(("add", {"a": 1, "b": 1}))
        return Reply.tool_uses(("final_result", {"label": prompt_of(body), "score": 2}))

    fake = FakeClaude(answer)
    agent = make_agent(sync_client(fake), output_type=Verdict, output_mode="tool")
    result = BatchRunner(agent, store=MemoryStore(), run_id="s", poll_interval=0.001).run(["x"])
    direct = make_agent(
        sync_client(FakeClaude(answer)), output_type=Verdict, output_mode="tool"
    ).run("x")
    outcome = result.outcomes["s-0"]
    assert outcome.status == "complete" and outcome.result is not None
    assert outcome.result.output == direct.output == Verdict(label="x", score=2)
    assert result.rounds == 2


def test_a_limit_fails_the_conversation_with_its_error() -> None:
    fake = FakeClaude(three_rounds)
    result = runner_for(fake, run_id="lim", limits=Limits(max_turns=2)).run(["a", "b"])
    for outcome in result.outcomes.values():
        assert outcome.status == "failed"
        assert outcome.error == "LimitExceededError: max_turns of 2 reached"
    assert result.rounds == 2


# -- progress -------------------------------------------------------------------------------------


def test_progress_reports_counts_and_discounted_cost() -> None:
    fake = FakeClaude(faulty({("p1", 1): [Fault.batch_outcome("canceled")]}))
    seen: list[BatchProgress] = []
    store = MemoryStore()
    runner = runner_for(fake, store, run_id="pg", on_progress=seen.append)
    result = runner.run(["p0", "p1", "p2"])

    phases = [(p.round, p.phase) for p in seen]
    assert phases == [
        *[(n, phase) for n in (1, 2, 3, 4) for phase in ("submitted", "waiting", "processing")],
        (4, "done"),
    ]
    counts = [
        (p.round, p.running, p.finished, p.failed, p.canceled)
        for p in seen
        if p.phase == "processing"
    ]
    # p1's request was canceled: counted as canceled, not failed
    assert counts == [(1, 3, 0, 0, 0), (2, 2, 0, 0, 1), (3, 2, 0, 0, 1), (4, 0, 2, 0, 1)]
    submitted = [p.batch for p in seen if p.phase == "submitted"]
    assert [b.request_counts.processing for b in submitted if b] == [3, 3, 2, 2]
    waiting = [p.batch for p in seen if p.phase == "waiting"]
    assert all(b is not None and b.ended for b in waiting)

    ids = ["pg-0", "pg-1", "pg-2"]
    half = stored_usage(store, ids, 0.5)
    full = stored_usage(store, ids, 1.0)
    assert seen[-1].usage == result.usage
    # The same costs summed in another order: equal up to float rounding.
    assert vars(half) | {"cost_usd": 0} == vars(result.usage) | {"cost_usd": 0}
    assert half.cost_usd == pytest.approx(result.usage.cost_usd)
    assert half.cost_usd == pytest.approx(full.cost_usd / 2) and half.cost_usd > 0
    costs = [p.cost_usd for p in seen]
    assert costs == sorted(costs)


# -- retries, fallback, cancel --------------------------------------------------------------------


def test_errored_and_expired_requests_are_retried_next_round() -> None:
    faults = {
        ("p0", 1): [Fault.server_error()],
        ("p1", 0): [Fault.batch_outcome("expired"), Fault.server_error()],
    }
    fake = FakeClaude(faulty(faults))
    result = runner_for(fake, run_id="rt", max_retries=2).run(["p0", "p1", "p2"])
    assert {o.status for o in result.outcomes.values()} == {"complete"}
    ids = fake.submitted_custom_ids
    assert len(ids) == len(set(ids)) == 12 + 3
    assert {"rt-0-3-r1", "rt-1-1-r1", "rt-1-1-r2"} <= set(ids)
    assert result.rounds == 6  # p1 lost two rounds


def test_retries_are_bounded() -> None:
    fake = FakeClaude(faulty({("p0", 0): [Fault.server_error()] * 5}))
    result = runner_for(fake, run_id="bd", max_retries=1).run(["p0", "p1"])
    failed = result.outcomes["bd-0"]
    assert failed.status == "failed"
    assert failed.error == "errored: api_error: Internal server error (2 attempts)"
    assert result.outcomes["bd-1"].status == "complete"
    assert [i for i in fake.submitted_custom_ids if i.startswith("bd-0")] == ["bd-0-1", "bd-0-1-r1"]


def test_invalid_requests_fail_without_retry() -> None:
    bad = Fault.status_error(400, "invalid_request_error", "messages: too long")
    fake = FakeClaude(faulty({("p0", 2): [bad]}))
    result = runner_for(fake, run_id="inv", max_retries=3).run(["p0"])
    assert result.outcomes["inv-0"].status == "failed"
    assert "invalid_request_error" in str(result.outcomes["inv-0"].error)
    assert fake.submitted_custom_ids == ["inv-0-1", "inv-0-3", "inv-0-5"]


def test_fallback_sends_the_same_body_directly() -> None:
    fake = FakeClaude(faulty({("p0", 1): [Fault.batch_outcome("expired")]}))
    store = MemoryStore()
    result = runner_for(fake, store, run_id="fb", max_retries=0, fallback=True).run(["p0", "p1"])
    assert {o.status for o in result.outcomes.values()} == {"complete"}
    [direct] = fake.message_bodies
    [expired] = [
        item["params"]
        for r in fake.requests
        if r.method == "POST" and r.path == "/v1/messages/batches"
        for item in r.body["requests"]
        if item["custom_id"] == "fb-0-3"
    ]
    assert direct == expired
    assert result.rounds == 4  # the direct call kept p0 in step
    usage = stored_usage(store, ["fb-0", "fb-1"], 0.5)
    # the direct reply is billed in full: one reply's worth above the all-batch cost
    assert result.usage.cost_usd > usage.cost_usd
    assert result.usage.requests == usage.requests == 8


def test_canceled_requests_stop_their_conversation() -> None:
    fake = FakeClaude(faulty({("p1", 0): [Fault.batch_outcome("canceled")]}))
    store = MemoryStore()
    result = runner_for(fake, store, run_id="cn").run(["p0", "p1"])
    assert result.outcomes["cn-1"].status == "canceled"
    assert result.outcomes["cn-1"].error == "the batch was canceled before this request ran"
    assert result.outcomes["cn-0"].status == "complete"
    [info] = batch_runs(store.list())
    assert info.run_id == "cn" and info.counts == {"complete": 1, "canceled": 1}
    assert info.in_flight == [] and info.rounds == 4


# -- state in the store ---------------------------------------------------------------------------


class _Crash(Exception):
    pass


@pytest.mark.anyio
async def test_crash_mid_round_resumes_without_resubmitting() -> None:
    """An async client and an async store; the run dies while waiting on round 2's batch."""
    fake = FakeClaude(three_rounds)
    store = to_async(MemoryStore())
    http = fake.async_http_client()
    agent = make_agent(AsyncClient(api_key="test", http_client=http))

    def crash(progress: BatchProgress) -> None:
        if progress.round == 2 and progress.phase == "waiting":
            raise _Crash

    jobs = [BatchJob(f"p{i}", conversation_id=f"conv-{i}") for i in range(5)]
    first = BatchRunner(agent, store=store, run_id="r", poll_interval=0.001, on_progress=crash)
    with pytest.raises(_Crash):
        await first.arun(jobs)
    assert len(fake.submitted_custom_ids) == 10

    again = BatchRunner(agent, store=store, run_id="r", poll_interval=0.001)
    result = await again.arun(jobs)
    ids = fake.submitted_custom_ids
    assert len(ids) == len(set(ids)) == 20
    assert result.rounds == 4 and len(result.batch_ids) == 4
    for i in range(5):
        assert result.outcomes[f"conv-{i}"].status == "complete"
        assert len((await store.load(f"conv-{i}")).messages) == 8
    await http.aclose()


def test_rerun_of_a_finished_run_submits_nothing() -> None:
    fake = FakeClaude(three_rounds)
    store = MemoryStore()
    runner_for(fake, store, run_id="f").run(["a", "b"])
    submitted = len(fake.submitted_custom_ids)
    result = runner_for(fake, store, run_id="f").run(["a", "b"])
    assert len(fake.submitted_custom_ids) == submitted
    assert [o.status for o in result.outcomes.values()] == ["complete", "complete"]
    assert all(o.result is None for o in result.outcomes.values())  # ended in the first run


class _CrashOnCreate(httpx.BaseTransport):
    """Passes requests to the fake; dies after the fake has created batch number `after`."""

    def __init__(self, fake: FakeClaude, after: int) -> None:
        self.inner = fake.transport()
        self.after = after
        self.creates = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path == "/v1/messages/batches":
            self.creates += 1
            if self.creates == self.after:
                raise _Crash
        return response


def test_batch_created_before_a_crash_is_found_not_resubmitted() -> None:
    fake = FakeClaude(three_rounds)
    store = MemoryStore()
    http = httpx.Client(transport=_CrashOnCreate(fake, 2), base_url="https://api.anthropic.com")
    agent = make_agent(Client(api_key="test", http_client=http, max_retries=0))
    jobs = ["a", "b", "c"]
    with pytest.raises(_Crash):
        BatchRunner(agent, store=store, run_id="o", poll_interval=0.001).run(jobs)
    assert len(fake.submitted_custom_ids) == 6
    # the second batch exists at the API, but the manifest has no id for it
    [info] = batch_runs(store.list())
    assert info.in_flight == [] and info.rounds == 2

    result = runner_for(fake, store, run_id="o").run(jobs)
    ids = fake.submitted_custom_ids
    assert len(ids) == len(set(ids)) == 12
    assert result.rounds == 4 and len(result.batch_ids) == 4
    assert {o.status for o in result.outcomes.values()} == {"complete"}
    # round 1's batch (as big, and recent) is never a candidate; round 2's is read once
    assert sorted(downloads(fake)) == sorted(result.batch_ids)


def test_crash_between_the_batches_of_one_round() -> None:
    """Round 1 is split in three batches; the process dies after the API created the second."""
    fake = FakeClaude(three_rounds)
    store = MemoryStore()
    http = httpx.Client(transport=_CrashOnCreate(fake, 2), base_url="https://api.anthropic.com")
    agent = make_agent(Client(api_key="test", http_client=http, max_retries=0))
    jobs = [f"p{i}" for i in range(5)]
    first = BatchRunner(agent, store=store, run_id="m", poll_interval=0.001, max_batch_requests=2)
    with pytest.raises(_Crash):
        first.run(jobs)
    [info] = batch_runs(store.list())
    assert len(info.in_flight) == 1 and len(fake.submitted_custom_ids) == 4

    result = runner_for(fake, store, run_id="m", max_batch_requests=2).run(jobs)
    ids = fake.submitted_custom_ids
    assert len(ids) == len(set(ids)) == 20  # the second batch was adopted, the third never sent
    # the batch never created is created on resume, in its own round; then the next round
    assert ids[4:9] == ["m-4-1", "m-0-3", "m-1-3", "m-2-3", "m-3-3"]
    assert result.rounds == 4  # as many as without the crash
    assert {o.status for o in result.outcomes.values()} == {"complete"}
    assert sorted(downloads(fake)) == sorted(result.batch_ids)  # each batch read once


def test_conversation_ended_before_the_manifest_said_so_is_not_rerun() -> None:
    fake = FakeClaude(three_rounds)
    store = MemoryStore()
    done = Conversation([{"role": "user", "content": "hi"}], id="x-0")
    done.append(
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "model": MODEL,
            "content": [{"type": "text", "text": "hello"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
    )
    store.create(done)
    result = runner_for(fake, store, run_id="x").run(["hi", "there"])
    assert result.outcomes["x-0"].status == "complete"
    assert all(i.startswith("x-1-") for i in fake.submitted_custom_ids)


def test_a_round_too_big_for_one_batch_is_split() -> None:
    fake = FakeClaude(three_rounds)
    seen: list[BatchProgress] = []
    store = MemoryStore()
    runner = runner_for(fake, store, run_id="sp", max_batch_requests=2, on_progress=seen.append)
    result = runner.run([f"p{i}" for i in range(5)])
    assert result.rounds == 4 and len(result.batch_ids) == 12
    assert {o.status for o in result.outcomes.values()} == {"complete"}
    sizes = [len(r.body["requests"]) for r in fake.requests if r.path == "/v1/messages/batches"]
    assert sizes == [2, 2, 1] * 4
    # by bytes: every request body is over 300 bytes, so each batch holds one
    fake = FakeClaude(three_rounds)
    result = runner_for(fake, run_id="by", max_batch_bytes=300).run(["a", "b"])
    assert result.rounds == 4 and len(result.batch_ids) == 8
    assert [p.phase for p in seen[:4]] == ["submitted", "submitted", "submitted", "waiting"]


def test_two_jobs_on_one_conversation_are_refused() -> None:
    from agentkit import ConfigurationError

    jobs = [BatchJob("a", conversation_id="same"), BatchJob("b", conversation_id="same")]
    with pytest.raises(ConfigurationError, match="same conversation"):
        runner_for(FakeClaude(three_rounds)).run(jobs)


def test_custom_ids_fit_the_api_pattern() -> None:
    pattern = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
    assert custom_id("conv-1", 3) == "conv-1-3"
    assert custom_id("conv-1", 3, 2) == "conv-1-3-r2"
    odd = custom_id("user@example.com/chat 1", 12, 1)
    long = custom_id("x" * 200, 99999, 99)
    assert pattern.match(odd) and pattern.match(long)
    assert custom_id("x" * 200, 1) != custom_id("x" * 199, 1)
    assert MANIFEST_PREFIX == "agentkit-batch-run-"


# -- SIGKILL and restart --------------------------------------------------------------------------

CHILD = """
import json, os, sys, threading
from agentkit import Agent
from agentkit.batches import BatchRunner
from agentkit import Client
from agentkit import RunContext
from agentkit import tool
from agentkit.stores import SQLiteStore

url, db, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
block = os.environ.get("BLOCK_IN")
stop_at = os.environ.get("STOP_AT")
seen = []

@tool
def add(ctx: RunContext[None], a: int, b: int) -> int:
    \"\"\"Add two integers.\"\"\"
    if ctx.conversation_id == block and a == 1:
        print("blocked", flush=True)
        threading.Event().wait()
    return a + b

@tool
async def mul(a: int, b: int) -> int:
    \"\"\"Multiply two integers.\"\"\"
    return a * b

def progress(p):
    seen.append([p.round, p.phase, p.batch.id if p.batch else None])
    if stop_at == f"{p.round}:{p.phase}":
        print("stopped", flush=True)
        threading.Event().wait()

client = Client(api_key="test", base_url=url, max_retries=0)
agent = Agent("claude-haiku-4-5", tools=[add, mul], client=client, max_tokens=512)
store = SQLiteStore(db, durable=False)  # a commit survives the process's death
runner = BatchRunner(
    agent, store=store, run_id="k", poll_interval=0.001, max_interval=0.01, on_progress=progress
)
result = runner.run([f"p{i}" for i in range(count)])
statuses = {cid: o.status for cid, o in result.outcomes.items()}
report = {"statuses": statuses, "rounds": result.rounds, "batches": result.batch_ids}
print(json.dumps({**report, "progress": seen}), flush=True)
"""


class TrapFake(FakeClaude):
    """Holds the response to the first request `trap` matches until `release` is set; with
    `drop`, holds the request itself, and the fake never sees it (it was never sent)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trap: Callable[[FakeRequest], bool] | None = None
        self.drop = False
        self.trapped = threading.Event()
        self.release = threading.Event()

    def handle(self, request: FakeRequest, *, origin: str = "") -> FakeResponse:
        if self.drop and self.trap is not None and self.trap(request):
            self.trap = None
            self.trapped.set()
            self.release.wait(30)
            return FakeResponse(503, [], [b"{}"])  # to a process that is gone
        response = super().handle(request, origin=origin)
        if not self.drop and self.trap is not None and self.trap(request):
            self.trap = None
            self.trapped.set()
            self.release.wait(30)
        return response

    def creates(self) -> int:
        return sum(1 for r in self.requests if r.method == "POST" and r.path.endswith("/batches"))


def _is_create(request: FakeRequest) -> bool:
    return request.method == "POST" and request.path.endswith("/batches")


KILL_POINTS = ["unsent", "creating", "submitted", "polling", "tools"]


@pytest.mark.parametrize("when", KILL_POINTS)
def test_sigkill_mid_round_then_restart(tmp_path: Path, when: str) -> None:
    """Killed at each point of round 2 (of 4) and run again: no custom id submitted twice, no
    batch read twice, and as many rounds as a run that was never killed."""
    count = 12
    fake = TrapFake(three_rounds)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child_env = dict(env)
    if when == "unsent":  # round 2 is recorded; its `create` never reached the API
        fake.drop = True
        fake.trap = lambda r: _is_create(r) and fake.creates() == 1
    elif when == "creating":  # the API created round 2's batch; the runner never heard back
        fake.trap = lambda r: _is_create(r) and fake.creates() == 2
    elif when == "submitted":  # the runner recorded round 2's batch id, nothing more
        child_env["STOP_AT"] = "2:submitted"
    elif when == "polling":  # round 2's batch is recorded and being waited for
        fake.trap = lambda r: r.method == "GET" and "msgbatch" in r.path and fake.creates() == 2
    else:  # k-5 runs its round-2 tools
        child_env["BLOCK_IN"] = "k-5"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    db = tmp_path / "runs.db"
    with fake.serve() as server:
        args = [sys.executable, str(script), server.url, str(db), str(count)]
        with subprocess.Popen(args, env=child_env, stdout=subprocess.PIPE, text=True) as child:
            try:
                if when in ("tools", "submitted"):
                    assert child.stdout is not None
                    assert child.stdout.readline() in ("blocked\n", "stopped\n")
                else:  # a child that dies early must not leave the test waiting
                    threading.Thread(target=lambda: (child.wait(), fake.trapped.set())).start()
                    assert fake.trapped.wait(30) and child.poll() is None
                child.send_signal(signal.SIGKILL)
                assert child.wait(30) == -signal.SIGKILL
            finally:
                child.kill()
                fake.release.set()
        before = list(fake.submitted_custom_ids)
        assert len(before) == (count if when == "unsent" else 2 * count)

        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert report["statuses"] == {f"k-{i}": "complete" for i in range(count)}

    ids = fake.submitted_custom_ids
    assert len(ids) == len(set(ids)) == 4 * count  # nothing submitted twice, nothing lost
    assert report["rounds"] == 4  # as many as a run that was never killed
    batches = report["batches"]
    assert len(batches) == 4 and sorted(downloads(fake)) == sorted(batches)  # each read once
    # The resumed run names each batch under its own round.
    named = {(r, b) for r, phase, b in report["progress"] if b is not None}
    assert named <= {(n, b) for n, b in enumerate(batches, 1)}
    assert {r for r, _ in named} == ({3, 4} if when == "tools" else {2, 3, 4})
    with SQLiteStore(db) as store:
        for i in range(count):
            messages = store.load(f"k-{i}").messages
            assert len(messages) == 8
            assert messages[-1]["content"][0]["text"].startswith(f"p{i}: ")


# -- the CLI ---------------------------------------------------------------------------------------

AGENT_MODULE = """
from agentkit import Agent
from agentkit import Client
from agentkit import tool
from agentkit.testing import FakeClaude, Fault, auto_reply

@tool
def add(a: int, b: int) -> int:
    \"\"\"Add two integers.\"\"\"
    return a + b

def script(body):
    if "fail me" in str(body["messages"][0]["content"]):
        return Fault.status_error(400, "invalid_request_error", "no")
    return auto_reply(body)

fake = FakeClaude(script)
agent = Agent(
    "claude-haiku-4-5",
    tools=[add],
    client=Client(api_key="test", http_client=fake.http_client()),
    max_tokens=256,
)
"""


def cli(argv: list[str]) -> int:
    from agentkit.cli import main

    return main(argv)  # the real `agentkit` entry point


def test_cli_run_resume_and_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "agent_mod.py").write_text(AGENT_MODULE)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('"What is 1 + 2?"\n\n{"prompt": "fail me", "id": "bad"}\n')
    db = str(tmp_path / "runs.db")
    args = ["batch", "run", str(prompts), "--agent", f"{tmp_path}/agent_mod.py:agent"]
    args += ["--db", db, "--poll-interval", "0.001", "--run-id", "cli"]
    assert cli(args) == 1  # one conversation failed
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "run cli: 1 complete, 1 failed after 2 rounds"
    assert out.splitlines()[1].startswith("usage (batch replies at half price): 2 requests")
    assert "failed bad: errored: invalid_request_error: no" in out
    lines = err.splitlines()
    assert lines[0] == f"batch run cli: 2 conversations, database {db}"
    assert lines[1].startswith("round 1 | submitted | batch msgbatch_")
    assert "round 2 | done | running 0, finished 1, failed 1" in lines[-1]

    assert cli(args) == 1  # resumed: nothing left to do, nothing submitted
    out, err = capsys.readouterr()
    assert "after 2 rounds" in out and "submitted" not in err

    assert cli(["batch", "status", "--db", db]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines()[0].startswith("cli  ")
    assert out.splitlines()[1] == "  1 complete, 1 failed"
    assert cli(["batch", "status", "cli", "--db", db]) == 0
    assert "  bad: errored: invalid_request_error: no" in capsys.readouterr().out
    assert cli(["batch"]) == 2  # a usage error, as argparse exits


def test_cli_reads_jobs(tmp_path: Path) -> None:
    from agentkit import ConfigurationError
    from agentkit.cli._batch import read_jobs

    path = tmp_path / "p.jsonl"
    path.write_text(
        '"a"\n{"prompt": [{"type": "text", "text": "b"}], "id": 7, "metadata": {"k": 1}}\n'
    )
    first, second = read_jobs(path)
    assert first == BatchJob("a")
    assert second == BatchJob(
        [{"type": "text", "text": "b"}], conversation_id="7", metadata={"k": 1}
    )
    for bad in ("{oops", "[1, 2]", ""):
        path.write_text(bad + "\n")
        with pytest.raises(ConfigurationError):
            read_jobs(path)


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setenv("COLUMNS", "200")
    from agentkit.cli._batch import ProgressPrinter
    from agentkit.types import MessageBatch

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    printer = ProgressPrinter(stream, total=4, width=8)
    batch = MessageBatch.model_validate(
        {
            "id": "msgbatch_1",
            "processing_status": "in_progress",
            "request_counts": {"processing": 3, "succeeded": 1},
        }
    )
    printer(BatchProgress(1, "waiting", 3, 1, 0, RunUsage(cost_usd=0.25), batch))
    printer.close()
    text = stream.getvalue()
    assert text.startswith("\r\x1b[2K")
    assert "██░░░░░░  25%" in text.replace("\x1b[32m", "").replace("\x1b[0m", "")
    assert "round 1 | waiting | batch 1/4 in_progress | running 3, finished 1, failed 0" in text
    assert text.endswith("\n")
    canceled = BatchProgress(2, "processing", 0, 2, 1, RunUsage(), None, canceled=1)
    assert "running 0, finished 2, failed 1, canceled 1 |" in printer.line(canceled)
    monkeypatch.setenv("COLUMNS", "40")  # a narrow terminal: cut, never wrapped
    stream = Terminal()
    ProgressPrinter(stream, total=4, width=8)(BatchProgress(1, "done", 0, 4, 0, RunUsage()))
    assert stream.getvalue().endswith("100%  round 1 | done | running")


# -- leases: a batch run holds its conversations as `Agent.run` does ---------------------------


def test_a_batch_run_holds_its_conversations_and_refreshes_the_leases() -> None:
    fake = FakeClaude(three_rounds, batch_delay=1.0)
    store = MemoryStore()
    agent = make_agent(sync_client(fake), lease_ttl=0.3)
    seen: list[tuple[float, str | None]] = []
    import time

    begin = time.monotonic()

    def probe(progress: BatchProgress) -> None:
        if progress.phase == "waiting":
            # Another run trying the conversation while the batch waits: refused, every time,
            # even after several lease_ttl have passed (the runner keeps refreshing it).
            seen.append((time.monotonic() - begin, store.take_lease("job-0", "other", ttl=60)))

    runner = BatchRunner(
        agent, store=store, poll_interval=0.05, max_interval=0.05, on_progress=probe
    )
    result = runner.run([BatchJob("q", conversation_id="job-0")])
    assert result.outcomes["job-0"].status == "complete"
    assert seen and all(holder is not None and ":" in holder for _, holder in seen)
    assert max(t for t, _ in seen) > 3 * 0.3  # past the lease's own lifetime
    assert store.take_lease("job-0", "other", ttl=60) is None  # released at the end


def test_a_batch_run_refuses_a_conversation_another_run_holds() -> None:
    fake = FakeClaude(three_rounds)
    store = MemoryStore()
    store.take_lease("busy", "another-run", ttl=60)
    runner = BatchRunner(make_agent(sync_client(fake)), store=store, poll_interval=0.001)
    result = runner.run(
        [BatchJob("a", conversation_id="busy"), BatchJob("b", conversation_id="free")]
    )
    busy, free = result.outcomes["busy"], result.outcomes["free"]
    assert busy.status == "failed" and "ConversationBusyError" in (busy.error or "")
    assert "another-run" in (busy.error or "")
    assert free.status == "complete"
    assert fake.submitted_custom_ids  # "free" went through batches; nothing for "busy"
    assert all(c.startswith("free-") for c in fake.submitted_custom_ids)
    assert store.take_lease("free", "other", ttl=60) is None
