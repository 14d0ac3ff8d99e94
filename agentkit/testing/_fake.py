"""`FakeAPI`: the sans-IO fake Messages API (request in, response plan out) and its state.

It holds the script, the request log, the signing secret, the prompt-cache ledger, the batches and
the files. Every `POST /v1/messages` is validated like the real API (the structural rules come
from the conversation's preflight checks, the thinking signatures from `_thinking`) before a
script item is consumed; the adapters (`_transport`, `server`) only move bytes.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agentkit.conversation import preflight_problems
from agentkit.types import MODEL_TABLE, ModelSpec, find_model, model_catalog_entry

from ._batches import BatchStore
from ._builders import Fault, Reply, ScriptItem, as_reply
from ._files import FileStore
from ._http import FakeRequest, FakeResponse, IdMaker, error_response, json_response, page
from ._ratelimit import FakeRateLimits, RateMeter
from ._render import error_event, sse_events
from ._rules import model_problems
from ._schema import COUNT_TOKENS, MESSAGES, first_error
from ._testmodel import auto_reply
from ._thinking import ThinkingSigner, redacted_payload, thinking_problems
from ._threads import ThreadRefusal, ThreadStore
from ._tokens import CacheLedger, compaction_view, count_input_tokens, estimate_tokens

__all__ = ["DEFAULT_BASE_URL", "LOG_PATH", "MODELS", "FakeAPI"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
LOG_PATH = "/_fake/log"
"""`GET` it for the fake's request log as JSON (for tests talking to a server in another process:
`requests` without credential headers, and `submitted_custom_ids`); it is not itself logged."""
_THINKING = frozenset({"thinking", "redacted_thinking"})
_METERED = frozenset({"/v1/messages", "/v1/messages/count_tokens"})

MODELS: tuple[dict[str, object], ...] = tuple(model_catalog_entry(m) for m in MODEL_TABLE)
"""The model catalog the fake lists, newest first, in the Models API's shape."""

ScriptSource = Iterable[ScriptItem] | Callable[[dict[str, object]], "Reply | Fault | str"] | None


def _snapshot(model: object) -> str:
    """The snapshot id a reply carries for the model a request named."""
    spec = find_model(model) if isinstance(model, str) else None
    return spec.id if spec is not None else str(model)


class _RanOut(Exception):
    pass


