"""Human approval: a dangerous tool waits for a person before it runs.

A tool declared with `requires_approval=True` is not run when the model calls it: the run
returns with status "awaiting_approval" and the pending calls. You decide (Allow or Deny) and
continue the same conversation; a denied call reaches the model as an error result.

Run it: `python examples/human_approval.py` and answer y or n
(offline on the fake Claude without ANTHROPIC_API_KEY).
"""

import os

import agentkit
import agentkit.tools

FILES = {"report.txt": "Q3 numbers", "old-draft.txt": "obsolete"}


@agentkit.tool
def list_files() -> list[str]:
    """List the files in the workspace."""
    return sorted(FILES)


@agentkit.tool(requires_approval=True)
def delete_file(path: str = "old-draft.txt") -> str:
    """Delete a file from the workspace (a person must approve each call).

    Args:
        path: The file name.
    """
    if FILES.pop(path, None) is None:
        raise agentkit.ToolError(f"no file {path!r}")
    return f"deleted {path}"


def make_client() -> agentkit.Client:
    """Claude when a key is set; otherwise the fake Claude, which needs no network."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        return agentkit.Client()
    from agentkit.testing import FakeClaude

    print("(no ANTHROPIC_API_KEY: using the fake Claude in test-model mode)")
    return agentkit.Client(api_key="offline", http_client=FakeClaude().http_client())


def main() -> None:
    agent = agentkit.Agent(
        "claude-sonnet-4-5", tools=[list_files, delete_file], client=make_client()
    )
    result = agent.run("Clean up the workspace: delete old-draft.txt.")

    while result.status == "awaiting_approval":
        approvals: dict[str, agentkit.tools.Approval] = {}
        for call in result.pending:
            answer = input(f"Allow {call.name}({call.input})? [y/N] ").strip().lower()
            approvals[call.id] = (
                agentkit.Allow() if answer == "y" else agentkit.Deny("the user said no")
            )
        # Continue the same conversation with the decisions; approved calls run now.
        result = agent.run(conversation=result.conversation, approvals=approvals)

    print(result.text)
    print(f"files left: {sorted(FILES)}")


if __name__ == "__main__":
    main()
