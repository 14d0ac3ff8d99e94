"""The README's example runs as written (offline, on the fake Claude)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_example_runs(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text()
    example = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    script = tmp_path / "example.py"
    script.write_text(example)
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=120
    )
    assert "add returned" in out.stdout


def test_readme_names_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    for command in ("scripts/demo", "scripts/test"):
        assert command in text
        assert (ROOT / command).exists()
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
