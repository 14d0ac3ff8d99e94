"""Cold import time: median wall time of N fresh interpreters for each import statement.

`import agentkit` is lazy (PEP 562): it loads nothing until a name is used. The table also shows
what using the client and the agent costs (`from agentkit import Client, Agent` imports httpx,
pydantic and the runner), next to `import httpx, pydantic` alone and the official SDK (from
benchmarks/.venv-bench when it exists). Each figure subtracts an empty interpreter's start-up.

Run: `python benchmarks/bench_import.py [-n 10]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cold(python: str, statement: str, n: int) -> float:
    """Median seconds of `python -c statement` over n fresh processes (start-up included)."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run([python, "-c", statement], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=10)
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = [
        ("import agentkit", sys.executable, "import agentkit"),
        ("from agentkit import Client", sys.executable, "from agentkit import Client"),
        (
            "from agentkit import Client, Agent, tool",
            sys.executable,
            "from agentkit import Client, Agent, tool",
        ),
        ("import httpx, pydantic", sys.executable, "import httpx, pydantic"),
    ]
    bench = HERE / ".venv-bench" / "bin" / "python"
    if bench.exists():
        rows.append(("import anthropic (benchmark venv)", str(bench), "import anthropic"))
    base = {python: cold(python, "pass", args.n) for _, python, _ in rows}
    print(f"{'statement':42} {'median ms':>10}  (minus an empty interpreter, n={args.n})")
    for label, python, statement in rows:
        try:
            seconds = cold(python, statement, args.n) - base[python]
        except subprocess.CalledProcessError:
            print(f"{label:42} {'failed':>10}")
            continue
        print(f"{label:42} {seconds * 1000:>10.1f}")


if __name__ == "__main__":
    main()
