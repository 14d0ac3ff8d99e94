"""The agent loop, written once: a generator of effects that the sync and async drivers perform.

The loop decides; it never does I/O. It yields an effect ("call the model with this body", "run
these tool calls", "commit the conversation", "emit this event", "call this hook") and receives
the effect's result, the way httpx's `Auth.auth_flow` yields requests. `_agent.py` has the two
drivers that perform effects, sync and async; everything here is tested without HTTP.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from pydantic import TypeAdapter, ValidationError

from .._exceptions import ConfigurationError, LimitExceededError, OutputValidationError
from ..conversation._cache import CachePolicy
from ..conversation._conversation import Conversation, pending_tool_uses, tool_results_message
from ..tools._execute import Approval, ToolCall, ToolOutcome
from ..tools._tool import tool_result, validation_error_content
from ..types._message import Message
from ..types._usage import ModelPrice, RunUsage
from ._events import RunFinished, RunResult, TurnFinished

__all__ = [
    "STOP_ACTIONS",
    "CallHook",
    "CallModel",
    "Commit",
    "Emit",
    "LimitHit",
    "Limits",
    "LoadJournal",
    "OutputSpec",
    "RunSpec",
    "RunTools",
    "agent_loop",
    "budget_limit",
    "check_output",
    "next_action",
    "output_exhausted",
    "output_nudge",
    "streak_limit",
    "tool_error_streak",
    "turn_limit",
]

StopAction = Literal["run_tools", "continue", "stop"]

# One table decides what follows a response (DESIGN invariant 2).
STOP_ACTIONS: Mapping[str, StopAction] = {
    "tool_use": "run_tools",
    # The API paused a long server-tool turn: send it back unchanged and the model continues.
    "pause_turn": "continue",
    # With pause_after_compaction the API stops after writing the compaction block; the turn
    # goes back unchanged and the model answers from the compacted context.
    "compaction": "continue",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "refusal": "stop",
    "model_context_window_exceeded": "stop",
    # Never run a tool call that max_tokens cut off: its input may be incomplete.
    "max_tokens": "stop",
}


def next_action(stop_reason: str | None) -> StopAction:
    """What the loop does after a response with this stop reason (unknown -> stop)."""
    return STOP_ACTIONS.get(stop_reason or "", "stop")


CUT_OFF_RESULT = (
    "This tool call was cut off by max_tokens before its input was complete, so it was not run. "
    "Call the tool again if you still need it."
)
CONTINUE_PROMPT = (
    "Your previous response was cut off by max_tokens. Continue exactly where it stopped."
)


@dataclass(frozen=True)
class Limits:
    """Budgets for one run; reaching one raises `LimitExceededError` with the partial result.

    Attributes:
        max_turns: Model calls per run.
        max_input_tokens: Input tokens (cached included) per run.
        max_output_tokens: Output tokens per run.
        max_total_tokens: Input plus output tokens per run.
        max_cost_usd: Cost per run at the agent's prices.
        max_consecutive_tool_errors: Turns in a row whose tool calls all failed.
    """

    max_turns: int | None = 50
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    max_total_tokens: int | None = None
    max_cost_usd: float | None = None
    max_consecutive_tool_errors: int | None = 5


# -- limit decisions (pure; the in-process loop and the Temporal workflow both use them) --------


@dataclass(frozen=True, slots=True)
class LimitHit:
    """A budget that ran out: the limit's name and the message of the error it raises."""

    name: str
    message: str


def turn_limit(limits: Limits, turns: int) -> LimitHit | None:
    """The `max_turns` hit before the next model call, if `turns` calls were made already."""
    if limits.max_turns is not None and turns >= limits.max_turns:
        return LimitHit("max_turns", f"max_turns of {limits.max_turns} reached")
    return None


def budget_limit(limits: Limits, usage: RunUsage) -> LimitHit | None:
    """The first token or cost budget that `usage` exceeds, if any."""
    inputs = usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens
    checks = (
        ("max_input_tokens", limits.max_input_tokens, inputs),
        ("max_output_tokens", limits.max_output_tokens, usage.output_tokens),
        ("max_total_tokens", limits.max_total_tokens, usage.total_tokens),
        ("max_cost_usd", limits.max_cost_usd, usage.cost_usd),
    )
    for name, limit, value in checks:
        if limit is not None and value > limit:
            return LimitHit(name, f"{name} of {limit} exceeded ({value})")
    return None


