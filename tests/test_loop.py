"""The pure agent loop, stepped by hand: no HTTP, no store, no driver.

Each test sends the loop the results a driver would (a `Reply` for `CallModel`, reports for
`RunTools` ...) and asserts the next effect it yields, or how it ends.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import LimitExceededError, Limits, OutputValidationError
from agentkit.runner._loop import (
    CONTINUE_PROMPT,
    CallModel,
    CheckOutput,
    CommitUser,
    Emit,
    LoadJournal,
    Loop,
    LoopEffect,
    LoopEnd,
    Open,
    Opening,
    OutputCheck,
    OutputSpec,
    Reply,
    RunSpec,
    RunTools,
    ToolReport,
    agent_loop,
)
from agentkit.tools import Deny, ToolCall
from agentkit.types import RunUsage

PROMPT = [{"type": "text", "text": "hi"}]


def call(name: str = "add", id: str = "toolu_1", **input: Any) -> ToolCall:
    block = {"type": "tool_use", "id": id, "name": name, "input": input}
    return ToolCall.from_block(block)


def reply(
    stop_reason: str | None,
    *calls: ToolCall,
    text: str = "",
    tokens: int = 10,
    container: str | None = None,
) -> Reply:
    usage = RunUsage().add({"input_tokens": tokens, "output_tokens": tokens}, "claude-haiku-4-5")
    return Reply(stop_reason, list(calls), usage, container, text)


class Stepper:
    """Drives a loop by hand, one effect at a time."""

    def __init__(self, loop: Loop) -> None:
        self.loop = loop
        self.effect: LoopEffect = next(loop)
        self.end: LoopEnd | None = None

    def send(self, value: object = None) -> LoopEffect | None:
        try:
            self.effect = self.loop.send(value)
        except StopIteration as stop:
            self.end = stop.value
            return None
        return self.effect


def started(
    spec: RunSpec | None = None, opening: Opening | None = None, prompt: Any = PROMPT
) -> Stepper:
    """A loop past `Open` (and the prompt's commit), at its first `CallModel`."""
    s = Stepper(agent_loop(spec or RunSpec(params={}), prompt))
    assert isinstance(s.effect, Open)
    effect = s.send(opening or Opening())
    if prompt:
        assert effect == CommitUser("none", PROMPT, with_reply=True)
        effect = s.send()
    return s


def after_model(s: Stepper, r: Reply) -> LoopEffect | None:
    """Answer the `CallModel` with `r`, passing the `TurnFinished` emit if any."""
    assert isinstance(s.effect, CallModel)
    return s.send(r)


def test_tool_use_runs_the_tools_then_commits_their_results() -> None:
    s = started()
    assert s.effect == CallModel(None, s.effect.totals) and s.effect.totals.turns == 0
    effect = after_model(s, reply("tool_use", call(a=1)))
    assert isinstance(effect, RunTools)
    assert [c.id for c in effect.calls] == ["toolu_1"] and effect.turn == 1
    assert s.send([ToolReport("toolu_1", "ok")]) == CommitUser("results")
    effect = s.send()
    assert isinstance(effect, CallModel) and effect.totals.turns == 1


def test_end_turn_stops_with_the_text() -> None:
    s = started()
    assert after_model(s, reply("end_turn", text="done")) is None
    assert s.end is not None
    assert (s.end.status, s.end.stop_reason, s.end.output) == ("complete", "end_turn", "done")
    assert s.end.totals.turns == 1 and s.end.totals.usage.input_tokens == 10


def test_pause_turn_calls_the_model_again_unchanged() -> None:
    s = started()
    effect = after_model(s, reply("pause_turn"))
    # No user message in between: the paused turn goes back as it is.
    assert isinstance(effect, CallModel) and effect.totals.turns == 1


def test_max_tokens_never_runs_the_cut_tool_call() -> None:
    s = started()
    assert after_model(s, reply("max_tokens", call(a=1))) is None
    assert s.end is not None and s.end.stop_reason == "max_tokens"


def test_max_tokens_continue_answers_the_cut_call_and_asks_to_go_on() -> None:
    s = started(RunSpec(params={}, on_max_tokens="continue"))
    effect = after_model(s, reply("max_tokens", call(a=1)))
    assert effect == CommitUser("cut_off", [{"type": "text", "text": CONTINUE_PROMPT}])
    assert isinstance(s.send(), CallModel)


def test_unknown_stop_reason_stops_and_shows_it() -> None:
    s = started()
    assert after_model(s, reply("a_reason_from_the_future", call(a=1))) is None
    assert s.end is not None and s.end.stop_reason == "a_reason_from_the_future"


def test_the_container_of_a_reply_goes_into_the_next_call() -> None:
    s = started(opening=Opening(container="c_old"))
    assert isinstance(s.effect, CallModel) and s.effect.container == "c_old"
    effect = after_model(s, reply("pause_turn", container="c_new"))
    assert isinstance(effect, CallModel) and effect.container == "c_new"


def test_turn_limit_raises_before_the_next_call() -> None:
    s = started(RunSpec(params={}, limits=Limits(max_turns=1)))
    with pytest.raises(LimitExceededError) as caught:
        after_model(s, reply("pause_turn"))
    assert caught.value.limit == "max_turns"
    assert isinstance(caught.value.result, LoopEnd) and caught.value.result.totals.turns == 1


@pytest.mark.parametrize(
    ("limits", "name"),
    [
        (Limits(max_output_tokens=5), "max_output_tokens"),
        (Limits(max_input_tokens=5), "max_input_tokens"),
        (Limits(max_total_tokens=15), "max_total_tokens"),
        (Limits(max_cost_usd=0.0), "max_cost_usd"),
    ],
)
def test_token_and_cost_budgets_raise_after_the_call(limits: Limits, name: str) -> None:
    s = started(RunSpec(params={}, limits=limits))
    with pytest.raises(LimitExceededError) as caught:
        after_model(s, reply("end_turn", tokens=10))
    assert caught.value.limit == name


def test_a_streak_of_failing_tool_turns_commits_then_raises() -> None:
    s = started(RunSpec(params={}, limits=Limits(max_consecutive_tool_errors=1)))
    for turn in range(2):
        effect = after_model(s, reply("tool_use", call(id=f"t{turn}")))
        assert isinstance(effect, RunTools)
        effect = s.send([ToolReport(f"t{turn}", "error")])
        assert effect == CommitUser("results")  # the results are committed either way
        if turn == 0:
            assert isinstance(s.send(), CallModel)
    with pytest.raises(LimitExceededError) as caught:
        s.send()
    assert caught.value.limit == "max_consecutive_tool_errors"


def test_a_turn_with_one_success_resets_the_streak() -> None:
    s = started(RunSpec(params={}, limits=Limits(max_consecutive_tool_errors=1)))
    for turn, status in enumerate(["error", "ok", "error"]):
        after_model(s, reply("tool_use", call(id=f"t{turn}")))
        assert s.send([ToolReport(f"t{turn}", status)]) == CommitUser("results")  # type: ignore[arg-type]
        assert isinstance(s.send(), CallModel)


def test_deferred_calls_end_the_run_awaiting_approval() -> None:
    first, second = call(id="t1"), call(id="t2")
    s = started()
    after_model(s, reply("tool_use", first, second))
    assert s.send([ToolReport("t1", "ok"), ToolReport("t2", "deferred")]) is None
    assert s.end is not None and s.end.status == "awaiting_approval"
    assert [c.id for c in s.end.pending] == ["t2"]  # nothing was committed


def test_resume_runs_only_the_calls_without_a_journaled_result() -> None:
    approvals = {"t2": Deny("no")}
    s = Stepper(agent_loop(RunSpec(params={}, approvals=approvals), None))
    pending = [call(id="t1"), call(id="t2")]
    assert isinstance(s.send(Opening("tool_use", pending)), LoadJournal)
    effect = s.send(frozenset({"t1"}))
    assert isinstance(effect, RunTools)
    assert [c.id for c in effect.calls] == ["t2"] and effect.approvals == approvals
    assert s.send([ToolReport("t2", "denied")]) == CommitUser("results", [])
    assert isinstance(s.send(), CallModel)


def test_a_new_prompt_while_calls_await_approval_is_refused() -> None:
    from agentkit import ConfigurationError

    s = Stepper(agent_loop(RunSpec(params={}), PROMPT))
    s.send(Opening("tool_use", [call(id="t1")]))
    s.send(frozenset())
    with pytest.raises(ConfigurationError, match="await approval"):
        s.send([ToolReport("t1", "deferred")])


def test_calls_cut_off_before_a_restart_are_answered_without_running() -> None:
    s = Stepper(agent_loop(RunSpec(params={}), PROMPT))
    effect = s.send(Opening("max_tokens", [call(id="t1")]))
    assert effect == CommitUser("cut_off", PROMPT, with_reply=True)


class Answer(BaseModel):
    city: str


def test_structured_output_nudges_then_retries_then_fails() -> None:
    output = OutputSpec(Answer, retries=1)
    s = started(RunSpec(params={}, output=output))
    # No output call: the loop asks for one.
    effect = after_model(s, reply("end_turn", text="Oslo"))
    assert isinstance(effect, CommitUser) and effect.answer == "none"
    assert "final_result" in effect.blocks[0]["text"]
    assert isinstance(s.send(), CallModel)
    # An invalid answer is checked (not run as a tool), and the retries run out.
    answer = call("final_result", id="f1", town="Oslo")
    effect = after_model(s, reply("tool_use", answer))
    assert effect == CheckOutput(answer, output)
    assert s.send(OutputCheck(error="city: field required")) == CommitUser("results")
    with pytest.raises(OutputValidationError, match="city: field required"):
        s.send()


def test_a_valid_answer_ends_the_run_with_it() -> None:
    output = OutputSpec(Answer)
    s = started(RunSpec(params={}, output=output))
    answer = call("final_result", id="f1", city="Oslo")
    other = call(id="t1")
    effect = after_model(s, reply("tool_use", other, answer))
    assert isinstance(effect, RunTools) and [c.id for c in effect.calls] == ["t1"]
    assert s.send([ToolReport("t1", "ok")]) == CheckOutput(answer, output)
    assert s.send(OutputCheck(Answer(city="Oslo"))) == CommitUser("results")
    assert s.send() is None
    assert s.end is not None and s.end.output == Answer(city="Oslo")


def test_a_tool_that_stops_the_run_commits_its_results_first() -> None:
    s = started()
    after_model(s, reply("tool_use", call(id="t1")))
    assert s.send([ToolReport("t1", "ok", stop=True)]) == CommitUser("results")
    assert s.send() is None
    assert s.end is not None and s.end.status == "stopped"


def test_the_reply_message_is_emitted_when_the_driver_holds_it_and_reads_events() -> None:
    from agentkit.types import Message

    message = Message.model_validate(
        {
            "id": "m",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5",
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
    )
    s = started()
    r = reply("end_turn", text="hi")
    effect = after_model(s, Reply(r.stop_reason, [], r.usage, None, "hi", message))
    assert isinstance(effect, Emit) and effect.event.message is message
    assert effect.event.usage == r.usage
    assert s.send() is None

    # A driver that reads no events (`run()`) gets none: the turn ends without an Emit.
    quiet = Stepper(agent_loop(RunSpec(params={}), PROMPT, events=False))
    quiet.send(Opening())
    quiet.send()
    assert isinstance(quiet.effect, CallModel)
    assert quiet.send(Reply(r.stop_reason, [], r.usage, None, "hi", message)) is None
    assert quiet.end is not None and quiet.end.text == "hi"
