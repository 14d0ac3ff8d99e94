"""See what an agent does and spends: OpenTelemetry GenAI spans and metrics.

Runs report through `opentelemetry-api` (the `otel` extra) to the tracer and meter providers
the application configured, and cost nothing when there are none. See docs/observability.md.
"""

from ._telemetry import CAPTURE_CONTENT_ENV, Telemetry

__all__ = ["CAPTURE_CONTENT_ENV", "Telemetry"]
