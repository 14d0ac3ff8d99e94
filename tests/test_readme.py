"""The README's example runs as written (offline, on the fake Claude)."""

import os
import re
import subprocess
import sys
from pathlib import Path

from agentkit.testing import FakeClaude, FakeServer

ROOT = Path(__file__).resolve().parents[1]


def test_readme_code_runs(tmp_path: Path) -> None:
    """Every python block, in order, as one program; `agentkit.Client()` (which reads the key from
    the environment) talks to a fake Claude over loopback HTTP."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    script = tmp_path / "example.py"
    script.write_text("\n".join(blocks))
    with FakeServer(FakeClaude()) as server:
        env = {
            **os.environ,
            "ANTHROPIC_API_KEY": "sk-readme-test",
            "ANTHROPIC_BASE_URL": server.url,
        }
        env.pop("ANTHROPIC_AUTH_TOKEN", None)
        out = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
            env=env,
        )
    assert "add returned" in out.stdout


def test_readme_names_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    for command in ("scripts/demo", "scripts/test"):
        assert command in text
        assert (ROOT / command).exists()
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
