"""The agent loop, written once: a generator of typed effects that every driver performs.

The loop decides; it never does I/O and never holds content. It yields an effect ("call the
model", "run these tool calls", "commit a user message", ...) and receives the effect's result,
the way httpx's `Auth.auth_flow` yields requests. Each effect is an `Effect[T]` whose result is
a `T`, so `reply = yield from CallModel(...)` is typed. Results are small values (stop reason,
tool call ids, usage): the conversation's content stays with the driver, which is what lets the
same loop run in process (`_core.py` with its sync and async shells, and the batch runner)
and as a durable Temporal workflow whose effects are activities (`agentkit.temporal`).
Everything here is tested without HTTP (tests/test_loop.py).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, cast

from pydantic_core import ValidationError
from typing_extensions import Self, TypeVar

from .._exceptions import ConfigurationError, LimitExceededError, OutputValidationError
from .._options import check_number, strict_init
from ..conversation._cache import CachePolicy
from ..tools._execute import Approval, OutcomeStatus, ToolCall, ToolOutcome
from ..tools._tool import tool_result
from ..types._usage import ModelPrice, RunUsage
from ._events import CacheMissed, RunStatus, TurnFinished

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from ..types._message import Message

__all__ = [
    "CONTINUE_PROMPT",
    "CUT_OFF_RESULT",
    "STOP_ACTIONS",
    "Answer",
    "CallModel",
    "CheckOutput",
    "CommitUser",
    "Effect",
    "Emit",
    "LimitHit",
    "Limits",
    "LoadJournal",
    "Loop",
    "LoopEffect",
    "LoopEnd",
    "Open",
    "Opening",
    "OutputCheck",
    "OutputSpec",
    "Reply",
    "RunSpec",
    "RunTools",
    "ToolReport",
    "Totals",
    "agent_loop",
    "budget_limit",
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


@strict_init
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

    def __post_init__(self) -> None:
        # None means "no limit". A count below 1 would stop every run before its first call; a
        # budget of 0 is a real one (the run stops after the first turn that uses any).
        for name in ("max_turns", "max_consecutive_tool_errors"):
            check_number("Limits()", name, getattr(self, name), minimum=1, inclusive=True)
        for name in ("max_input_tokens", "max_output_tokens", "max_total_tokens", "max_cost_usd"):
            check_number("Limits()", name, getattr(self, name), inclusive=True)


# -- limit decisions (pure) ---------------------------------------------------------------------


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
    """Structured output: the API's `output_config.format`, or a final-answer tool.

    Attributes:
        type: What the answer validates as (a pydantic model, dataclass, TypedDict ...).
        tool_name: The tool the model calls with its answer (when not `native`).
        retries: Extra chances after an invalid or missing answer.
        native: The request carries the schema as `output_config.format` (structured outputs):
            the final reply's text is the answer, as JSON; no output tool is offered.
    """

    # A type form (a class, a TypedDict, `list[int]` ...): pydantic accepts any of them.
    type: Any
    tool_name: str = "final_result"
    retries: int = 2
    native: bool = False

    @property
    def adapter(self) -> TypeAdapter[object]:
        """Validates the tool input (or, `native`, the reply's JSON text)."""
        from pydantic import TypeAdapter  # pydantic's model machinery loads on first use

        return TypeAdapter(self.type)


def text_output(output: OutputSpec, text: str | None) -> tuple[object, str | None]:
    """A native structured output's value from the final reply's text (pure).

    Returns:
        `(value, None)`, or `(None, why)` when the text is missing or does not validate.
    """
    if not text:
        return None, "the reply holds no text to read the answer from"
    try:
        return output.adapter.validate_json(text), None
    except ValidationError as exc:
        # Field paths and messages only: the same words whatever names the type (a durable run
        # checks the JSON without it), and no link to pydantic's docs.
        problems = [
            f"{'.'.join(map(str, e['loc'])) or 'the answer'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
        return None, "; ".join(problems)


def output_fix(why: str) -> list[dict[str, Any]]:
    """The user message's content after a native structured answer that did not validate."""
    note = f"Your answer did not match the required format ({why[:500]}). Answer again."
    return [{"type": "text", "text": note}]


@dataclass(frozen=True)
class RunSpec:
    """One run's settings: what the loop decides with and what the driver sends with.

    The `Agent` builds it (`Agent.spec`), and the drivers receive it; the loop reads `limits`,
    `output`, `approvals` and `on_max_tokens`, a driver the request fields.

    Attributes:
        params: Request fields except `messages` (model, max_tokens, system, tools ...).
        cache: The prompt-cache policy.
        betas: Beta names (for preflight rules that depend on them, and the header).
        preflight: Check each request against the documented rules before sending.
        limits: The run's budgets.
        prices: Price table overrides.
        output: Structured output, if asked for.
        approvals: Decisions on calls that wait for a human, by tool_use id.
        on_max_tokens: `"stop"`, or `"continue"` to ask the model to go on.
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

    @property
    def price_table(self) -> dict[str, ModelPrice] | None:
        """`prices` as `RunUsage.add` takes them."""
        return None if self.prices is None else dict(self.prices)


@dataclass(frozen=True, slots=True)
class Totals:
    """The loop's running totals; a durable driver carries them over a restart of the loop."""

    turns: int = 0
    usage: RunUsage = field(default_factory=RunUsage)
    tool_error_streak: int = 0
    output_retries: int = 0

    # Built directly: `dataclasses.replace` costs several times as much, every turn.
    def after_turn(self, usage: RunUsage) -> Totals:
        """The totals after one more model call that brought the run's usage to `usage`."""
        return Totals(self.turns + 1, usage, self.tool_error_streak, self.output_retries)

    def with_streak(self, streak: int) -> Totals:
        """The totals with this many tool errors in a row."""
        return Totals(self.turns, self.usage, streak, self.output_retries)


# -- effects and their results ------------------------------------------------------------------

ResultT = TypeVar("ResultT", covariant=True)


class Effect(Generic[ResultT]):
    """Something the loop asks its driver to do; the driver answers with a `ResultT`.

    `result = yield from effect` yields the effect and returns the driver's answer, typed.
    """

    __slots__ = ()

    def __iter__(self) -> Generator[Self, object, ResultT]:
        result = yield self
        # The one place the driver's answer is trusted: each driver's `match` arm answers the
        # effect it matched with that effect's result type (tests/test_loop.py steps them).
        return cast("ResultT", result)


@dataclass(frozen=True, slots=True)
class Opening:
    """Where the conversation stands when a run starts.

    Attributes:
        stop_reason: The last message's stop reason (None for a user message, or an assistant
            message built by hand).
        pending: The tool calls of the last message when it is an assistant message.
        container: The code-execution container of the latest response, if any.
        empty: The conversation holds no message yet.
        reply: The last message when it is a response (for a run that finds the conversation
            ended: it returns this reply instead of calling the model again), or the response
            before it when that is `answered_output`'s.
        answered_output: The output tool's call when the last message accepted it (a
            structured-output run that ended).
    """

    stop_reason: str | None = None
    pending: list[ToolCall] = field(default_factory=list)
    container: str | None = None
    empty: bool = False
    reply: Reply | None = None
    answered_output: ToolCall | None = None


@dataclass(frozen=True, slots=True)
class Open(Effect[Opening]):
    """Report where the conversation stands."""


@dataclass(frozen=True, slots=True)
class LoadJournal(Effect[frozenset[str]]):
    """The ids of the pending calls whose results are journaled already (they are not rerun)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What the loop decides with after a model call; the message itself stays with the driver.

    Attributes:
        stop_reason: As the API sent it (also unknown ones).
        calls: The response's `tool_use` calls, in order.
        usage: This call's tokens and cost.
        container: The response's code-execution container id, if any.
        text: The response's text.
        message: The message, where the driver holds it in memory (for `TurnFinished`).
    """

    stop_reason: str | None
    calls: list[ToolCall]
    usage: RunUsage
    container: str | None = None
    text: str = ""
    message: Message | None = None


@dataclass(frozen=True, slots=True)
class CallModel(Effect[Reply]):
    """Call the model on the conversation and commit its response as one step.

    The driver builds the request from `RunSpec.params` (plus `container` when the params set
    none), runs the model hooks, and appends and commits the response before answering.
    """

    container: str | None
    totals: Totals


@dataclass(frozen=True, slots=True)
class ToolReport:
    """What became of one call, as the loop needs it (the result block stays with the driver)."""

    id: str
    status: OutcomeStatus
    stop: bool = False

    @property
    def is_error(self) -> bool:
        """Whether the model is told the call failed or was refused."""
        return self.status in ("error", "denied")


@dataclass(frozen=True, slots=True)
class RunTools(Effect[list[ToolReport]]):
    """Run these calls (concurrently, journaling each result); the result is their reports."""

    calls: list[ToolCall]
    approvals: Mapping[str, Approval]
    turn: int
    usage: RunUsage


@dataclass(frozen=True, slots=True)
class OutputCheck:
    """A validated final answer (`error` None), or why it did not validate."""

    value: object = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CheckOutput(Effect[OutputCheck]):
    """Validate the output tool's call, and keep its `tool_result` with the turn's results."""

    call: ToolCall
    output: OutputSpec


Answer = Literal["results", "cut_off", "none"]


@dataclass(frozen=True, slots=True)
class CommitUser(Effect[None]):
    """Append one user message and commit it as one step.

    Attributes:
        answer: What answers the pending calls first: `"results"` (their results, run or
            journaled), `"cut_off"` (an error result for each: max_tokens cut them off) or
            `"none"`.
        blocks: Content blocks after the answers (a prompt, a nudge).
        with_reply: Commit the message together with the model's reply to it, as one step (a
            run's prompt: a run that fails before the reply stores neither, so a prompt is
            never left unanswered in the history).
    """

    answer: Answer
    blocks: list[dict[str, Any]] = field(default_factory=list)
    with_reply: bool = False


@dataclass(frozen=True, slots=True)
class Emit(Effect[None]):
    """Hand an event to whoever streams the run."""

    event: TurnFinished | CacheMissed


LoopEffect: TypeAlias = Open | LoadJournal | CallModel | RunTools | CheckOutput | CommitUser | Emit
"""Every effect the loop yields; a driver `match`es on it and ends with `assert_never`."""


@dataclass(frozen=True, slots=True)
class LoopEnd:
    """How a loop ended; each driver makes its own result of it (`RunResult`, `RunOutput`).

    Attributes:
        status: How the run ended.
        totals: The totals at the end.
        stop_reason: The last response's stop reason.
        text: The last response's text.
        output: The validated output (`RunSpec.output`), else the last response's text.
        pending: Calls waiting for approval.
        limit: The limit that ended the run, when one did (carried by the raised error).
    """

    status: RunStatus
    totals: Totals
    stop_reason: str | None = None
    text: str | None = None
    output: object = None
    pending: list[ToolCall] = field(default_factory=list)
    limit: str | None = None


Loop: TypeAlias = Generator[LoopEffect, object, LoopEnd]


# -- the loop -----------------------------------------------------------------------------------


class _State:
    """The loop's running values (private to one run)."""

    def __init__(self, spec: RunSpec, totals: Totals) -> None:
        self.spec = spec
        self.totals = totals
        self.reply: Reply | None = None
        self.output: object = None
        self.has_output = False
        self.container: str | None = None

    def end(
        self,
        status: RunStatus = "complete",
        pending: list[ToolCall] | None = None,
        limit: str | None = None,
    ) -> LoopEnd:
        reply = self.reply
        output = self.output
        if not self.has_output and self.spec.output is None and reply is not None:
            output = reply.text
        return LoopEnd(
            status=status,
            totals=self.totals,
            stop_reason=reply.stop_reason if reply is not None else None,
            text=reply.text if reply is not None else None,
            output=output,
            pending=pending or [],
            limit=limit,
        )

    def check(self, hit: LimitHit | None) -> None:
        if hit is not None:
            raise LimitExceededError(hit.name, hit.message, result=self.end(limit=hit.name))

    def count_output_retry(self, why: str) -> None:
        output = self.spec.output
        assert output is not None
        self.totals = replace(self.totals, output_retries=self.totals.output_retries + 1)
        if output_exhausted(output.retries, self.totals.output_retries):
            raise OutputValidationError(
                f"no valid output after {output.retries} retries: {why}", result=self.end()
            )


def agent_loop(
    spec: RunSpec,
    prompt: list[dict[str, Any]] | None,
    totals: Totals | None = None,
    *,
    events: bool = True,
) -> Loop:
    """Run the tool loop until the stop reason says stop.

    Args:
        spec: The run's settings.
        prompt: Content blocks of the new user message, or None to continue the conversation
            (after approvals, a crash, or a paused turn).
        totals: Totals to start from (a durable run restarting its loop); zero by default.
        events: Emit `TurnFinished` after each reply; False for a driver nobody reads events
            from (`run()`), which then is not made.

    Returns:
        How the run ended (the generator's return value).

    Raises:
        LimitExceededError: A budget ran out; `.result` holds the `LoopEnd` so far.
        OutputValidationError: Structured output never validated (`.result` likewise).
        ConfigurationError: A new prompt came while tool calls await approval.
    """
    state = _State(spec, totals or Totals())
    opening = yield from Open()
    state.container = opening.container
    if opening.empty and not prompt:
        raise ConfigurationError(
            "the conversation holds no messages, so there is nothing to resume (a run that "
            "crashed before its first reply stores nothing): run it with a prompt"
        )
    if not prompt and _ended(spec, opening):
        # Resuming a run that finished: its answer is stored, and asking again would pay for a
        # second answer (with the first one as a prefill).
        state.reply = opening.reply
        return state.end()
    if not prompt and _native_ended(spec, opening):
        assert spec.output is not None and opening.reply is not None
        value, why = text_output(spec.output, opening.reply.text)
        if why is None:  # a native structured-output run that ended: its answer is stored
            state.reply = opening.reply
            state.output, state.has_output = value, True
            return state.end()
    if not prompt and opening.answered_output is not None and spec.output is not None:
        check = yield from CheckOutput(opening.answered_output, spec.output)
        if check.error is None:  # a structured-output run that ended: its answer is stored
            state.reply = opening.reply
            state.output, state.has_output = check.value, True
            return state.end()
    answer: Answer = "none"
    if opening.pending and opening.stop_reason in ("tool_use", None):
        # A previous run stopped after the model asked for tools (approval, crash): finish them.
        # A history built by hand carries no stop reason; its tool calls are taken as asked for.
        journaled = yield from LoadJournal()
        end = yield from _tool_step(state, opening.pending, journaled)
        if end is not None:
            if prompt and end.status == "awaiting_approval":
                # The new message cannot be sent before the calls are answered; dropping it
                # silently would lose it.
                ids = ", ".join(c.id for c in end.pending)
                raise ConfigurationError(
                    f"tool calls await approval ({ids}): pass approvals= for them before "
                    "sending a new message"
                )
            return end
        # The tool results (and the new prompt, if any) form the next user message.
        answer = "results"
    elif opening.pending:
        # The turn was cut off (max_tokens) or abandoned: answer without running anything.
        answer = "cut_off"
    if answer != "none" or prompt:
        yield from CommitUser(answer, list(prompt or []), with_reply=bool(prompt))
        if state.has_output and not prompt:
            # The resumed turn held a valid answer: the run is done, the model has nothing to add.
            return state.end()

    while True:
        state.check(turn_limit(spec.limits, state.totals.turns))
        reply = yield from CallModel(state.container, state.totals)
        usage = state.totals.usage + reply.usage
        state.totals = state.totals.after_turn(usage)
        state.reply = reply
        if reply.container is not None:
            state.container = reply.container
        if events and reply.message is not None:
            yield from Emit(TurnFinished(reply.message, state.totals.usage))
        state.check(budget_limit(spec.limits, state.totals.usage))

        action = next_action(reply.stop_reason)
        if action == "run_tools" and reply.calls:
            end = yield from _tool_step(state, reply.calls, frozenset())
            if end is not None:
                return end
            yield from CommitUser("results")
            if state.has_output:
                return state.end()
            continue
        if action == "continue":
            continue
        if spec.on_max_tokens == "continue" and reply.stop_reason == "max_tokens":
            yield from CommitUser("cut_off", [{"type": "text", "text": CONTINUE_PROMPT}])
            continue
        if spec.output is not None and spec.output.native:
            value, why = text_output(spec.output, reply.text)
            if why is None:
                state.output, state.has_output = value, True
                return state.end()
            state.count_output_retry(why)
            yield from CommitUser("none", output_fix(why))
            continue
        if spec.output is not None and not state.has_output:
            state.count_output_retry("the model answered without calling the output tool")
            yield from CommitUser("none", output_nudge(spec.output.tool_name)["content"])
            continue
        return state.end()


def _ended(spec: RunSpec, opening: Opening) -> bool:
    """Whether the conversation's last response ended the run (a resume has nothing to do)."""
    reply = opening.reply
    if reply is None or opening.pending or spec.output is not None:
        return False
    if spec.on_max_tokens == "continue" and reply.stop_reason == "max_tokens":
        return False
    return next_action(reply.stop_reason) == "stop"


def _native_ended(spec: RunSpec, opening: Opening) -> bool:
    """Whether a native structured-output run's last reply ended it (its text is the answer)."""
    output, reply = spec.output, opening.reply
    if output is None or not output.native or reply is None or opening.pending:
        return False
    return next_action(reply.stop_reason) == "stop"


def _tool_step(
    state: _State, calls: Sequence[ToolCall], journaled: frozenset[str]
) -> Generator[LoopEffect, object, LoopEnd | None]:
    """Run the calls that have no result yet; the driver then holds a result for every call.

    Returns a `LoopEnd` when the run ends here (approvals pending, or a tool stopped the run;
    the results are committed already then), else None: the caller commits the results.
    """
    spec = state.spec
    output = spec.output
    output_call = next(
        (c for c in calls if output and not output.native and c.name == output.tool_name), None
    )
    to_run = [c for c in calls if c.id not in journaled and c is not output_call]
    reports: list[ToolReport] = []
    if to_run:
        totals = state.totals
        reports = yield from RunTools(to_run, spec.approvals, totals.turns, totals.usage)
    deferred = {r.id for r in reports if r.status == "deferred"}
    if deferred:
        return state.end("awaiting_approval", [c for c in to_run if c.id in deferred])
    if output_call is not None and output is not None:
        check = yield from CheckOutput(output_call, output)
        if check.error is None:
            state.output, state.has_output = check.value, True
        else:
            if output_exhausted(output.retries, state.totals.output_retries + 1):
                # The run fails here, but the other calls of the turn have run: commit their
                # results first, so nothing that happened is lost and the history ends answered.
                yield from CommitUser("results")
            state.count_output_retry(check.error)
    errors = sum(1 for r in reports if r.is_error)
    streak = tool_error_streak(state.totals.tool_error_streak, len(reports), errors)
    state.totals = state.totals.with_streak(streak)
    hit = streak_limit(spec.limits, streak)
    if hit is not None:
        yield from CommitUser("results")
        state.check(hit)
    if any(r.stop for r in reports) or (
        journaled and any(stop_marker(c.id) in journaled for c in calls)
    ):
        # A journaled call that stopped the run (before a crash) stops the resumed run too.
        yield from CommitUser("results")
        return state.end("stopped")
    return None


def stop_marker(tool_use_id: str) -> str:
    """The journal key recording that the call `tool_use_id` stopped the run (`StopRun`).

    The journal keeps `tool_result` blocks by `tool_use_id`; this key is no API id, so the
    message answering the calls, which takes the pending calls' ids only, never carries it.
    """
    return f"agentkit-stop/{tool_use_id}"


def journal_entries(outcome: ToolOutcome) -> list[dict[str, object]]:
    """What to journal for a finished call, in order: a stop marker when it stopped the run,
    then its result (a marker without its result only means the call runs again, and stops)."""
    if outcome.result is None:
        return []
    if not outcome.stop:
        return [outcome.result]
    return [tool_result(stop_marker(outcome.call.id), "the tool stopped the run"), outcome.result]


# -- structured output decisions (pure) ---------------------------------------------------------


def output_nudge(tool_name: str) -> dict[str, Any]:
    """The user message sent when the model answered without calling the output tool."""
    text = f"Give your final answer by calling the `{tool_name}` tool."
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def output_exhausted(allowed: int, used: int) -> bool:
    """Whether `used` output retries exceed the `allowed` ones (the run then fails)."""
    return used > allowed
