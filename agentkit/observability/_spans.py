"""The spans and metrics of one run, in the OpenTelemetry GenAI semantic conventions.

Imported only by `Telemetry.start_run` once OpenTelemetry is loaded: a run is an
`invoke_agent {agent}` span, each model call a `chat {model}` span (a CLIENT span, current while
the call is sent, so retries and HTTP spans land in it), each tool call an
`execute_tool {tool}` span, current while the tool runs (so the tool's own calls join the
trace). Model calls also record the `gen_ai.client.token.usage` and
`gen_ai.client.operation.duration` histograms.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from .._version import __version__
from ._content import input_messages, output_messages, system_instructions, to_text

if TYPE_CHECKING:
    from ..types._message import Message
    from ..types._usage import RunUsage
    from ._telemetry import Telemetry

__all__ = ["ChatTrace", "RunTrace", "ToolTrace", "start_run"]

Attributes = dict[str, AttributeValue]

_SCOPE = "agentkit"

# The request fields a chat span records (and `stop_sequences`): the model first.
_REQUEST_FIELDS = ("model", "max_tokens", "temperature", "top_p", "top_k")


@dataclass(frozen=True)
class _Instruments:
    tracer: trace.Tracer | None
    tokens: metrics.Histogram | None
    duration: metrics.Histogram | None


# By provider: a tracer and two histograms are made once per provider, not per run.
_MADE: dict[tuple[int, int], tuple[object, object, _Instruments]] = {}


def _instruments(tracer_provider: object, meter_provider: object) -> _Instruments | None:
    tracing = isinstance(tracer_provider, trace.TracerProvider) and not isinstance(
        tracer_provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider
    )
    # The global meter provider is a private proxy class until one is set.
    metering = (
        isinstance(meter_provider, metrics.MeterProvider)
        and not isinstance(meter_provider, metrics.NoOpMeterProvider)
        and type(meter_provider).__name__ != "_ProxyMeterProvider"
    )
    if not tracing and not metering:
        return None
    key = (id(tracer_provider), id(meter_provider))
    made = _MADE.get(key)
    if made is not None and made[0] is tracer_provider and made[1] is meter_provider:
        return made[2]
    tracer = None
    tokens = duration = None
    if tracing:
        assert isinstance(tracer_provider, trace.TracerProvider)
        tracer = tracer_provider.get_tracer(_SCOPE, __version__)
    if metering:
        assert isinstance(meter_provider, metrics.MeterProvider)
        meter = meter_provider.get_meter(_SCOPE, __version__)
        tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens used per model call"
        )
        duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="Model call duration"
        )
    instruments = _Instruments(tracer, tokens, duration)
    _MADE[key] = (tracer_provider, meter_provider, instruments)
    return instruments


def start_run(
    telemetry: Telemetry,
    base: Attributes,
    agent: str | None,
    conversation: str | None,
    invoke: bool,
) -> RunTrace | None:
    """A run's trace (see `Telemetry.start_run`); None when no provider is configured."""
    tracer_provider = telemetry.tracer_provider or trace.get_tracer_provider()
    meter_provider = telemetry.meter_provider or metrics.get_meter_provider()
    instruments = _instruments(tracer_provider, meter_provider)
    if instruments is None:
        return None
    return RunTrace(instruments, base, telemetry.captures_content(), agent, conversation, invoke)


def _error_type(error: BaseException) -> str:
    return type(error).__qualname__


def _failed(span: trace.Span, error_type: str) -> None:
    span.set_attribute("error.type", error_type)
    span.set_status(Status(StatusCode.ERROR, error_type))


def _close(span: trace.Span, error: BaseException | None) -> None:
    if error is not None:
        _failed(span, _error_type(error))
    span.end()


def _attach(span: trace.Span, parent: otel_context.Context) -> object:
    """Make `span` current; the token `_detach` takes."""
    return otel_context.attach(trace.set_span_in_context(span, parent))


def _detach(token: object) -> None:
    if token is not None:
        otel_context.detach(token)  # type: ignore[arg-type]  # attach's own token


def _usage_attributes(
    input_tokens: int, output_tokens: int, cache_read: int, cache_write: int
) -> Attributes:
    # The conventions count cached tokens in gen_ai.usage.input_tokens; the API does not.
    return {
        "gen_ai.usage.input_tokens": input_tokens + cache_read + cache_write,
        "gen_ai.usage.output_tokens": output_tokens,
        "gen_ai.usage.cache_read.input_tokens": cache_read,
        "gen_ai.usage.cache_creation.input_tokens": cache_write,
    }


