"""Stores: exact bytes round trips, versions and conflicts, the tool journal, export/import,
concurrent writers in separate processes, and a writer killed with SIGKILL mid-journal."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _pg import postgres_dsn
from test_conversation import EXCHANGES

from agentkit import Conversation, StoreConflictError, StoreError
from agentkit.conversation import missing_tool_uses, pending_tool_uses, tool_results_message
from agentkit.stores import (
    AsyncPostgresStore,
    ConversationNotFoundError,
    ConversationStore,
    MemoryStore,
    PostgresStore,
    SQLiteStore,
    to_async,
)

__all__ = ["postgres_dsn"]  # the fixture, imported for pytest

ROOT = Path(__file__).resolve().parents[1]
KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _open(kind: str, target: str) -> ConversationStore:
    if kind == "sqlite":
        # synchronous=NORMAL: a commit survives the death of the process (what these tests
        # kill), just not a power cut; it keeps fsync out of the test's run time.
        return SQLiteStore(target, durable=False)
    if kind == "postgres":
        return PostgresStore(target)
    return MemoryStore()


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConversationStore]:
    kind = request.param
    target = str(tmp_path / "store.db")
    if kind == "postgres":
        target = request.getfixturevalue("postgres_dsn")
    opened = _open(kind, target)
    yield opened
    opened.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def durable(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(kind, target) of a store that other processes can open too."""
    if request.param == "postgres":
        return "postgres", request.getfixturevalue("postgres_dsn")
    return "sqlite", str(tmp_path / "shared.db")


def _new_id() -> str:
    return f"test-{uuid.uuid4().hex}"


def _exchange(messages: list[dict[str, Any]], response: dict[str, Any] | None) -> Conversation:
    conversation = Conversation(messages, id=_new_id(), metadata={"case": "x", "n": [1, 2.5]})
    if response is not None:
        conversation.append(response)
    return conversation


def _same(a: Conversation, b: Conversation) -> None:
    assert (a.id, a.metadata, a.created_at, a.version) == (
        b.id,
        b.metadata,
        b.created_at,
        b.version,
    )
    assert [e.raw for e in a] == [e.raw for e in b]
    assert [(e.meta, e.created_at) for e in a] == [(e.meta, e.created_at) for e in b]
    assert a.usage == b.usage


def test_every_recorded_exchange_round_trips_byte_for_byte(store: ConversationStore) -> None:
    for name, messages, response in EXCHANGES:
        # Created whole ...
        whole = _exchange(messages, response)
        store.create(whole)
        assert whole.version == len(whole)
        _same(store.load(whole.id), whole)
        # ... and grown step by step through commits.
        grown = Conversation(id=_new_id())
        store.create(grown)
        for message in [*messages, *([response] if response else [])]:
            grown.append(message)
            store.commit(grown)
        loaded = store.load(grown.id)
        assert [e.raw for e in loaded] == [e.raw for e in whole.entries], name
        assert [e.message for e in loaded] == whole.messages, name


def test_request_bodies_from_a_loaded_conversation_are_identical(store: ConversationStore) -> None:
    _, messages, response = next(
        e for e in EXCHANGES if e[0] == "thinking-nonstream-replay-request"
    )
    conversation = _exchange(messages, response)
    conversation.append({"role": "user", "content": "and then?"})
    store.create(conversation)
    params = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
    }
    assert store.load(conversation.id).request_body(params) == conversation.request_body(params)


def test_sqlite_defaults_to_wal_and_full_sync(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "default.db")
    cursor = store._conn.execute("PRAGMA journal_mode")
    assert cursor.fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    conversation = Conversation([{"role": "user", "content": "hi"}], id=_new_id())
    store.create(conversation)
    assert store.load(conversation.id).messages == conversation.messages
    assert "default.db" in repr(store)
    store.close()


def test_two_writers_one_gets_a_conflict_and_nothing_is_lost(store: ConversationStore) -> None:
    conversation = Conversation([{"role": "user", "content": "hi"}], id=_new_id())
    store.create(conversation)
    first, second = store.load(conversation.id), store.load(conversation.id)
    first.append({"role": "assistant", "content": "from first"})
    second.append({"role": "assistant", "content": "from second"})
    assert store.commit(first) == 2
    with pytest.raises(StoreConflictError) as info:
        store.commit(second)
    assert (info.value.expected_version, info.value.actual_version) == (1, 2)
    assert [e.message["content"] for e in store.load(conversation.id)] == ["hi", "from first"]
    retry = store.load(conversation.id)
    retry.append({"role": "user", "content": "from second, retried"})
    store.commit(retry)
    assert store.load(conversation.id).version == 3
    with pytest.raises(StoreConflictError):
        store.create(Conversation(id=conversation.id))


