"""The fake's Message Batches: create, retrieve, list, cancel, delete and JSONL results.

A batch is processed all at once, lazily: the first time it is looked at after its processing
delay (0 allowed) has passed, every request runs through the same engine as `POST /v1/messages`
(script, validation, test-model mode). Every `custom_id` ever submitted is logged, in order, so a
test can prove that no request was submitted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ._http import FakeRequest, FakeResponse, IdMaker, error_response, iso_time, json_response, page
from ._render import json_bytes
from ._schema import BATCH_CREATE, first_error

__all__ = ["BatchStore"]

_DAY = 24 * 3600.0

BatchRunner = Callable[[dict[str, object]], dict[str, object]]
"""Runs one batch request's params; returns its `result` object (succeeded / errored ...)."""


@dataclass
class _Batch:
    id: str
    requests: list[tuple[str, dict[str, object]]]
    created_at: float
    results: list[dict[str, object]] | None = None
    ended_at: float | None = None
    cancel_initiated_at: float | None = None
    counts: dict[str, int] = field(default_factory=dict)


class BatchStore:
    """All batches of one fake. Not thread-safe on its own: the fake serializes calls."""

    def __init__(
        self, run: BatchRunner, ids: IdMaker, clock: Callable[[], float], delay: float
    ) -> None:
        self._run = run
        self._ids = ids
        self._clock = clock
        self.delay = delay
        self._batches: dict[str, _Batch] = {}
        self.submitted: list[str] = []

    def create(self, body: object) -> _Batch | str:
        """A new batch for a `POST /v1/messages/batches` body, or the 400 message."""
        problem = first_error(BATCH_CREATE, body)
        if problem is not None:
            return problem
        assert isinstance(body, Mapping)  # the shape check passed
        parsed: list[tuple[str, dict[str, object]]] = [
            (item["custom_id"], item["params"]) for item in body["requests"]
        ]
        seen: set[str] = set()
        for custom_id, _ in parsed:
            if custom_id in seen:
                return f"requests: custom_id `{custom_id}` is used more than once"
            seen.add(custom_id)
        batch = _Batch(self._ids.make("msgbatch"), parsed, self._clock())
        self._batches[batch.id] = batch
        self.submitted.extend(custom_id for custom_id, _ in parsed)
        return batch

    def get(self, batch_id: str) -> _Batch | None:
        """The batch, processed first if its time has come."""
        batch = self._batches.get(batch_id)
        if batch is not None:
            self._settle(batch)
        return batch

    def all(self) -> list[_Batch]:
        """Every batch, newest first, each settled."""
        batches = list(self._batches.values())[::-1]
        for batch in batches:
            self._settle(batch)
        return batches

    def cancel(self, batch: _Batch) -> None:
        """Start canceling; requests not yet processed end as `canceled`."""
        if batch.results is None and batch.cancel_initiated_at is None:
            batch.cancel_initiated_at = self._clock()

    def delete(self, batch: _Batch) -> str | None:
        """Delete an ended batch, or the 400 message why not."""
        if batch.results is None:
            return (
                f"Batch {batch.id} cannot be deleted while it is still processing. Cancel it first."
            )
        del self._batches[batch.id]
        return None

    def _settle(self, batch: _Batch) -> None:
        if batch.results is not None:
            return
        now = self._clock()
        canceling = batch.cancel_initiated_at is not None
        if not canceling and now < batch.created_at + self.delay:
            return
        results: list[dict[str, object]] = []
        for custom_id, params in batch.requests:
            result: dict[str, object] = {"type": "canceled"} if canceling else self._run(params)
            results.append({"custom_id": custom_id, "result": result})
            kind = str(result["type"])
            batch.counts[kind] = batch.counts.get(kind, 0) + 1
        batch.results = results
        batch.ended_at = now

    def describe(self, batch: _Batch, base_url: str) -> dict[str, object]:
        """The `message_batch` object, in the API's key order."""
        ended = batch.results is not None
        if ended:
            status = "ended"
        else:
            status = "canceling" if batch.cancel_initiated_at is not None else "in_progress"
        counts = {
            "processing": 0 if ended else len(batch.requests),
            **{k: batch.counts.get(k, 0) for k in ("succeeded", "errored", "canceled", "expired")},
        }

        def stamp(value: float | None) -> str | None:
            return None if value is None else iso_time(value)

        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "ended_at": stamp(batch.ended_at),
            "created_at": iso_time(batch.created_at),
            "expires_at": iso_time(batch.created_at + _DAY),
            "archived_at": None,
            "cancel_initiated_at": stamp(batch.cancel_initiated_at),
            "results_url": f"{base_url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def list_page(self, query: Mapping[str, str], base_url: str) -> dict[str, object] | str:
        """A page of `GET /v1/messages/batches`."""
        return page([self.describe(b, base_url) for b in self.all()], query)

    @staticmethod
    def result_lines(batch: _Batch) -> list[bytes]:
        """The results as JSONL, one line per chunk."""
        return [json_bytes(entry) + b"\n" for entry in batch.results or []]

    def route(
        self, method: str, rest: list[str], req: FakeRequest, rid: str, origin: str
    ) -> FakeResponse:
        """Answer a request under `/v1/messages/batches` (`rest`: the path after it)."""
        store = self
        if not rest:
            if method == "POST":
                created = store.create(req.body)
                if isinstance(created, str):
                    return error_response(400, "invalid_request_error", created, rid)
                return json_response(store.describe(created, origin), rid)
            if method == "GET":
                listed = store.list_page(req.query, origin)
                if isinstance(listed, str):
                    return error_response(400, "invalid_request_error", listed, rid)
                return json_response(listed, rid)
            return error_response(405, "invalid_request_error", "Method Not Allowed", rid)
        batch = store.get(rest[0])
        if batch is None:
            return error_response(
                404, "not_found_error", f"Message Batch {rest[0]} not found.", rid
            )
        match (method, rest[1:]):
            case ("GET", []):
                return json_response(store.describe(batch, origin), rid)
            case ("POST", ["cancel"]):
                store.cancel(batch)
                return json_response(store.describe(batch, origin), rid)
            case ("DELETE", []):
                refused = store.delete(batch)
                if refused:
                    return error_response(400, "invalid_request_error", refused, rid)
                return json_response({"id": batch.id, "type": "message_batch_deleted"}, rid)
            case ("GET", ["results"]):
                if batch.results is None:
                    message = f"Message Batch {batch.id} has no available results."
                    return error_response(404, "not_found_error", message, rid)
                headers = [
                    ("content-type", "application/x-jsonl"),
                    (
                        "content-disposition",
                        f"attachment; filename*=utf-8''{batch.id}_results.jsonl",
                    ),
                    ("request-id", rid),
                ]
                return FakeResponse(200, headers, store.result_lines(batch))
        return error_response(404, "not_found_error", "Not Found", rid)
