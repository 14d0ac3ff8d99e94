"""The chat page in a real browser: Debian's Chromium, headless, driven by Playwright.

`scripts/chromium` installs Debian's chromium package when it is missing and prints its path;
Playwright launches that executable (no browser download). Outside CI the tests skip, saying
why, only when Chromium cannot be installed; under CI=true that fails. Screenshots are saved
in test-artifacts/ (or $AGENTKIT_TEST_ARTIFACTS).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from _web import Gate, add, agent_on, delete_file, served
from playwright.sync_api import Browser, Page, expect, sync_playwright

import agentkit
from agentkit.testing import Reply, text, thinking, tool_use
from agentkit.web import create_app

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("AGENTKIT_TEST_ARTIFACTS", ROOT / "test-artifacts"))


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    done = subprocess.run(
        [str(ROOT / "scripts" / "chromium")], capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        message = f"no Chromium: scripts/chromium failed: {done.stderr.strip()[-2000:]}"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=done.stdout.strip(), args=["--no-sandbox"]
        )
        yield launched
        launched.close()


def _page(browser: Browser) -> Page:
    page = browser.new_page(viewport={"width": 1100, "height": 760})
    page.set_default_timeout(20_000)
    return page


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / name)


def test_chat_approve_and_reload(browser: Browser) -> None:
    script = [
        Reply(
            thinking("Adding first, then the deletion needs a yes."),
            text("Let me add them, and ask before deleting."),
            tool_use("add", {"a": 2, "b": 3}, id="toolu_add"),
            tool_use("delete_file", {"name": "old.txt"}, id="toolu_del"),
        ),
        Reply.text("2 + 3 = 5, and old.txt is deleted."),
    ]
    agent, _ = agent_on(
        script,
        [add, delete_file],
        params={"thinking": {"type": "enabled", "budget_tokens": 1024}},
        max_tokens=2048,
    )
    banner = "OFFLINE: the fake Claude answers."
    with served(create_app(agent, banner=banner)) as url:
        page = _page(browser)
        page.goto(url + "/")
        expect(page.locator("#banner")).to_have_text(banner)
        expect(page.locator("#model")).to_have_text("claude-sonnet-4-5")
        page.fill("#input", "Add 2 and 3, then delete old.txt")
        page.press("#input", "Enter")

        approve = page.locator(".tool[data-tool='delete_file'] button.approve")
        expect(approve).to_be_visible()
        expect(page.locator(".msg.user .bubble")).to_have_text("Add 2 and 3, then delete old.txt")
        expect(page.locator(".msg.assistant .text").first).to_have_text(
            "Let me add them, and ask before deleting."
        )
        thought = page.locator(".msg.assistant .reasoning")
        expect(thought).to_have_text("Adding first, then the deletion needs a yes.")
        # Dimmed. `to_have_css` retries: the streamed message is re-rendered as events arrive,
        # and an element read once may be detached by then (its computed style is empty).
        expect(thought).to_have_css("opacity", re.compile(r"^0(\.\d+)?$"))
        added = page.locator(".tool[data-tool='add']")
        expect(added).to_have_attribute("data-state", "output-available")
        added.locator("summary").click()  # a finished call is folded; open it
        expect(added.locator("pre.in")).to_contain_text('"a": 2')
        expect(added.locator("pre.out")).to_have_text("5")
        expect(page.locator("#chats a")).to_have_count(1)
        _shot(page, "web-chat-approval.png")

        approve.click()
        final = page.locator(".msg.assistant .text").last
        expect(final).to_have_text("2 + 3 = 5, and old.txt is deleted.")
        deleted = page.locator(".tool[data-tool='delete_file']")
        expect(deleted).to_have_attribute("data-state", "output-available")
        expect(page.locator("#input")).to_be_enabled()

        page.reload()  # the history comes from the store
        expect(page.locator(".msg.assistant .text").last).to_have_text(
            "2 + 3 = 5, and old.txt is deleted."
        )
        expect(page.locator(".msg.user .bubble")).to_have_text("Add 2 and 3, then delete old.txt")
        expect(page.locator(".tool")).to_have_count(2)
        expect(page.locator(".tool[data-tool='delete_file']")).to_have_attribute(
            "data-state", "output-available"
        )
        expect(page.locator(".approval")).to_have_count(0)
        _shot(page, "web-chat-reloaded.png")
        page.close()


def test_the_input_is_disabled_while_a_turn_runs_and_stop_cancels_it(browser: Browser) -> None:
    gate = Gate()

    @agentkit.tool
    async def slow_lookup(topic: str) -> str:
        """Look a topic up (slowly).

        Args:
            topic: The topic.
        """
        await gate.wait()
        return "found"

    script = [Reply.tool_use("slow_lookup", {"topic": "octopus"}, text="Looking it up.")]
    agent, fake = agent_on(script, [slow_lookup])
    with served(create_app(agent)) as url:
        page = _page(browser)
        page.goto(url + "/")
        page.fill("#input", "Octopuses?")
        page.click("#send")
        expect(page.locator(".msg.assistant .text")).to_have_text("Looking it up.")
        expect(page.locator("#input")).to_be_disabled()
        stop = page.locator("#stop")
        expect(stop).to_be_visible()
        assert gate.entered.wait(20)
        _shot(page, "web-chat-running.png")
        stop.click()
        expect(page.locator(".notice")).to_have_text("Stopped.")
        expect(page.locator("#input")).to_be_enabled()
        expect(stop).to_be_hidden()
        # The stopped call waits for a decision (docs/web.md): run it again, or deny it.
        expect(page.locator(".tool[data-tool='slow_lookup']")).to_have_attribute(
            "data-state", "approval-requested"
        )
        assert len(fake.message_bodies) == 1
        gate.open()
        page.close()


def test_a_second_tab_sees_the_conversation_and_a_reload_mid_answer_follows_it(
    browser: Browser,
) -> None:
    gate = Gate()

    @agentkit.tool
    async def slow_lookup(topic: str) -> str:
        """Look a topic up (slowly).

        Args:
            topic: The topic.
        """
        await gate.wait()
        return "found"

    script = [
        Reply.tool_use("slow_lookup", {"topic": "octopus"}, text="Looking it up."),
        Reply.text("Octopuses have three hearts."),
    ]
    agent, _ = agent_on(script, [slow_lookup])
    with served(create_app(agent)) as url:
        context = browser.new_context(viewport={"width": 1100, "height": 760})
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(url + "/")
        page.fill("#input", "Octopuses?")
        page.press("#input", "Enter")
        assert gate.entered.wait(20)
        page.reload()  # mid-answer: the page follows the live run
        expect(page.locator(".msg.assistant .text").first).to_have_text("Looking it up.")
        expect(page.locator("#input")).to_be_disabled()
        gate.open()
        expect(page.locator(".msg.assistant .text").last).to_have_text(
            "Octopuses have three hearts."
        )
        expect(page.locator(".msg.assistant")).to_have_count(1)  # nothing shown twice
        expect(page.locator("#input")).to_be_enabled()
        context.close()


def test_deny_tells_the_model_and_shows_the_call_denied(browser: Browser) -> None:
    script = [
        Reply.tool_use("delete_file", {"name": "precious.txt"}, text="I'll delete it."),
        Reply.text("All right, I left precious.txt alone."),
    ]
    agent, fake = agent_on(script, [delete_file])
    with served(create_app(agent)) as url:
        page = _page(browser)
        page.goto(url + "/")
        page.fill("#input", "Delete precious.txt")
        page.press("#input", "Enter")
        page.locator(".tool[data-tool='delete_file'] button.deny").click()
        expect(page.locator(".msg.assistant .text").last).to_have_text(
            "All right, I left precious.txt alone."
        )
        denied = page.locator(".tool[data-tool='delete_file']")
        # Live, the protocol's tool-output-denied; after the page reloads its history, the
        # error result the model was given.
        expect(denied).to_have_attribute("data-state", "output-error")
        expect(denied.locator("pre.out")).to_have_text("The user denied this tool call.")
        sent = fake.message_bodies[-1]["messages"][-1]["content"][0]
        assert sent["is_error"] is True
        assert sent["content"] == "The user denied this tool call."
        page.close()
