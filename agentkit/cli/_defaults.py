"""Defaults shared by the commands, kept apart so `agentkit --help` imports nothing heavy."""

from pathlib import Path

__all__ = ["DEFAULT_MODEL", "DEMO_FILES"]

DEFAULT_MODEL = "claude-sonnet-4-5"
"""The model `demo` and `chat` use unless `--model` says otherwise."""

DEMO_FILES = Path(__file__).parent / "demo_files"
"""The directory the file tools read by default: a few sample files shipped with agentkit."""
