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
    # The example runs offline, and says how to point it at Claude instead.
    assert "ANTHROPIC_API_KEY" in blocks[0] and "agentkit.Client()" in blocks[0]
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
    # The 20-line example prints its answer and the cost: the answer is right (the fake is
    # scripted to call add(2, 3) and answer with what the tool returned).
    answer, _, cost = out.stdout.splitlines()[0].rpartition(" ")
    assert re.search(r"\b5\b", answer), out.stdout
    assert float(cost) > 0


def test_readme_names_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    for command in ("scripts/demo", "scripts/test"):
        assert command in text
        assert (ROOT / command).exists()
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_the_test_servers_have_a_folder_per_checkout(tmp_path: Path) -> None:
    """scripts/postgres and scripts/temporal keep their state under $TMPDIR, one folder per
    checkout (two clones on one machine must not share, or stop, each other's server)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTKIT_")}
    env["TMPDIR"] = str(tmp_path / "tmp")
    for script in ("postgres", "temporal"):
        folders = []
        for checkout in ("one", "two"):
            copy = tmp_path / checkout / "scripts" / script
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes((ROOT / "scripts" / script).read_bytes())
            copy.chmod(0o755)
            done = subprocess.run(
                [str(copy), "dir"], capture_output=True, text=True, check=True, env=env
            )
            folders.append(Path(done.stdout.strip()))
        assert folders[0] != folders[1]
        assert all(f.parent == tmp_path / "tmp" for f in folders), folders
        assert all(f.name.startswith(f"agentkit-{script}-") for f in folders), folders
        override = {**env, f"AGENTKIT_{'PG' if script == 'postgres' else 'TEMPORAL'}_DIR": "/x"}
        done = subprocess.run(
            [str(tmp_path / "one" / "scripts" / script), "dir"],
            capture_output=True,
            text=True,
            check=True,
            env=override,
        )
        assert done.stdout.strip() == "/x"
