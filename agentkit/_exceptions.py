"""Every error agentkit raises, in one tree.

```
AgentkitError
├── APIError                          anything that went wrong talking to the API
│   ├── APIConnectionError            no response: DNS, refused, reset, TLS ...
│   │   └── APITimeoutError           the request timed out
│   ├── APIResponseValidationError    a 2xx response whose body is not what the API documents
│   ├── APIStatusError                a 4xx/5xx response, or an `error` event mid-stream
│   │   ├── BadRequestError               400
│   │   ├── AuthenticationError           401
│   │   ├── PermissionDeniedError         403
│   │   ├── NotFoundError                 404
│   │   ├── ConflictError                 409
│   │   ├── RequestTooLargeError          413
│   │   ├── UnprocessableEntityError      422
│   │   ├── RateLimitError                429
│   │   └── InternalServerError           >= 500
│   │       └── OverloadedError           529
│   ├── StreamError                   a stream broke the protocol or ended early
│   │   └── IncompleteStreamError     the connection ended before `message_stop`
│   └── BatchResultsUnavailableError  a batch has no results yet (in `_batch_models`)
├── ConfigurationError                a client or agent was set up wrongly (missing key ...)
├── RequestValidationError            preflight: the API would reject this request (400)
├── ToolDefinitionError               a function cannot become a tool; lists every problem
├── ToolError                         raised *by a tool* for a deliberate error result
├── StoreError                        the conversation store failed
│   ├── StoreConflictError            another writer appended first (optimistic concurrency)
│   └── ConversationBusyError         another run holds the conversation's lease
└── RunError                          a run stopped early; carries the partial RunResult
    ├── LimitExceededError            turns, tokens, cost or consecutive tool errors
    ├── OutputValidationError         structured output never validated
    └── UnexpectedStopError           the model stopped for a reason the run cannot continue from
```

Errors carry data (status, request id, parsed body, the partial message) and have no side effects in
their constructors. Third-party exceptions are translated at exactly one boundary and chained
(`raise ... from exc`). No message, repr or attribute ever holds an API key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic

import httpx
from typing_extensions import TypeVar

if TYPE_CHECKING:
    # Type-only: the error tree sits below the wire shapes, yet its errors carry a message.
    from .types._message import Message

ResultT = TypeVar("ResultT")

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AgentkitError",
    "AnthropicError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ConversationBusyError",
    "IncompleteStreamError",
    "InternalServerError",
    "LimitExceededError",
    "NotFoundError",
    "OutputValidationError",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTooLargeError",
    "RequestValidationError",
    "RunError",
    "StoreConflictError",
    "StoreError",
    "StreamError",
    "ToolDefinitionError",
    "ToolError",
    "UnexpectedStopError",
    "UnprocessableEntityError",
    "make_status_error",
    "raw_names",
    "request_id_of",
    "status_error_class",
]


class AgentkitError(Exception):
    """The root of every error agentkit raises."""


AnthropicError = AgentkitError
"""The official SDK's name for the root error: `except anthropic.AnthropicError` keeps working
with `import agentkit as anthropic`. The same class, not a subclass."""


class ConfigurationError(AgentkitError):
    """A client, agent or store was configured wrongly."""


class APIError(AgentkitError):
    """Something went wrong talking to the API.

    Attributes:
        message: A human-readable description.
        request: The request that failed, when there was one.
        body: The parsed response body (or error event), when there was one.
    """

    def __init__(
        self, message: str, *, request: httpx.Request | None = None, body: object | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body


class APIConnectionError(APIError):
    """No response arrived: the connection failed, was refused or was reset."""

    def __init__(
        self, message: str = "Connection error.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(self, *, request: httpx.Request | None = None) -> None:
        super().__init__("Request timed out.", request=request)


class APIResponseValidationError(APIError):
    """A successful response whose body does not have the documented shape."""

    def __init__(self, message: str, *, response: httpx.Response, body: object | None) -> None:
        super().__init__(message, request=response.request, body=body)
        self.response = response
        self.status_code = response.status_code
        self.request_id: str | None = request_id_of(response.headers)


class APIStatusError(APIError):
    """The API answered with an error: a 4xx/5xx status, or an `error` event mid-stream.

    Attributes:
        status_code: The HTTP status (200 for an error event inside a successful stream).
        request_id: The `request-id` response header (or the body's `request_id`).
        type: The error type from the body, e.g. `"overloaded_error"`.
        response: The HTTP response.
        partial_message: For a mid-stream error, the message accumulated before it (or None).
        content_delivered: For a mid-stream error, whether events had already been handed to
            the caller (which is why it was not retried); False otherwise.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object | None,
        partial_message: Message | None = None,
    ) -> None:
        super().__init__(message, request=_request_of(response), body=body)
        self.response = response
        self.status_code = response.status_code
        error = body.get("error") if isinstance(body, dict) else None
        self.type: str | None = error.get("type") if isinstance(error, dict) else None
        request_id = request_id_of(response.headers)
        if request_id is None and isinstance(body, dict):
            request_id = body.get("request_id")
        self.request_id: str | None = request_id
        self.partial_message = partial_message
        self.content_delivered = False

    def __str__(self) -> str:
        suffix = f" (request id: {self.request_id})" if self.request_id else ""
        return f"{self.message}{suffix}"


