"""The async store interface, derived from the sync one, and `to_async` for any sync store.

`AsyncConversationStore` is not written out a second time: each of its methods is the plan of
the `ConversationStore` method of the same name (`_base`), driven with every operation awaited.
An async store implements one method, `_perform(op)`: `to_async` performs each operation on the
sync store in a worker thread, `AsyncPostgresStore` runs its SQL on an async connection.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable, Coroutine
from typing import Generic, ParamSpec, TypeVar, overload

import anyio.to_thread
from typing_extensions import Self

from ._base import (
    Append,
    ConversationStore,
    Delete,
    Headers,
    Journal,
    Journaled,
    Load,
    Plan,
    ReleaseLease,
    SetMetadata,
    StoreOp,
    TakeLease,
    advance,
    commit_plan,
    create_plan,
    export_json_plan,
    export_jsonl_plan,
    import_json_plan,
    import_jsonl_plan,
    single,
)

__all__ = ["AsyncConversationStore", "to_async"]

P = ParamSpec("P")
T = TypeVar("T")


def _of(make: Callable[P, StoreOp[T]]) -> Callable[P, Plan[T]]:
    """The plan of a method that is one operation."""

    @functools.wraps(make)
    def plan(*args: P.args, **kwargs: P.kwargs) -> Plan[T]:
        return single(make(*args, **kwargs))

    return plan


class _Awaited(Generic[P, T]):
    """An async store method: a `ConversationStore` method's plan with its operations awaited."""

    def __init__(self, plan: Callable[P, Plan[T]], sync: Callable[..., object]) -> None:
        self._plan = plan
        self.__doc__ = sync.__doc__

    @overload
    def __get__(self, store: None, owner: type[object]) -> Self: ...

    @overload
    def __get__(
        self, store: AsyncConversationStore, owner: type[object]
    ) -> Callable[P, Coroutine[object, object, T]]: ...

    def __get__(
        self, store: AsyncConversationStore | None, owner: type[object]
    ) -> Self | Callable[P, Coroutine[object, object, T]]:
        if store is None:
            return self
        plan = self._plan

        async def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return await store._drive(plan(*args, **kwargs))

        method.__doc__ = self.__doc__
        return method


class AsyncConversationStore(abc.ABC):
    """The async store protocol: every `ConversationStore` method, awaited.

    Implement `_perform`; every other method is derived from the sync interface.
    """

    create = _Awaited(create_plan, ConversationStore.create)
    load = _Awaited(_of(Load), ConversationStore.load)
    append = _Awaited(_of(Append), ConversationStore.append)
    journal_tool_result = _Awaited(_of(Journal), ConversationStore.journal_tool_result)
    journaled_tool_results = _Awaited(_of(Journaled), ConversationStore.journaled_tool_results)
    list = _Awaited(_of(Headers), ConversationStore.list)
    delete = _Awaited(_of(Delete), ConversationStore.delete)
    set_metadata = _Awaited(_of(SetMetadata), ConversationStore.set_metadata)
    take_lease = _Awaited(_of(TakeLease), ConversationStore.take_lease)
    release_lease = _Awaited(_of(ReleaseLease), ConversationStore.release_lease)
    commit = _Awaited(commit_plan, ConversationStore.commit)
    export_json = _Awaited(export_json_plan, ConversationStore.export_json)
    export_jsonl = _Awaited(export_jsonl_plan, ConversationStore.export_jsonl)
    import_json = _Awaited(import_json_plan, ConversationStore.import_json)
    import_jsonl = _Awaited(import_jsonl_plan, ConversationStore.import_jsonl)

    @abc.abstractmethod
    async def _perform(self, op: StoreOp[T]) -> T:
        """Perform one operation (see `StoreOp`)."""

    async def _drive(self, plan: Plan[T]) -> T:
        step = advance(plan, None)
        while isinstance(step, StoreOp):
            step = advance(plan, await self._perform(step))
        return step.value

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections and files."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _ThreadedStore(AsyncConversationStore):
    """A sync store driven from async code: each operation runs in a worker thread."""

    def __init__(self, store: ConversationStore) -> None:
        self.sync = store

    async def _perform(self, op: StoreOp[T]) -> T:
        return await anyio.to_thread.run_sync(op.on, self.sync)

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self.sync.close)


def to_async(store: ConversationStore) -> AsyncConversationStore:
    """An async store over a sync one; every call runs in a worker thread (`anyio.to_thread`).

    Args:
        store: Any sync store (`MemoryStore`, `SQLiteStore`, `PostgresStore`, your own).
    """
    return _ThreadedStore(store)