def tool_error_streak(streak: int, outcomes: int, errors: int) -> int:
    """The run of turns whose tool calls all failed, after a turn with these counts."""
    return streak + 1 if outcomes and errors == outcomes else 0


def streak_limit(limits: Limits, streak: int) -> LimitHit | None:
    """The `max_consecutive_tool_errors` hit by this streak, if any."""
    bound = limits.max_consecutive_tool_errors
    if bound is not None and streak > bound:
        return LimitHit(
            "max_consecutive_tool_errors", f"every tool call failed in {streak} turns in a row"
        )
    return None


@dataclass(frozen=True)
class OutputSpec:
    """Structured output through a final-answer tool.

    Attributes:
        type: What the answer validates as (a pydantic model, dataclass, TypedDict ...).
        tool_name: The tool the model calls with its answer.
        retries: Extra chances after an invalid or missing answer.
    """

    type: Any
    tool_name: str = "final_result"
    retries: int = 2

    @property
    def adapter(self) -> TypeAdapter[Any]:
        """Validates the tool input."""
        return TypeAdapter(self.type)


@dataclass(frozen=True)
class RunSpec:
    """Everything the loop needs besides the conversation. Built by the `Agent` per run.

    Attributes:
        params: Request fields except `messages` (model, max_tokens, system, tools ...).
        cache: The prompt-cache policy.
        betas: Beta names (for preflight rules that depend on them).
        preflight: Check each request against the documented rules before sending.
        limits: The run's budgets.
        prices: Price table overrides.
        output: Structured output, if asked for.
        approvals: Decisions on calls that wait for a human, by tool_use id.
        on_max_tokens: `"stop"`, or `"continue"` to ask the model to go on.
        hooks: Whether model-call hooks are configured (saves effects when not).
    """

    params: Mapping[str, Any]
    cache: CachePolicy = field(default_factory=CachePolicy)
    betas: Sequence[str] = ()
    preflight: bool = True
    limits: Limits = field(default_factory=Limits)
    prices: Mapping[str, ModelPrice] | None = None
    output: OutputSpec | None = None
    approvals: Mapping[str, Approval] = field(default_factory=dict)
    on_max_tokens: Literal["stop", "continue"] = "stop"
    hooks: bool = False


# -- effects ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallModel:
    """Send this request body; the result is the assistant `Message`."""

    body: bytes
    turn: int


@dataclass(frozen=True, slots=True)
class RunTools:
    """Run these calls (concurrently, journaling each result); the result is their outcomes."""

    calls: list[ToolCall]
    approvals: Mapping[str, Approval]
    turn: int
    usage: RunUsage


@dataclass(frozen=True, slots=True)
class LoadJournal:
    """The result is the journaled `tool_result` blocks of the pending calls, by tool_use id."""


@dataclass(frozen=True, slots=True)
class Commit:
    """Persist the conversation's uncommitted messages as one step (one transaction)."""

    conversation: Conversation


@dataclass(frozen=True, slots=True)
class Emit:
    """Hand an event to whoever streams the run."""

    event: Any


@dataclass(frozen=True, slots=True)
class CallHook:
    """Call the model hooks: `before_model` (result: params to use) or `after_model`."""

    kind: Literal["before_model", "after_model"]
    payload: Any
    conversation: Conversation


Effect: TypeAlias = CallModel | RunTools | LoadJournal | Commit | Emit | CallHook
Loop: TypeAlias = Generator[Effect, Any, RunResult[Any]]


# -- the loop -----------------------------------------------------------------------------------


class _State:
    """The loop's running totals (private to one run)."""

    def __init__(self, spec: RunSpec, conversation: Conversation) -> None:
        self.spec = spec
        self.conversation = conversation
        self.start = len(conversation)
        self.usage = RunUsage()
        self.turns = 0
        self.tool_error_streak = 0
        self.output_retries = 0
        self.message: Message | None = None
        self.output: Any = None
        self.container = _last_container(conversation)

    def result(
        self, status: Any = "complete", pending: list[ToolCall] | None = None
    ) -> RunResult[Any]:
        output = self.output
        if output is None and self.spec.output is None and self.message is not None:
            output = self.message.text
        return RunResult(
            status=status,
            message=self.message,
            stop_reason=self.message.stop_reason if self.message is not None else None,
            new_messages=[e.message for e in self.conversation.entries[self.start :]],
            usage=self.usage,
            turns=self.turns,
            conversation=self.conversation,
            output=output,
            pending=pending or [],
        )

    def check(self, hit: LimitHit | None) -> None:
        if hit is not None:
            raise LimitExceededError(hit.name, hit.message, result=self.result())

    def check_budgets(self) -> None:
        self.check(budget_limit(self.spec.limits, self.usage))