class BadRequestError(APIStatusError):
    """400: the request was malformed or broke a documented rule."""


class AuthenticationError(APIStatusError):
    """401: the API key or token is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this resource."""


class NotFoundError(APIStatusError):
    """404: no such model, batch, file or endpoint."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's state."""


class RequestTooLargeError(APIStatusError):
    """413: the request body is larger than the API accepts."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but could not be processed."""


class RateLimitError(APIStatusError):
    """429: too many requests or tokens; retried by default."""


class InternalServerError(APIStatusError):
    """A 5xx status: the API failed; retried by default."""


class OverloadedError(InternalServerError):
    """529: the API is overloaded; retried by default."""


class StreamError(APIError):
    """A stream broke the protocol (events out of order, malformed data) or ended early.

    Attributes:
        partial_message: The message accumulated before the failure, never marked complete.
        content_delivered: True when events had already been handed to the caller, which is why
            the request was not retried.
    """

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        partial_message: Message | None = None,
        content_delivered: bool = False,
    ) -> None:
        super().__init__(message, request=request)
        self.partial_message = partial_message
        self.content_delivered = content_delivered


class IncompleteStreamError(StreamError):
    """The connection ended before `message_stop`; the partial message is attached."""


class RequestValidationError(AgentkitError):
    """Preflight found a rule the API would reject the request for (a 400 it would send).

    Attributes:
        problems: Each violated rule, worded like the API's own error message.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class ToolDefinitionError(AgentkitError):
    """A function cannot become a tool. Lists every problem at once.

    Attributes:
        problems: One line per problem.
    """

    def __init__(self, name: str, problems: list[str]) -> None:
        self.name = name
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"cannot make a tool of {name!r}:\n{lines}")


class ToolError(AgentkitError):
    """Raise inside a tool to send the model a deliberate error result.

    The content (a string or content blocks) becomes a `tool_result` with `is_error: true`.
    """

    def __init__(self, content: str | list[dict[str, object]]) -> None:
        self.content = content
        super().__init__(content if isinstance(content, str) else "tool error")


class StoreError(AgentkitError):
    """The conversation store failed."""


class StoreConflictError(StoreError):
    """Another writer appended to the conversation first.

    Attributes:
        conversation_id: The conversation written to.
        expected_version: The version this writer based its append on.
        actual_version: The version found in the store.
    """

    def __init__(self, conversation_id: str, expected_version: int, actual_version: int) -> None:
        self.conversation_id = conversation_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"conversation {conversation_id!r} is at version {actual_version}, "
            f"not {expected_version}: another writer appended first; reload and retry"
        )


class ConversationBusyError(StoreError):
    """Another run holds the conversation: one run per conversation at a time.

    Raised before the run commits anything or calls the model, so nothing is paid for or lost.

    Attributes:
        conversation_id: The conversation asked for.
        owner: The lease holder (`"<host>:<pid>:<run id>"` for agentkit's runs).
        waited: Seconds this run waited for the lease before giving up.
    """

    def __init__(self, conversation_id: str, owner: str, waited: float = 0.0) -> None:
        self.conversation_id = conversation_id
        self.owner = owner
        self.waited = waited
        how = f"after waiting {waited:g}s" if waited else "(busy_timeout=0: not waiting)"
        super().__init__(
            f"conversation {conversation_id!r} is busy: run {owner!r} holds it {how}; "
            "wait for that run to end, or pass Agent(busy_timeout=...) to wait for it"
        )


class RunError(AgentkitError, Generic[ResultT]):
    """A run stopped before it finished. `result` holds everything that happened.

    The result is what the runner that raised it returns: a `RunResult` from `Agent.run`,
    `arun`, `stream` and `astream`, a `RunOutput` from a durable (Temporal) run, so the error is
    generic in it; `except LimitExceededError as exc` types `exc.result` loosely.
    """

    def __init__(self, message: str, *, result: ResultT) -> None:
        super().__init__(message)
        self.result = result


class LimitExceededError(RunError[ResultT]):
    """A run limit (turns, tokens, cost, consecutive tool errors) was reached.

    Attributes:
        limit: The name of the limit, e.g. `"max_turns"`.
    """

    def __init__(self, limit: str, message: str, *, result: ResultT) -> None:
        super().__init__(message, result=result)
        self.limit = limit


class OutputValidationError(RunError[ResultT]):
    """The model's structured output did not validate after every retry."""


class UnexpectedStopError(RunError[ResultT]):
    """The model stopped for a reason the run cannot continue from (e.g. an unknown reason)."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    529: OverloadedError,
}

# The error `type` in a body or a mid-stream error event, mapped to the class its HTTP status
# would have produced. A stream error arrives with status 200, so the type is all we have.
_TYPE_CLASSES: dict[str, type[APIStatusError]] = {
    "invalid_request_error": BadRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "conflict_error": ConflictError,
    "request_too_large": RequestTooLargeError,
    "rate_limit_error": RateLimitError,
    "api_error": InternalServerError,
    "timeout_error": InternalServerError,
    "overloaded_error": OverloadedError,
}


def status_error_class(status: int, error_type: str | None = None) -> type[APIStatusError]:
    """Pick the error class for an HTTP status, or for an error type when the status is 2xx."""
    if status < 400:
        return _TYPE_CLASSES.get(error_type or "", APIStatusError)
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status >= 500:
        return InternalServerError
    return APIStatusError


def make_status_error(
    response: httpx.Response, body: object | None, *, partial_message: Message | None = None
) -> APIStatusError:
    """Build the typed error for an error response (or a 200 stream's `error` event body)."""
    error = body.get("error") if isinstance(body, dict) else None
    error_type = error.get("type") if isinstance(error, dict) else None
    detail = error.get("message") if isinstance(error, dict) else None
    if detail is None:
        detail = body if isinstance(body, str) and body else response.reason_phrase
    message = f"{response.status_code} {error_type or 'error'}: {detail}"
    cls = status_error_class(response.status_code, error_type)
    return cls(message, response=response, body=body, partial_message=partial_message)


# The headers last indexed and their index. The pacer and the parser read the same response one
# after the other (in one thread, or in one task); any other headers are indexed anew.
_last: tuple[httpx.Headers, list[tuple[bytes, bytes]], dict[bytes, bytes]] | None = None


def raw_names(headers: httpx.Headers) -> tuple[list[tuple[bytes, bytes]], dict[bytes, bytes]]:
    """`headers.raw`, and a dict of it (a name sent twice keeps its last value; compare the
    lengths to tell).

    `Headers.raw` copies every pair out of httpx's list in Python, about as much work as the
    lookups that follow; the last headers' result is kept, so a response's second reader gets
    it for free (while it has as many pairs: a header added or removed since is seen; a value
    replaced in place is not, and a response's headers are not changed between the send path
    and its parser).
    """
    global _last
    last = _last
    if last is not None and last[0] is headers and len(last[1]) == len(headers):
        return last[1], last[2]
    raw = headers.raw
    names = dict(raw)
    _last = (headers, raw, names)
    return raw, names


def request_id_of(headers: httpx.Headers) -> str | None:
    """The request id a response carries: `request-id`, or `x-amzn-requestid` on Bedrock."""
    # Every response pays this: the API's lower-case name is looked up among the raw pairs at
    # C speed (`Headers.get` lowers and decodes every header: ~10k instructions a response);
    # another spelling, a name sent twice or a value that is empty or not ASCII goes the
    # general way.
    pairs, names = raw_names(headers)
    found = names.get(b"request-id")
    if found and found.isascii() and len(names) == len(pairs):
        return found.decode("ascii")
    value: str | None = headers.get("request-id") or headers.get("x-amzn-requestid")
    return value


def _request_of(response: httpx.Response) -> httpx.Request | None:
    try:
        return response.request
    except RuntimeError:  # a response built by hand in a test has no request
        return None
