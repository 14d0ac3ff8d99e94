"""Cold import cost: CPU (user + system) of a fresh interpreter per import statement.

Each figure is the median over N fresh processes of `python -c STATEMENT`, minus the median of
an empty interpreter (`python -c pass`) of the same venv. CPU is the child's own (`os.wait4`
resource usage), so a loaded machine stretches wall time far more than these figures; the wall
time medians are printed too. Bytecode caches are warm (one discarded run per statement first),
as on any machine after the first run. The statements run interleaved, in an order rotated each
round, so load drifts hit every row alike.

Rows: `import agentkit` (lazy: loads nothing until a name is used); `from agentkit import Agent,
Client, tool` (what a program that runs an agent pays); `import httpx` and `import httpx,
pydantic` (agentkit's two dependencies, as a floor); the agentkit and floor rows again with
httpx's optional command-line packages (click, pygments, rich: installed here by the dev tools,
imported by `import httpx` when present) hidden, as in a core install; and from the benchmark venv
(benchmarks/.venv-bench, made by benchmarks/setup_venv; never in .venv): `import anthropic`,
`from anthropic import Anthropic, beta_tool` and `from pydantic_ai import Agent` with
`AnthropicModel`.

Run: `python benchmarks/bench_import.py [-n 15]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH_PYTHON = HERE / ".venv-bench" / "bin" / "python"

# Hides httpx's optional command-line dependencies, as in an install without them.
_NO_HTTPX_CLI = "import sys; sys.modules.update(click=None, pygments=None, rich=None); "

# (venv, label, statement)
ROWS: list[tuple[str, str, str]] = [
    ("main", "import agentkit", "import agentkit"),
    (
        "main",
        "from agentkit import Agent, Client, tool",
        "from agentkit import Agent, Client, tool",
    ),
    ("main", "import httpx", "import httpx"),
    ("main", "import httpx, pydantic", "import httpx, pydantic"),
    # httpx imports its command-line client (click, pygments, rich) when they are installed, as
    # the dev tools here install them; a core install of agentkit does not have them.
    (
        "main",
        "from agentkit import Agent, Client, tool, no httpx CLI deps",
        f"{_NO_HTTPX_CLI}from agentkit import Agent, Client, tool",
    ),
    ("main", "import httpx, pydantic, no httpx CLI deps", f"{_NO_HTTPX_CLI}import httpx, pydantic"),
    ("bench", "import anthropic", "import anthropic"),
    (
        "bench",
        "from anthropic import Anthropic, beta_tool",
        "from anthropic import Anthropic, beta_tool",
    ),
    (
        "bench",
        "from pydantic_ai import Agent (+ AnthropicModel)",
        "from pydantic_ai import Agent; from pydantic_ai.models.anthropic import AnthropicModel",
    ),
]


def cold(python: str, statement: str) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one fresh `python -c statement`."""
    start = time.perf_counter()
    # In the checkout this script is in (`python -c` puts the working directory first on the
    # path, so a copy run from elsewhere would import the other checkout's agentkit).
    # PYTHONDONTWRITEBYTECODE is dropped so the warm-up run writes the bytecode caches (with it,
    # every run would compile agentkit's sources again).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen(
        [python, "-c", statement], env={**env, "PYTHONPATH": str(HERE.parent)}, cwd=HERE.parent
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, statement)
    return usage.ru_utime + usage.ru_stime, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=15, help="processes per statement")
    args = parser.parse_args()
    pythons = {"main": sys.executable, "bench": str(BENCH_PYTHON)}
    labels = {(venv, statement): label for venv, label, statement in ROWS}
    rows = [(venv, s) for venv, _, s in ROWS if venv == "main" or BENCH_PYTHON.exists()]
    plan = [(venv, "pass") for venv in dict.fromkeys(v for v, _ in rows)] + rows
    failed: dict[tuple[str, str], str] = {}
    for venv, statement in plan:  # warm the bytecode caches; a failing statement is reported
        try:
            cold(pythons[venv], statement)
        except subprocess.CalledProcessError as exc:
            failed[(venv, statement)] = f"failed (exit {exc.returncode})"
    cpu: dict[tuple[str, str], list[float]] = {key: [] for key in plan}
    wall: dict[tuple[str, str], list[float]] = {key: [] for key in plan}
    load_start = os.getloadavg()[0]
    for i in range(args.n):
        for key in plan[i % len(plan) :] + plan[: i % len(plan)]:
            if key in failed:
                continue
            c, w = cold(pythons[key[0]], key[1])
            cpu[key].append(c)
            wall[key].append(w)
    load_end = os.getloadavg()[0]
    missing = [label for venv, label, _ in ROWS if venv == "bench" and not BENCH_PYTHON.exists()]
    print(
        f"bench_import.py, {date.today().isoformat()}, {os.cpu_count()} CPUs, load average "
        f"(1 min) {load_start:.2f} at start, {load_end:.2f} at end"
    )
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"median of {args.n} fresh processes each, minus an empty interpreter of the same venv\n")
    head = f"{'statement':62} {'CPU ms':>8} {'range':>15} {'wall ms':>8}"
    print(head)
    print("-" * len(head))
    for venv, statement in plan:
        key = (venv, statement)
        label = labels.get(key, statement) + ("  [bench venv]" if venv == "bench" else "")
        if key in failed:
            print(f"{label:62} {failed[key]}")
            continue
        if statement == "pass":
            c, w = statistics.median(cpu[key]), statistics.median(wall[key])
            print(f"{'(empty interpreter, not subtracted)' + label[4:]:62} {c * 1000:>8.1f} "
                  f"{'':>15} {w * 1000:>8.1f}")  # fmt: skip
            continue
        base_cpu = statistics.median(cpu[(venv, "pass")])
        base_wall = statistics.median(wall[(venv, "pass")])
        c = statistics.median(cpu[key]) - base_cpu
        lo, hi = min(cpu[key]) - base_cpu, max(cpu[key]) - base_cpu
        w = statistics.median(wall[key]) - base_wall
        spread = f"{lo * 1000:.0f}-{hi * 1000:.0f}"
        print(f"{label:62} {c * 1000:>8.1f} {spread:>15} {w * 1000:>8.1f}")
    for statement in missing:
        print(f"{statement:62} not measured: no benchmarks/.venv-bench (run benchmarks/setup_venv)")


if __name__ == "__main__":
    main()