def test_a_step_is_one_transaction(store: ConversationStore) -> None:
    conversation = Conversation([{"role": "user", "content": "go"}], id=_new_id())
    store.create(conversation)
    conversation.append(
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_a", "name": "f", "input": {}}],
        }
    )
    conversation.append(
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_a", "content": "ok"}],
        }
    )
    # A step that conflicts writes none of its messages.
    with pytest.raises(StoreConflictError):
        store.append(conversation.id, conversation.uncommitted, expected_version=0)
    assert len(store.load(conversation.id)) == 1
    assert store.commit(conversation) == 3 and len(store.load(conversation.id)) == 3


def test_tool_journal_for_resume(store: ConversationStore) -> None:
    calls = [
        {"type": "tool_use", "id": f"toolu_{i}", "name": "f", "input": {"i": i}} for i in range(3)
    ]
    conversation = Conversation(
        [{"role": "user", "content": "go"}, {"role": "assistant", "content": calls}], id=_new_id()
    )
    store.create(conversation)
    result = {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": [{"type": "text", "text": "one"}],
    }
    store.journal_tool_result(conversation.id, result, version=2)
    store.journal_tool_result(conversation.id, result, version=2)  # idempotent
    with pytest.raises(StoreConflictError):
        store.journal_tool_result(conversation.id, result, version=1)
    with pytest.raises(ValueError, match="tool_use_id"):
        store.journal_tool_result(conversation.id, {"type": "tool_result"}, version=2)
    resumed = store.load(conversation.id)
    journaled = store.journaled_tool_results(conversation.id)
    assert journaled == {"toolu_1": result}
    missing = missing_tool_uses(pending_tool_uses(resumed), journaled)
    assert [c["id"] for c in missing] == ["toolu_0", "toolu_2"]
    results = {
        **journaled,
        **{
            c["id"]: {"type": "tool_result", "tool_use_id": c["id"], "content": "x"}
            for c in missing
        },
    }
    resumed.append(tool_results_message(pending_tool_uses(resumed), results))
    store.commit(resumed)
    assert store.journaled_tool_results(conversation.id) == {}
    assert [b["tool_use_id"] for b in store.load(conversation.id)[-1].blocks] == [
        "toolu_0",
        "toolu_1",
        "toolu_2",
    ]


def test_list_delete_metadata_and_missing_conversations(store: ConversationStore) -> None:
    a = Conversation([{"role": "user", "content": "a"}], id=_new_id(), metadata={"title": "A"})
    b = Conversation(id=_new_id())
    store.create(a)
    store.create(b)
    b.append({"role": "user", "content": "b"})
    store.commit(b)  # b is now the most recently updated
    infos = {i.id: i for i in store.list()}
    assert infos[a.id].metadata == {"title": "A"} and infos[a.id].version == 1
    listed = [i.id for i in store.list()]
    assert listed.index(b.id) < listed.index(a.id)
    assert len(store.list(limit=1)) == 1
    assert store.list(limit=1, offset=1)[0].id == listed[1]
    store.set_metadata(a.id, {"title": "renamed"})
    assert store.load(a.id).metadata == {"title": "renamed"}
    assert store.delete(a.id) is True and store.delete(a.id) is False
    missing = a.id
    with pytest.raises(ConversationNotFoundError):
        store.load(missing)
    with pytest.raises(ConversationNotFoundError):
        store.append(missing, [], expected_version=0)
    with pytest.raises(ConversationNotFoundError):
        store.set_metadata(missing, {})
    with pytest.raises(ConversationNotFoundError):
        store.journal_tool_result(missing, {"tool_use_id": "x"}, version=0)