def agent_loop(
    spec: RunSpec, conversation: Conversation, prompt: list[dict[str, Any]] | None
) -> Loop:
    """Run the tool loop on `conversation` until the stop reason says stop.

    Args:
        spec: The run's settings.
        conversation: Appended to in place; each step is committed through a `Commit` effect.
        prompt: Content blocks of the new user message, or None to continue the conversation
            (after approvals, a crash, or a paused turn).

    Returns:
        The run's result (the generator's return value).

    Raises:
        LimitExceededError: A budget ran out; `.result` holds the partial result.
        OutputValidationError: Structured output never validated.
    """
    state = _State(spec, conversation)
    user_blocks: list[dict[str, Any]] = []
    pending = pending_tool_uses(conversation)
    if pending and _stop_reason(conversation) in ("tool_use", None):
        # A previous run stopped after the model asked for tools (approval, crash): finish them.
        # A history built by hand carries no stop reason; its tool calls are taken as asked for.
        journal: Mapping[str, dict[str, Any]] = yield LoadJournal()
        step = yield from _tool_step(state, pending, journal)
        if isinstance(step, RunResult):
            if prompt and step.status == "awaiting_approval":
                # The new message cannot be sent before the calls are answered; dropping it
                # silently would lose it.
                ids = ", ".join(c.id for c in step.pending)
                raise ConfigurationError(
                    f"tool calls await approval ({ids}): pass approvals= for them before "
                    "sending a new message"
                )
            return (yield from _finished(step))
        # The tool results (and the new prompt, if any) form the next user message.
        user_blocks = list(step["content"])
    elif pending:
        # The turn was cut off (max_tokens) or abandoned: answer without running anything.
        user_blocks = [tool_result(b["id"], CUT_OFF_RESULT, is_error=True) for b in pending]
    if prompt:
        user_blocks.extend(prompt)
    if user_blocks:
        conversation.append({"role": "user", "content": user_blocks})
        yield Commit(conversation)
        if state.output is not None and not prompt:
            # The resumed turn held a valid answer: the run is done, the model has nothing to add.
            return (yield from _finished(state.result()))

    while True:
        state.check(turn_limit(spec.limits, state.turns))
        params = dict(spec.params)
        if state.container is not None and "container" not in params:
            params["container"] = state.container
        if spec.hooks:
            params = yield CallHook("before_model", params, conversation)
        body = conversation.request_body(
            params, cache=spec.cache, check=spec.preflight, betas=spec.betas
        )
        message: Message = yield CallModel(body, state.turns)
        state.turns += 1
        state.message = message
        response = message.to_dict()
        model = str(response.get("model") or params.get("model") or "")
        state.usage = state.usage.add(response.get("usage") or {}, model, prices=_prices(spec))
        container = response.get("container")
        if isinstance(container, dict) and isinstance(container.get("id"), str):
            state.container = container["id"]
        conversation.append(message)
        yield Commit(conversation)
        if spec.hooks:
            yield CallHook("after_model", message, conversation)
        yield Emit(TurnFinished(message, state.usage))
        state.check_budgets()

        action = next_action(message.stop_reason)
        if action == "run_tools":
            calls = [b for b in conversation.entries[-1].blocks if b.get("type") == "tool_use"]
            if calls:
                step = yield from _tool_step(state, calls, {})
                if isinstance(step, RunResult):
                    return (yield from _finished(step))
                conversation.append(step)
                yield Commit(conversation)
                if state.output is not None:
                    return (yield from _finished(state.result()))
                continue
        elif action == "continue":
            continue
        if spec.on_max_tokens == "continue" and message.stop_reason == "max_tokens":
            cut = [b for b in conversation.entries[-1].blocks if b.get("type") == "tool_use"]
            blocks = [tool_result(b["id"], CUT_OFF_RESULT, is_error=True) for b in cut]
            conversation.append(
                {"role": "user", "content": [*blocks, {"type": "text", "text": CONTINUE_PROMPT}]}
            )
            yield Commit(conversation)
            continue
        if spec.output is not None and state.output is None:
            _count_output_retry(state, "the model answered without calling the output tool")
            conversation.append(output_nudge(spec.output.tool_name))
            yield Commit(conversation)
            continue
        return (yield from _finished(state.result()))


