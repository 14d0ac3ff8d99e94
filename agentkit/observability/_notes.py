"""Events the client adds to the current span: a retry, a rate-limit wait.

Called from the client's send path; each costs one dict lookup while nobody has imported
OpenTelemetry, and adds nothing to a span that is not recording.
"""

from __future__ import annotations

import sys

__all__ = ["note"]


def note(name: str, attributes: dict[str, str | int | float]) -> None:
    """Add an event to the current span, if OpenTelemetry is loaded and a span records."""
    if "opentelemetry.trace" not in sys.modules:
        return
    from opentelemetry import trace

    span = trace.get_current_span()
    if span.is_recording():
        span.add_event(name, attributes)