def test_export_and_import_json_and_jsonl(store: ConversationStore, tmp_path: Path) -> None:
    originals = [_exchange(m, r) for _, m, r in EXCHANGES[:25]]
    for conversation in originals:
        store.create(conversation)
    one = store.export_json(originals[0].id)
    assert json.loads(one)["messages"][0]["message"] == originals[0].messages[0]
    target = SQLiteStore(tmp_path / "imported.db")
    _same(target.import_json(one), originals[0])
    _same(target.load(originals[0].id), originals[0])
    lines = store.export_jsonl([c.id for c in originals[1:]])
    assert lines.count(b"\n") == len(originals) - 1
    imported = MemoryStore().import_jsonl(lines)
    for got, want in zip(imported, originals[1:], strict=True):
        _same(got, want)
    with pytest.raises(StoreError):
        target.import_json(b'{"not": "a conversation"}')
    target.close()


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_async_stores(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if kind == "postgres":
        astore: Any = AsyncPostgresStore(request.getfixturevalue("postgres_dsn"))
    else:
        astore = to_async(_open(kind, str(tmp_path / "async.db")))
    async with astore:
        _, messages, response = next(
            e for e in EXCHANGES if e[0] == "tools-nonstream-parallel-results"
        )
        conversation = _exchange(messages, response)
        await astore.create(conversation)
        _same(await astore.load(conversation.id), conversation)
        stale = await astore.load(conversation.id)
        conversation.append({"role": "user", "content": "next"})
        assert await astore.commit(conversation) == len(conversation)
        stale.append({"role": "user", "content": "stale"})
        with pytest.raises(StoreConflictError):
            await astore.commit(stale)
        assert await astore.take_lease(conversation.id, "run-a", ttl=60) is None
        assert await astore.take_lease(conversation.id, "run-b", ttl=60) == "run-a"
        await astore.release_lease(conversation.id, "run-a")
        assert await astore.take_lease(conversation.id, "run-b", ttl=60) is None
        result = {"type": "tool_result", "tool_use_id": "toolu_9", "content": "r"}
        await astore.journal_tool_result(conversation.id, result, version=conversation.version)
        assert await astore.journaled_tool_results(conversation.id) == {"toolu_9": result}
        assert conversation.id in [i.id for i in await astore.list()]
        await astore.set_metadata(conversation.id, {"k": "v"})
        exported = await astore.export_json(conversation.id)
        assert await astore.delete(conversation.id)
        _same(
            await astore.import_json(exported),
            Conversation.from_entries(
                conversation.entries,
                id=conversation.id,
                metadata={"k": "v"},
                created_at=conversation.created_at,
            ),
        )
        assert len(await astore.export_jsonl([conversation.id])) == len(exported) + 1
        with pytest.raises(ConversationNotFoundError):
            await astore.load("nope-" + conversation.id)


# -- other processes ------------------------------------------------------------------------------

APPEND_WORKER = """
import sys
from agentkit.conversation import Entry
from agentkit import StoreConflictError
from agentkit.stores import PostgresStore, SQLiteStore

kind, target, cid, tag, count = sys.argv[1:6]
store = SQLiteStore(target, durable=False) if kind == "sqlite" else PostgresStore(target)
version = store.load(cid).version
print("ready", flush=True)
sys.stdin.readline()  # start together
conflicts = 0
for i in range(int(count)):
    entry = Entry.of({"role": "user", "content": f"{tag}-{i}"})
    while True:
        try:
            version = store.append(cid, [entry], expected_version=version)
            break
        except StoreConflictError as exc:
            conflicts += 1
            version = exc.actual_version
print(conflicts, flush=True)
"""


def _spawn(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lines(worker: subprocess.Popen[str], count: int) -> list[str]:
    """The worker's next `count` output lines; its stderr in the failure if it ends first."""
    assert worker.stdout is not None
    lines = []
    for _ in range(count):
        line = worker.stdout.readline()
        if not line:
            worker.kill()
            _, err = worker.communicate(timeout=30)
            pytest.fail(f"worker ended early:\n{err}")
        lines.append(line.strip())
    return lines


def test_two_processes_append_500_each_with_retries(durable: tuple[str, str]) -> None:
    kind, target = durable
    store = _open(kind, target)
    conversation = Conversation(id=_new_id())
    store.create(conversation)
    workers = [_spawn(APPEND_WORKER, kind, target, conversation.id, tag, "500") for tag in "ab"]
    for worker in workers:
        assert _lines(worker, 1) == ["ready"]
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    # Each worker prints how many conflicts it retried (the count varies from run to run).
    conflicts = [int(w.communicate(timeout=120)[0].strip() or -1) for w in workers]
    assert len(conflicts) == 2
    assert [w.returncode for w in workers] == [0, 0]
    loaded = store.load(conversation.id)
    contents = [e.message["content"] for e in loaded]
    assert loaded.version == len(contents) == 1000
    assert len(set(contents)) == 1000  # no duplicates
    for tag in "ab":  # each writer's messages all there, in its order
        assert [c for c in contents if c.startswith(f"{tag}-")] == [
            f"{tag}-{i}" for i in range(500)
        ]
    store.close()


CRASH_WORKER = """
import sys, threading
from agentkit.conversation import pending_tool_uses
from agentkit.stores import PostgresStore, SQLiteStore

kind, target, cid, effects = sys.argv[1:5]
store = SQLiteStore(target, durable=False) if kind == "sqlite" else PostgresStore(target)
conversation = store.load(cid)
never = threading.Event()
printing = threading.Lock()

def run(call):
    n = call["input"]["n"]
    with open(effects, "a") as f:  # the tool's side effect, counted by the test
        f.write(call["id"] + "\\n")
    if n % 2:  # the slow tools never finish: the process is killed while they run
        never.wait()
    result = {"type": "tool_result", "tool_use_id": call["id"], "content": f"result {n}"}
    store.journal_tool_result(cid, result, version=conversation.version)
    with printing:  # one whole line per result: print() from threads can interleave
        sys.stdout.write(f"journaled {call['id']}\\n")
        sys.stdout.flush()

for call in pending_tool_uses(conversation):
    threading.Thread(target=run, args=(call,), daemon=True).start()
never.wait()
"""


def test_sigkill_while_journaling_parallel_tools_then_resume(
    durable: tuple[str, str], tmp_path: Path
) -> None:
    kind, target = durable
    store = _open(kind, target)
    calls = [
        {"type": "tool_use", "id": f"toolu_{n:02d}", "name": "work", "input": {"n": n}}
        for n in range(8)
    ]
    conversation = Conversation(
        [
            {"role": "user", "content": "do eight things"},
            {"role": "assistant", "content": [{"type": "text", "text": "On it."}, *calls]},
        ],
        id=_new_id(),
    )
    store.create(conversation)
    effects = tmp_path / "effects.txt"
    worker = _spawn(CRASH_WORKER, kind, target, conversation.id, str(effects))
    journaled_before = {line.split()[1] for line in _lines(worker, 4)}  # the 4 fast tools
    os.kill(worker.pid, signal.SIGKILL)
    worker.communicate(timeout=30)  # reaps it and closes the pipes
    assert worker.returncode == -signal.SIGKILL

    # Reopen: the history is as committed, the finished results are journaled, and only the
    # tools without a journaled result run again.
    reopened = _open(kind, target)
    resumed = reopened.load(conversation.id)
    assert [e.raw for e in resumed] == [e.raw for e in conversation]
    journaled = reopened.journaled_tool_results(conversation.id)
    assert set(journaled) == journaled_before == {f"toolu_{n:02d}" for n in range(0, 8, 2)}
    missing = missing_tool_uses(pending_tool_uses(resumed), journaled)
    assert [c["id"] for c in missing] == [f"toolu_{n:02d}" for n in range(1, 8, 2)]
    before = effects.read_text().split()  # side effects of the killed run
    ran = list(before)
    for call in missing:
        ran.append(call["id"])
        journaled[call["id"]] = {
            "type": "tool_result",
            "tool_use_id": call["id"],
            "content": f"result {call['input']['n']}",
        }
    resumed.append(tool_results_message(pending_tool_uses(resumed), journaled))
    reopened.commit(resumed)
    # Finished tools ran once and never again; the unfinished ones ran once more on resume
    # (whether the killed run had started them depends on thread timing).
    counts = {c["id"]: ran.count(c["id"]) for c in calls}
    assert counts == {
        c["id"]: 1 if c["input"]["n"] % 2 == 0 else before.count(c["id"]) + 1 for c in calls
    }
    final = reopened.load(conversation.id)
    assert [b["content"] for b in final[-1].blocks] == [f"result {n}" for n in range(8)]
    assert reopened.journaled_tool_results(conversation.id) == {}
    reopened.close()
    store.close()


STRESS_WORKER = """
import sys, threading
from agentkit.conversation import pending_tool_uses
from agentkit.stores import PostgresStore, SQLiteStore

kind, target, cid, effects = sys.argv[1:5]
store = SQLiteStore(target, durable=False) if kind == "sqlite" else PostgresStore(target)
conversation = store.load(cid)
log = open(effects, "a", buffering=1)
lock = threading.Lock()

def run(call):
    with lock:
        log.write(call["id"] + "\\n")
    result = {"type": "tool_result", "tool_use_id": call["id"], "content": "x" * 2000 + call["id"]}
    store.journal_tool_result(cid, result, version=conversation.version)
    with lock:  # one whole line per result: print() from threads can interleave
        sys.stdout.write(call["id"] + "\\n")
        sys.stdout.flush()

for call in pending_tool_uses(conversation):
    threading.Thread(target=run, args=(call,)).start()
"""


def test_sigkill_amid_concurrent_journal_writes_leaves_a_consistent_journal(
    durable: tuple[str, str], tmp_path: Path
) -> None:
    kind, target = durable
    store = _open(kind, target)
    calls = [
        {"type": "tool_use", "id": f"toolu_{n:03d}", "name": "w", "input": {}} for n in range(60)
    ]
    conversation = Conversation(
        [{"role": "user", "content": "go"}, {"role": "assistant", "content": calls}], id=_new_id()
    )
    store.create(conversation)
    effects = tmp_path / "effects.txt"
    worker = _spawn(STRESS_WORKER, kind, target, conversation.id, str(effects))
    seen = _lines(worker, 10)  # 10 done, the rest in flight
    os.kill(worker.pid, signal.SIGKILL)
    worker.communicate(timeout=30)
    assert all(seen)

    reopened = _open(kind, target)
    resumed = reopened.load(conversation.id)
    assert [e.raw for e in resumed] == [e.raw for e in conversation]
    journaled = reopened.journaled_tool_results(conversation.id)
    executed = set(effects.read_text().split())
    assert set(seen) <= set(journaled) <= executed  # acknowledged writes survived the kill
    for tool_use_id, result in journaled.items():  # and every stored result is whole
        assert result == {
            "type": "tool_result",
            "tool_use_id": tool_use_id,
            "content": "x" * 2000 + tool_use_id,
        }
    missing = missing_tool_uses(pending_tool_uses(resumed), journaled)
    assert {c["id"] for c in missing} == {c["id"] for c in calls} - set(journaled)
    reopened.close()
    store.close()


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://app:sek rit@localhost/db",  # libpq quotes the bad password back
        "postgresql://app:sekrit@[::1/db",  # libpq quotes the whole URI back
        "host=localhost password=sekrit passwrd=x",
    ],
)
def test_postgres_connect_errors_never_show_the_password(dsn: str) -> None:
    """Invariant 6: a malformed DSN's error (message, cause and context) hides the password."""
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError) as caught:
        PostgresStore(dsn)
    chain: list[BaseException | None] = [
        caught.value,
        caught.value.__cause__,
        caught.value.__context__,
    ]
    shown = " ".join(repr(e) + str(e) for e in chain if e is not None)
    assert "sekrit" not in shown and "sek rit" not in shown