class RunTrace:
    """The `invoke_agent` span of one run, and the factory of its children.

    Without `invoke`, there is no run span: the children hang under the current span (a
    Temporal activity's, when Temporal's tracing interceptor propagates the workflow's trace).
    """

    def __init__(
        self,
        instruments: _Instruments,
        base: Attributes,
        capture: bool,
        agent_name: str | None,
        conversation_id: str | None,
        invoke: bool,
    ) -> None:
        self.instruments = instruments
        self.base = base
        self.capture = capture
        # The caller's context (its current span, its baggage) is the run's parent.
        parent = otel_context.get_current()
        attributes: Attributes = {**base, "gen_ai.operation.name": "invoke_agent"}
        if agent_name:
            attributes["gen_ai.agent.name"] = agent_name
        if conversation_id:
            attributes["gen_ai.conversation.id"] = conversation_id
        tracer = instruments.tracer
        self.span: trace.Span = trace.INVALID_SPAN
        self.context = parent
        self._ended = not invoke
        # Built once per run, not per call: a run's calls ask for the same model and settings
        # and get replies from one model, so a call's span and metric attributes are kept.
        self._chat_key: tuple[object, ...] | None = None
        self._chat_attributes: tuple[str, Attributes, Attributes] = ("", {}, {})
        self._metric_attributes: dict[str, tuple[Attributes, Attributes, Attributes]] = {}
        self.tool_base: Attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.provider.name": base["gen_ai.provider.name"],
            "gen_ai.tool.type": "function",
        }
        if tracer is not None and invoke:
            self.span = tracer.start_span(
                f"invoke_agent {agent_name}" if agent_name else "invoke_agent",
                context=parent,
                kind=SpanKind.INTERNAL,
                attributes=attributes,
            )
            self.context = trace.set_span_in_context(self.span, parent)

    @contextmanager
    def current(self) -> Iterator[None]:
        """Make the run's span the current one inside the block."""
        token = otel_context.attach(self.context)
        try:
            yield
        finally:
            otel_context.detach(token)

    def end(self, error: BaseException | None = None, attributes: Attributes | None = None) -> None:
        """End the run's span (no totals: a run that continues elsewhere, as on Temporal)."""
        if self._ended:
            return
        self._ended = True
        self.span.set_attributes(attributes or {})
        _close(self.span, error)

    def chat(
        self,
        params: Mapping[str, object],
        messages: Callable[[], Sequence[Mapping[str, object]]],
        *,
        attach: bool,
    ) -> ChatTrace:
        """Start a model call's span; `attach` makes it current until it closes."""
        return ChatTrace(self, params, messages, attach)

    def chat_attributes(self, params: Mapping[str, object]) -> tuple[str, Attributes, Attributes]:
        """A call's model, its metric attributes and its span's request attributes (built again
        only when the fields they come from differ from the previous call's)."""
        stops = params.get("stop_sequences")
        values = [params.get(field) for field in _REQUEST_FIELDS]
        # With the types (1 == 1.0 == True), and the stop sequences copied (a list can change).
        key = (*values, *map(type, values), tuple(stops) if isinstance(stops, list) else stops)
        if key == self._chat_key:
            return self._chat_attributes
        model = values[0]
        name = model if isinstance(model, str) else str(model)
        attributes: Attributes = {
            **self.base,
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": name,
        }
        request: Attributes = dict(attributes)
        for field, value in zip(_REQUEST_FIELDS[1:], values[1:], strict=True):
            if isinstance(value, int | float) and not isinstance(value, bool):
                request[f"gen_ai.request.{field}"] = value
        if isinstance(stops, list) and all(isinstance(s, str) for s in stops):
            request["gen_ai.request.stop_sequences"] = list(stops)
        self._chat_key = key
        self._chat_attributes = (name, attributes, request)
        self._metric_attributes = {}
        return self._chat_attributes

    def metric_attributes(
        self, attributes: Attributes, response_model: str
    ) -> tuple[Attributes, Attributes, Attributes]:
        """The histograms' attributes of a reply from `response_model`: input tokens, output
        tokens, duration (kept per model, so the SDK is handed the same dicts every call)."""
        made = self._metric_attributes.get(response_model)
        if made is None:
            metric = {**attributes, "gen_ai.response.model": response_model}
            made = (
                {**metric, "gen_ai.token.type": "input"},
                {**metric, "gen_ai.token.type": "output"},
                metric,
            )
            self._metric_attributes[response_model] = made
        return made

    def tool(self, call_id: str, name: str, arguments: object) -> ToolTrace:
        """A tool call's span, to enter in the task that runs the tool."""
        return ToolTrace(self, call_id, name, arguments)

    def finish(self, usage: RunUsage, status: str, conversation_id: str) -> None:
        """End the run's span with its totals."""
        self.end(
            attributes={
                **_usage_attributes(
                    usage.input_tokens,
                    usage.output_tokens,
                    usage.cache_read_input_tokens,
                    usage.cache_creation_input_tokens,
                ),
                "gen_ai.conversation.id": conversation_id,
                "agentkit.run.status": status,
                "agentkit.run.requests": usage.requests,
                "agentkit.run.cost_usd": usage.cost_usd,
            }
        )

    def fail(self, error: BaseException) -> None:
        """End the run's span as failed."""
        self.end(error)


