"""A persistent chat: conversations saved in SQLite, with extended thinking, prompt caching and
server-side compaction, resumed by id in a later session.

Every step (each assistant message, each turn's tool results) is committed to the store in one
transaction, exactly as the API sent it: thinking signatures included, so a resumed
conversation is accepted by the API.

Run it: `python examples/persistent_chat.py [DB_FILE]` (offline on the fake Claude without
ANTHROPIC_API_KEY). Run it twice with the same file: the second run continues the same chat.
"""

import os
import sys
import tempfile
from pathlib import Path

import agentkit
from agentkit.stores import SQLiteStore


def make_client() -> agentkit.Client:
    """Claude when a key is set; otherwise the fake Claude, which needs no network."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        return agentkit.Client()
    from agentkit.testing import FakeClaude

    print("(no ANTHROPIC_API_KEY: using the fake Claude in test-model mode)")
    # A fixed secret: the fake signs thinking blocks, and a later run must accept them.
    fake = FakeClaude(secret=b"persistent-chat-example")
    return agentkit.Client(api_key="offline", http_client=fake.http_client())


def make_agent(store: SQLiteStore) -> agentkit.Agent:
    return agentkit.Agent(
        "claude-sonnet-4-5",
        system="You are a concise assistant. Remember what the user tells you.",
        client=make_client(),
        store=store,  # every step is committed here as it happens
        max_tokens=8000,
        # Extended thinking: the thinking blocks are kept verbatim and sent back.
        params={
            "thinking": {"type": "enabled", "budget_tokens": 2000},
            # Server-side compaction: once the input passes 100k tokens the API summarizes the
            # older turns into a `compaction` block; agentkit stores it and sends only what follows.
            "context_management": {
                "edits": [
                    {
                        "type": "compact_20260112",
                        "trigger": {"type": "input_tokens", "value": 100_000},
                    }
                ]
            },
        },
        betas=["compact-2026-01-12"],
        cache="auto",  # prompt caching: each request marks the end of the history as cacheable
    )


def main() -> None:
    db = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "chat.db"
    with SQLiteStore(db) as store:
        saved = store.list(limit=1)
        agent = make_agent(store)
        if saved:  # a later session: continue the most recent conversation by its id
            conversation_id = saved[0].id
            result = agent.run("What was my favourite colour?", conversation=conversation_id)
            print(f"resumed {conversation_id}")
        else:
            result = agent.run("Hi! My favourite colour is teal.")
            result = agent.run("Suggest a name for a teal boat.", conversation=result.conversation)
            print(f"started {result.conversation.id}")
        thinking = [b.thinking for b in result.message.content if b.type == "thinking"]
        print(f"thinking: {thinking[0] if thinking else '(none)'}")
        print(f"answer: {result.text}")
        usage = result.usage
        read, written = usage.cache_read_input_tokens, usage.cache_creation_input_tokens
        print(f"cache: {read} tokens read, {written} written")
        print(f"stored messages: {len(store.load(result.conversation.id))} in {db}")


if __name__ == "__main__":
    main()