class FakeAPI:
    """A fake Claude API that speaks and checks the real wire format, without an adapter.

    `FakeClaude` is this plus the ways to plug it in (`transport()`, `serve()`, ...).

    Args:
        script: The replies to give, in order: `Reply`, `Fault`, plain strings (text replies) or
            callables that receive the request body and return one of those. A single callable
            answers every request. `None` (the default) is test-model mode: the fake calls every
            offered tool once, then summarizes the results (see `_testmodel`).
        batch_delay: Seconds a message batch stays `in_progress` before it is processed.
        api_key: When set, requests must carry it (`x-api-key` or `Authorization: Bearer`).
        check_thinking: Reject requests whose thinking blocks the fake did not sign unchanged.
        secret: The HMAC key for thinking signatures (random by default).
        seed: Seed for the ids the fake makes (`msg_...`, `toolu_...`, `req_...`) and for
            where its streams carry `ping` events.
        clock: Wall clock for timestamps, the batch delay and the rate-limit windows (inject
            one to step time).
        latency: Seconds every response waits before its headers (a network's round trip).
        rate_limits: The budgets behind the `anthropic-ratelimit-*` headers (`FakeRateLimits`);
            a request past them gets a 429 `rate_limit_error` with `retry-after`.
    """

    def __init__(
        self,
        script: ScriptSource = None,
        *,
        batch_delay: float = 0.0,
        api_key: str | None = None,
        check_thinking: bool = True,
        secret: bytes | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        latency: float = 0.0,
        rate_limits: FakeRateLimits | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._responder: Callable[[dict[str, object]], Reply | Fault | str] | None = None
        self._script: deque[ScriptItem] | None = None
        if callable(script):
            self._responder = script
        elif script is not None:
            self._script = deque(script)
        self._served = 0
        self.api_key = api_key
        self.context_window: int | None = None
        """Requests estimated above this many input tokens get the API's "prompt is too long"
        (None: the model's context window, from the model table)."""
        self.check_thinking = check_thinking
        self.requests: list[FakeRequest] = []
        """Every request received, in order (method, path, query, headers, parsed body)."""
        self.errors: list[Exception] = []
        """Exceptions raised while answering (e.g. by a script callable); each became a 500."""
        self.latency = latency
        self._ids = IdMaker(seed)
        self._meter = RateMeter(clock, rate_limits)
        self._pings = random.Random(seed)
        self._counted: int | None = None  # the input tokens of the request being answered
        self._signer = ThinkingSigner(secret or secrets.token_bytes(32))
        self._ledger = CacheLedger()
        self.batches = BatchStore(self._run_batch_request, self._ids, clock, batch_delay)
        self.files = FileStore(self._ids, clock)
        self.threads = ThreadStore()
        """The message threads the fake holds (`thread: {"type": "create"}` requests)."""

    # ----- script and log -------------------------------------------------------------------

    def add(self, *items: ScriptItem) -> None:
        """Append script items (this also ends test-model mode)."""
        with self._lock:
            if self._script is None:
                self._script = deque()
            self._script.extend(items)

    @property
    def rate_limited(self) -> int:
        """How many requests got a 429 for being over `rate_limits`."""
        return self._meter.refused

    @property
    def remaining(self) -> int:
        """Script items not yet consumed (0 in test-model or callable mode)."""
        return len(self._script or ())

    @property
    def message_bodies(self) -> list[Any]:
        """The parsed bodies of every `POST /v1/messages` received, in order."""
        return [r.body for r in self.requests if r.method == "POST" and r.path == "/v1/messages"]

    @property
    def submitted_custom_ids(self) -> list[str]:
        """Every `custom_id` submitted in a message batch, in order, duplicates included."""
        return list(self.batches.submitted)

    def add_file(
        self,
        content: bytes,
        filename: str,
        mime_type: str | None = None,
        *,
        downloadable: bool = True,
    ) -> dict[str, object]:
        """Store a file as if a tool had created it; returns its metadata object."""
        with self._lock:
            return self.files.add(content, filename, mime_type, downloadable=downloadable)

    # ----- dispatch -------------------------------------------------------------------------

    def handle(self, request: FakeRequest, *, origin: str = DEFAULT_BASE_URL) -> FakeResponse:
        """Answer one request (thread-safe).

        Args:
            request: The request.
            origin: Scheme and host the client used, for URLs in responses (`results_url`).
        """
        with self._lock:
            self._counted = None
            request_id = self._ids.make("req")
            if request.path == LOG_PATH and request.method == "GET":
                return json_response(self._log(), request_id)
            self.requests.append(request)
            if self.api_key is not None and not self._authorized(request.headers):
                return error_response(401, "authentication_error", "invalid x-api-key", request_id)
            limits: list[tuple[str, str]] = []
            if request.method == "POST" and request.path in _METERED:
                body = request.body if isinstance(request.body, dict) else {}
                self._counted = count_input_tokens(body)  # the request checks reuse it
                limits, retry_after = self._meter.charge(self._counted)
                if retry_after is not None:  # over the limit: refused before it is answered
                    message = "agentkit.testing: rate limit exceeded (the fake's rate_limits)"
                    response = error_response(
                        429, "rate_limit_error", message, request_id, headers=limits, final=False
                    )
                    response.delay += self.latency
                    return response
            try:
                response = self._route(request, request_id, origin)
            except Exception as exc:  # a script callable (or the fake) failed: say so, stay up
                self.errors.append(exc)
                message = f"agentkit.testing: the fake raised {type(exc).__name__}: {exc}"
                response = error_response(
                    500, "api_error", message, request_id, headers=[("x-should-retry", "false")]
                )
            self._counted = None
            response.headers += limits
            response.delay += self.latency
            return response

    def _log(self) -> dict[str, object]:
        # What a test in another process needs to see; credentials never leave the fake.
        def visible(headers: Mapping[str, str]) -> dict[str, str]:
            return {k: v for k, v in headers.items() if k not in ("x-api-key", "authorization")}

        requests = [
            {
                "method": r.method,
                "path": r.path,
                "query": dict(r.query),
                "headers": visible(r.headers),
                "body": r.body,
            }
            for r in self.requests
        ]
        return {"requests": requests, "submitted_custom_ids": list(self.batches.submitted)}

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        bearer = headers.get("authorization", "").removeprefix("Bearer ")
        return self.api_key in (headers.get("x-api-key"), bearer)

    def _route(self, req: FakeRequest, rid: str, origin: str) -> FakeResponse:
        parts = [p for p in req.path.split("/") if p][1:]  # drop "v1"
        method = req.method
        match parts:
            case ["messages"] if method == "POST":
                return self._messages(req, rid)
            case ["messages", "count_tokens"] if method == "POST":
                return self._count_tokens(req, rid)
            case ["models"] if method == "GET":
                return self._page(MODELS, req.query, rid)
            case ["models", model_id] if method == "GET":
                spec = find_model(model_id)
                if spec is None:
                    return error_response(404, "not_found_error", f"model: {model_id}", rid)
                return json_response(model_catalog_entry(spec), rid)
            case ["messages", "batches", *rest]:
                return self.batches.route(method, rest, req, rid, origin)
            case ["files", *rest]:
                return self.files.route(method, rest, req, rid)
        return error_response(404, "not_found_error", "Not Found", rid)

    @staticmethod
    def _page(
        items: Iterable[Mapping[str, object]], query: Mapping[str, str], rid: str
    ) -> FakeResponse:
        result = page(list(items), query)
        if isinstance(result, str):
            return error_response(400, "invalid_request_error", result, rid)
        return json_response(result, rid)

    # ----- messages -------------------------------------------------------------------------

    def _check(
        self, body: object, headers: Mapping[str, str], *, count: bool = False
    ) -> tuple[int, str, str] | ModelSpec:
        """The model a request may go to, or `(status, error type, message)` to refuse it.

        In the API's order: the model is looked up first (an unknown model is a 404 even when
        the rest is malformed), then the request's shape, the model's limits, the conversation
        rules, the thinking signatures and the context window.
        """
        if not isinstance(body, dict):
            return 400, "invalid_request_error", "Request body must be a JSON object"
        model = body.get("model")
        spec = find_model(model) if isinstance(model, str) else None
        if isinstance(model, str) and spec is None:
            return 404, "not_found_error", f"model: {model}"
        problem = first_error(COUNT_TOKENS, body) if count else first_error(MESSAGES, body)
        if problem is not None:
            return 400, "invalid_request_error", problem
        assert spec is not None  # the shape check requires a model
        betas = [b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()]
        problems = model_problems(body, spec)
        problems += preflight_problems(body, betas=betas, count_tokens=count)
        if self.check_thinking:
            problems += thinking_problems(self._signer, compaction_view(body["messages"]))
        if problems:
            return 400, "invalid_request_error", problems[0]
        window = self.context_window or spec.input_limit(betas)
        tokens = self._counted if self._counted is not None else count_input_tokens(body)
        if tokens > window:
            message = f"prompt is too long: {tokens} tokens > {window} maximum"
            return 400, "invalid_request_error", message
        return spec

    def _next_item(self, body: dict[str, object]) -> Reply | Fault:
        if self._responder is not None:
            return as_reply(self._responder(body))
        if self._script is None:
            return auto_reply(body)
        if not self._script:
            raise _RanOut(
                f"agentkit.testing: the fake's script ran out: request #{self._served + 1} has "
                f"no scripted reply left (the script had {self._served} items). Add replies to "
                "the script, or pass script=None for test-model mode."
            )
        item = self._script.popleft()
        self._served += 1
        return as_reply(item(body) if callable(item) else item)

    def _messages(self, req: FakeRequest, rid: str) -> FakeResponse:
        body = req.body
        if isinstance(body, dict) and body.get("thread") is not None:
            expanded = self.threads.expand(body)  # a `continue` carries only the new turn
            if isinstance(expanded, ThreadRefusal):
                return error_response(
                    expanded.status,
                    expanded.error_type,
                    expanded.message,
                    rid,
                    error_code=expanded.error_code,
                )
            body = expanded
        checked = self._check(body, req.headers)
        if isinstance(checked, tuple):
            return error_response(*checked, rid)
        try:
            item = self._next_item(body)
        except _RanOut as exc:
            return error_response(
                500, "api_error", str(exc), rid, headers=[("x-should-retry", "false")]
            )
        stream = body.get("stream") is True
        if isinstance(item, Reply):
            return self._reply(item, body, rid, stream, thread=req.body)
        match item.kind:
            case "status":
                return error_response(
                    item.status,
                    item.error_type,
                    item.message,
                    rid,
                    headers=item.headers,
                    final=False,
                )
            case "batch_outcome":
                message = "Fault.batch_outcome() only applies to requests in a message batch"
                return error_response(500, "api_error", message, rid)
            case "stream_error":
                if not stream:
                    status = 529 if item.error_type == "overloaded_error" else 500
                    return error_response(status, item.error_type, item.message, rid)
                response = self._reply(item.reply or auto_reply(body), body, rid, True)
                response.chunks = [
                    *response.chunks[: item.after_events],
                    error_event(item.error_type, item.message),
                ]
                return response
            case "disconnect":
                response = self._reply(item.reply or auto_reply(body), body, rid, stream)
                size = len(response.body)
                response.cut_after = size // 2 if item.after_bytes is None else item.after_bytes
                return response
            case "slow":
                reply = item.reply or auto_reply(body)
                response = self._reply(reply, body, rid, stream, thread=req.body)
                response.delay, response.chunk_delay = item.delay, item.chunk_delay
                return response
        raise AssertionError(item.kind)  # pragma: no cover - Fault.kind is a closed set

    def _reply(
        self,
        reply: Reply,
        body: dict[str, object],
        rid: str,
        stream: bool,
        *,
        thread: Mapping[str, object] | None = None,
    ) -> FakeResponse:
        """Serve `reply` to `body`; `thread`: the request as sent, when its thread is kept."""
        message, partial = self._materialize(reply, body, "standard")
        if thread is not None:
            self.threads.record(thread, body, message)
        if not stream:
            return json_response(message, rid)
        headers = [
            ("content-type", "text/event-stream; charset=utf-8"),
            ("cache-control", "no-cache"),
            ("request-id", rid),
        ]
        return FakeResponse(200, headers, sse_events(message, partial, pings=self._pings))

    def _materialize(
        self, reply: Reply, body: Mapping[str, object], tier: str
    ) -> tuple[dict[str, object], dict[int, str]]:
        """The full message for a reply: ids assigned, thinking signed, usage estimated."""
        nonce = self._ids.nonce()
        count = sum(1 for b in reply.blocks if b.data.get("type") in _THINKING)
        position = 0
        content: list[dict[str, object]] = []
        partial: dict[int, str] = {}
        server_id: str | None = None
        for index, block in enumerate(reply.blocks):
            data = dict(block.data)
            kind = data.get("type")
            if kind in ("tool_use", "server_tool_use"):
                prefix = "toolu" if kind == "tool_use" else "srvtoolu"
                given = data.pop("id", None)
                data = {"type": kind, "id": given or self._ids.make(prefix), **data}
                if kind == "tool_use" and given is None:
                    # Current replies name the caller; a block scripted with its id (a recorded
                    # one) is served exactly as given.
                    data.setdefault("caller", {"type": "direct"})
                if kind == "server_tool_use":
                    server_id = str(data["id"])
            elif isinstance(kind, str) and kind.endswith("_tool_result") and server_id:
                data = {"type": kind, "tool_use_id": data.pop("tool_use_id", server_id), **data}
            elif kind == "thinking":
                if "signature" not in data:
                    thought = str(data["thinking"])
                    data["signature"] = self._signer.sign(nonce, position, count, thought)
                position += 1
            elif kind == "redacted_thinking":
                if "data" not in data:
                    data["data"] = self._signer.sign(
                        nonce, position, count, redacted_payload(nonce)
                    )
                position += 1
            if block.partial_json is not None:
                partial[index] = block.partial_json
            content.append(data)
        usage: dict[str, object] = dict(self._ledger.usage(body))
        usage["output_tokens"] = estimate_tokens(content) if content else 1
        thoughts = [d["thinking"] for d in content if d.get("type") == "thinking"]
        thinking_config = body.get("thinking")
        if thoughts or (
            isinstance(thinking_config, dict) and thinking_config.get("type") != "disabled"
        ):  # replies with thinking on count their thinking apart (recorded since late 2025)
            usage["output_tokens_details"] = {
                "thinking_tokens": sum(estimate_tokens(str(t)) for t in thoughts)
            }
        usage["service_tier"] = tier
        usage["inference_geo"] = "not_available"
        searches = [d.get("name") for d in content if d.get("type") == "server_tool_use"]
        if searches:
            usage["server_tool_use"] = {
                "web_search_requests": searches.count("web_search"),
                "web_fetch_requests": searches.count("web_fetch"),
            }
        usage.update(reply.usage)
        message = {
            "model": reply.model or _snapshot(body.get("model")),
            "id": self._ids.make("msg"),
            "type": "message",
            "role": "assistant",
            "content": content,
            "stop_reason": reply.stop_reason,
            "stop_sequence": reply.stop_sequence,
            "stop_details": reply.stop_details,
            "usage": usage,
            **reply.extra,
        }
        return message, partial

    def _count_tokens(self, req: FakeRequest, rid: str) -> FakeResponse:
        checked = self._check(req.body, req.headers, count=True)
        if isinstance(checked, tuple):
            return error_response(*checked, rid)
        usage = CacheLedger().usage(req.body)  # a fresh ledger: counting must not warm the cache
        total = usage["input_tokens"] + usage["cache_creation_input_tokens"]
        return json_response({"input_tokens": total + usage["cache_read_input_tokens"]}, rid)

    # ----- batches --------------------------------------------------------------------------

    def _run_batch_request(self, params: dict[str, object]) -> dict[str, object]:
        def errored(error_type: str, message: str) -> dict[str, object]:
            error = {"type": "error", "error": {"type": error_type, "message": message}}
            return {"type": "errored", "error": error}

        checked = self._check(params, {})
        if isinstance(checked, tuple):
            return errored(checked[1], checked[2])
        try:
            item = self._next_item(params)
        except _RanOut as exc:
            return errored("api_error", str(exc))
        if isinstance(item, Fault):
            if item.kind == "status":
                return errored(item.error_type, item.message)
            if item.kind == "batch_outcome":
                return {"type": item.outcome}
            item = item.reply or auto_reply(params)
        message, _ = self._materialize(item, params, "batch")
        return {"type": "succeeded", "message": message}