@pytest.mark.anyio
async def test_async_postgres_connect_errors_never_show_the_password() -> None:
    pytest.importorskip("psycopg")
    store = AsyncPostgresStore("postgresql://app:sekrit@[::1/db")
    with pytest.raises(StoreError) as caught:
        await store.list()
    shown = " ".join(
        repr(e) + str(e)
        for e in (caught.value, caught.value.__cause__, caught.value.__context__)
        if e is not None
    )
    assert "sekrit" not in shown


def test_the_async_interface_is_the_sync_one_awaited() -> None:
    """`AsyncConversationStore` is derived from `ConversationStore`: the same public methods."""
    from agentkit.stores import AsyncConversationStore

    def public(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_")}

    assert public(AsyncConversationStore) - {"aclose"} == public(ConversationStore) - {"close"}


# -- leases: one run per conversation ----------------------------------------------------------


def test_a_lease_has_one_owner_until_released_or_lapsed(store: ConversationStore) -> None:
    cid = _new_id()  # a lease needs no stored conversation: a run takes it before creating one
    assert store.take_lease(cid, "run-a", ttl=60) is None
    assert store.take_lease(cid, "run-b", ttl=60) == "run-a"
    assert store.take_lease(cid, "run-a", ttl=60) is None  # a refresh by its owner
    store.release_lease(cid, "run-b")  # not the owner: nothing happens
    assert store.take_lease(cid, "run-b", ttl=60) == "run-a"
    store.release_lease(cid, "run-a")
    assert store.take_lease(cid, "run-b", ttl=0) is None  # taken, and lapsed at once
    assert store.take_lease(cid, "run-c", ttl=60) is None  # a lapsed lease is free
    assert store.take_lease(cid, "run-b", ttl=60) == "run-c"
    store.create(Conversation(id=cid))
    assert store.delete(cid)
    assert store.take_lease(cid, "run-d", ttl=60) is None  # deleting frees it


def test_a_dead_local_owner_frees_its_lease_at_once(store: ConversationStore) -> None:
    from agentkit.stores import lease_owner

    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = lease_owner("run-x").replace(f":{os.getpid()}:", f":{child.stdout.strip()}:")
    alive = lease_owner("run-y")
    cid = _new_id()
    assert store.take_lease(cid, dead, ttl=3600) is None
    assert store.take_lease(cid, alive, ttl=3600) is None  # its process is gone
    assert store.take_lease(cid, "elsewhere", ttl=3600) == alive  # this process lives
    other_host = "another-host:1:run-z"
    assert store.take_lease(_new_id(), other_host, ttl=3600) is None
    assert store.take_lease(cid, other_host, ttl=3600) == alive


def test_lease_expiry_is_on_the_databases_clock_not_each_hosts(
    durable: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    kind, target = durable
    store = _open(kind, target)
    cid = _new_id()
    try:
        assert store.take_lease(cid, "host-a:1:run-a", ttl=60) is None
        # A host whose clock runs an hour ahead must not see that lease as lapsed.
        ahead = time.time() + 3600
        monkeypatch.setattr(time, "time", lambda: ahead)
        assert store.take_lease(cid, "host-b:1:run-b", ttl=60) == "host-a:1:run-a"
        monkeypatch.undo()
        assert store.take_lease(cid, "host-a:1:run-a", ttl=0) is None  # lapses at once
        assert store.take_lease(cid, "host-b:1:run-b", ttl=60) is None
    finally:
        store.close()


@pytest.mark.parametrize(
    ("table", "column", "value", "names"),
    [
        ("agentkit_messages", "body", b"{not json", "message 1 (body) is not valid JSON"),
        ("agentkit_messages", "body", b"[1, 2]", "message 1 (body) holds list"),
        ("agentkit_messages", "body", b'{"content": "x"}', "message 1 (body) is not a message"),
        ("agentkit_messages", "meta", b"\xff\xfe", "message 1 (meta) is not valid JSON"),
        ("agentkit_conversations", "metadata", b"nope", "(metadata) is not valid JSON"),
        ("agentkit_tool_journal", "body", b"{bad", "journaled result 'toolu_1' is not valid"),
    ],
)
def test_a_damaged_row_is_a_store_error_naming_the_conversation_and_row(
    durable: tuple[str, str], table: str, column: str, value: bytes, names: str
) -> None:
    kind, target = durable
    store = _open(kind, target)
    conversation = Conversation(
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
        id=_new_id(),
    )
    store.create(conversation)
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "r"}
    store.journal_tool_result(conversation.id, result, version=2)
    key = "id" if table == "agentkit_conversations" else "conversation_id"
    where = f"{key} = ?" + (" AND position = 1" if table == "agentkit_messages" else "")
    sql = f"UPDATE {table} SET {column} = ? WHERE {where}"  # damage the row from outside
    if kind == "sqlite":
        with sqlite3.connect(target) as raw:
            raw.execute(sql, (value, conversation.id))
    else:
        psycopg = pytest.importorskip("psycopg")
        with psycopg.connect(target, autocommit=True) as raw:
            raw.execute(sql.replace("?", "%s"), (value, conversation.id))
    try:
        _expect_damage(store, conversation.id, table, names)
    finally:
        store.delete(conversation.id)  # other tests list every conversation of the database
        store.close()


def _expect_damage(store: ConversationStore, cid: str, table: str, names: str) -> None:
    read = store.journaled_tool_results if table == "agentkit_tool_journal" else store.load
    with pytest.raises(StoreError) as caught:
        read(cid)
    assert f"conversation {cid!r}" in str(caught.value)
    assert names in str(caught.value)
    if table == "agentkit_conversations":
        with pytest.raises(StoreError, match="metadata"):
            store.list()