class ChatTrace:
    """One model call's `chat {model}` span and metrics."""

    def __init__(
        self,
        run: RunTrace,
        params: Mapping[str, object],
        messages: Callable[[], Sequence[Mapping[str, object]]],
        attach: bool,
    ) -> None:
        self.run = run
        self.model, self.attributes, request = run.chat_attributes(params)
        tracer = run.instruments.tracer
        self.span: trace.Span = trace.INVALID_SPAN
        if tracer is not None:
            if run.capture:
                request = {**request, "gen_ai.input.messages": input_messages(messages())}
                system = system_instructions(params.get("system"))
                if system is not None:
                    request["gen_ai.system_instructions"] = system
            self.span = tracer.start_span(
                f"chat {self.model}", context=run.context, kind=SpanKind.CLIENT, attributes=request
            )
        self.started = time.perf_counter()
        self._token: object = None
        if attach and tracer is not None:
            self._token = _attach(self.span, run.context)

    def event(self, name: str, attributes: Mapping[str, str | int | float]) -> None:
        """Add an event to the call's span (a cache-miss explanation, a pacing wait)."""
        self.span.add_event(name, attributes)

    def close(self, message: Message | None = None, error: BaseException | None = None) -> None:
        """End the span with the reply, or with the error the call ended in."""
        elapsed = time.perf_counter() - self.started
        _detach(self._token)
        self._token = None
        run = self.run
        metric = self.attributes
        span = self.span
        recording = span.is_recording()
        if message is not None:
            usage = message.usage
            read = usage.cache_read_input_tokens or 0
            write = usage.cache_creation_input_tokens or 0
            uncached = usage.input_tokens or 0
            if recording:
                reply: Attributes = {
                    "gen_ai.response.model": message.model,
                    "gen_ai.response.id": message.id,
                    "gen_ai.response.finish_reasons": [message.stop_reason or ""],
                    **_usage_attributes(uncached, usage.output_tokens, read, write),
                }
                if message.request_id:
                    reply["anthropic.request.id"] = message.request_id
                if run.capture:
                    reply["gen_ai.output.messages"] = output_messages(
                        (b.to_dict() for b in message.content), message.stop_reason
                    )
                span.set_attributes(reply)
            input_attributes, output_attributes, metric = run.metric_attributes(
                self.attributes, message.model
            )
            tokens = run.instruments.tokens
            if tokens is not None:
                tokens.record(uncached + read + write, input_attributes)
                tokens.record(usage.output_tokens, output_attributes)
        if error is not None:
            kind = _error_type(error)
            metric = {**metric, "error.type": kind}
            _failed(span, kind)
            request_id = getattr(error, "request_id", None)
            if isinstance(request_id, str):
                span.set_attribute("anthropic.request.id", request_id)
        duration = run.instruments.duration
        if duration is not None:
            duration.record(elapsed, metric)
        span.end()


class ToolTrace:
    """One tool call's `execute_tool {tool}` span: `start` it where the tool runs."""

    def __init__(self, run: RunTrace, call_id: str, name: str, arguments: object) -> None:
        self.run = run
        self.name = name
        self.attributes: Attributes = {
            **run.tool_base,
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": call_id,
        }
        if run.capture:
            self.attributes["gen_ai.tool.call.arguments"] = to_text(arguments)
        self.span: trace.Span = trace.INVALID_SPAN
        self._token: object = None

    def start(self) -> None:
        """Open the span and make it current (in the task or thread that runs the tool)."""
        tracer = self.run.instruments.tracer
        if tracer is not None:
            self.span = tracer.start_span(
                f"execute_tool {self.name}", self.run.context, SpanKind.INTERNAL, self.attributes
            )
            self._token = _attach(self.span, self.run.context)

    def record(self, *, error_type: str | None, result: object) -> None:
        """The call's outcome: an error type when it failed, and its result's content."""
        if error_type is not None:
            _failed(self.span, error_type)
        if self.run.capture and result is not None and self.span.is_recording():
            self.span.set_attribute("gen_ai.tool.call.result", to_text(result))

    def end(self, error: BaseException | None = None) -> None:
        """Close the span (`error`: what escaped the call, a cancellation say)."""
        _detach(self._token)
        self._token = None
        _close(self.span, error)