def _finished(result: RunResult[Any]) -> Loop:
    yield Emit(RunFinished(result))
    return result


def _tool_step(
    state: _State,
    calls: Sequence[Mapping[str, Any]],
    journal: Mapping[str, dict[str, Any]],
) -> Generator[Effect, Any, RunResult[Any] | dict[str, Any]]:
    """Run the calls that have no result yet, and return the user message of all results.

    Returns a `RunResult` instead when the run ends here (approvals pending, or a tool stopped
    the run); the results message is then appended and committed already.
    """
    spec = state.spec
    results: dict[str, dict[str, Any]] = dict(journal)
    output_call = _output_call(spec, calls)
    to_run = [
        ToolCall.from_block(b)
        for b in calls
        if b["id"] not in results and (output_call is None or b["id"] != output_call["id"])
    ]
    outcomes: list[ToolOutcome] = []
    if to_run:
        outcomes = yield RunTools(to_run, spec.approvals, state.turns, state.usage)
    deferred = [o.call for o in outcomes if o.status == "deferred"]
    if deferred:
        return state.result("awaiting_approval", deferred)
    for o in outcomes:
        assert o.result is not None
        results[o.call.id] = o.result
    output_error: str | None = None
    if output_call is not None:
        assert spec.output is not None
        value, results[output_call["id"]], output_error = check_output(spec.output, output_call)
        if output_error is None:
            state.output = value
    message = tool_results_message(calls, results)
    if output_error is not None:
        assert spec.output is not None
        if output_exhausted(spec.output.retries, state.output_retries + 1):
            # The run fails here, but the other calls of the turn have run: commit their
            # results first, so nothing that happened is lost and the history ends answered.
            state.conversation.append(message)
            yield Commit(state.conversation)
        _count_output_retry(state, output_error)
    errors = sum(1 for o in outcomes if o.is_error)
    state.tool_error_streak = tool_error_streak(state.tool_error_streak, len(outcomes), errors)
    hit = streak_limit(spec.limits, state.tool_error_streak)
    if hit is not None:
        state.conversation.append(message)
        yield Commit(state.conversation)
        state.check(hit)
    if any(o.stop for o in outcomes):
        state.conversation.append(message)
        yield Commit(state.conversation)
        return state.result("stopped")
    return message


def _output_call(spec: RunSpec, calls: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    if spec.output is None:
        return None
    return next((b for b in calls if b.get("name") == spec.output.tool_name), None)


# -- structured output decisions (pure; shared with the Temporal workflow and activities) -------


def check_output(
    output: OutputSpec, call: Mapping[str, Any]
) -> tuple[Any, dict[str, Any], str | None]:
    """Validate an output-tool call: `(value, tool_result block, error or None)`."""
    try:
        value = output.adapter.validate_python(call.get("input"))
    except ValidationError as exc:
        content = validation_error_content(output.tool_name, exc)
        return None, tool_result(call["id"], content, is_error=True), str(exc)
    return value, tool_result(call["id"], "Final answer received."), None


def output_nudge(tool_name: str) -> dict[str, Any]:
    """The user message sent when the model answered without calling the output tool."""
    text = f"Give your final answer by calling the `{tool_name}` tool."
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def output_exhausted(allowed: int, used: int) -> bool:
    """Whether `used` output retries exceed the `allowed` ones (the run then fails)."""
    return used > allowed


def _count_output_retry(state: _State, why: str) -> None:
    output = state.spec.output
    assert output is not None
    state.output_retries += 1
    if output_exhausted(output.retries, state.output_retries):
        raise OutputValidationError(
            f"no valid output after {output.retries} retries: {why}", result=state.result()
        )


def _prices(spec: RunSpec) -> dict[str, ModelPrice] | None:
    return None if spec.prices is None else dict(spec.prices)


def _stop_reason(conversation: Conversation) -> str | None:
    response = conversation.entries[-1].meta.get("response")
    return response.get("stop_reason") if isinstance(response, dict) else None


def _last_container(conversation: Conversation) -> str | None:
    for entry in reversed(conversation.entries):
        response = entry.meta.get("response")
        if isinstance(response, dict):
            container = response.get("container")
            if isinstance(container, dict) and isinstance(container.get("id"), str):
                return str(container["id"])
            return None
    return None
