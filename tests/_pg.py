"""A PostgreSQL server for tests: `AGENTKIT_TEST_POSTGRES_DSN`, or one `scripts/postgres` starts.

Import the `postgres_dsn` fixture into a test module (`from _pg import postgres_dsn`). Outside CI
the tests skip, with the reason, only when no server can be started; in CI (`CI=true`) that is a
failure, so a broken setup can never pass as green.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "postgres"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """A DSN of a running PostgreSQL server with an empty-or-reusable test database."""
    dsn = os.environ.get("AGENTKIT_TEST_POSTGRES_DSN")
    if dsn:
        return dsn
    try:
        done = subprocess.run(
            [str(SCRIPT)], capture_output=True, text=True, timeout=600, check=False
        )
        reason = done.stderr.strip()[-2000:] or f"exit status {done.returncode}"
        dsn = done.stdout.strip() if done.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError) as exc:
        reason, dsn = str(exc), ""
    if dsn:
        return dsn
    message = f"no PostgreSQL server: scripts/postgres failed: {reason}"
    if _in_ci():
        pytest.fail(message)
    pytest.skip(message)
