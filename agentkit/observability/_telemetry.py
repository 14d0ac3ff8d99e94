"""`Telemetry`: where an agent's spans and metrics go, and whether message content is recorded.

Nothing here imports OpenTelemetry. A run asks `Telemetry.start_run` for its trace: when the
application has configured no tracer or meter provider (or OpenTelemetry is not installed, or
not imported by anyone), the answer is None and the run records nothing, at the cost of a dict
lookup. An application that configured a provider has imported `opentelemetry` already, which
is how "configured" is told apart without importing it here.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .._exceptions import ConfigurationError
from .._options import strict_init

if TYPE_CHECKING:
    from ._spans import RunTrace

__all__ = ["CAPTURE_CONTENT_ENV", "DEFAULT_TELEMETRY", "Telemetry"]

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""The environment variable the GenAI instrumentations read to record message content."""

_TRUE = frozenset({"true", "1", "yes", "on"})


@strict_init
@dataclass(frozen=True)
class Telemetry:
    """How runs report to OpenTelemetry (`Agent(telemetry=...)`).

    With the defaults, a run reports to the global tracer and meter providers the application
    configured (`trace.set_tracer_provider(...)`), and to nothing when there are none.

    Attributes:
        tracer_provider: An OpenTelemetry `TracerProvider` to use instead of the global one.
        meter_provider: A `MeterProvider` to use instead of the global one.
        capture_content: Record prompts, replies, tool arguments and tool results on the spans
            (`gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.tool.call.arguments`
            ...). None (the default) reads `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`
            (`true` turns it on) when each run starts. Credentials are never recorded.
        agent_name: `gen_ai.agent.name`, and the `invoke_agent {name}` span's name.
        enabled: False turns reporting off for these runs whatever is configured.

    Raises:
        TypeError: an unknown keyword (naming the closest valid one).
        ConfigurationError: a value of the wrong type.
    """

    tracer_provider: object | None = None
    meter_provider: object | None = None
    capture_content: bool | None = None
    agent_name: str | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        for name in ("capture_content", "enabled"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise ConfigurationError(
                    f"Telemetry(): {name} must be True or False, not {value!r}"
                )
        if self.agent_name is not None and not isinstance(self.agent_name, str):
            raise ConfigurationError(
                f"Telemetry(): agent_name must be a string, not {self.agent_name!r}"
            )
        for name in ("tracer_provider", "meter_provider"):
            value = getattr(self, name)
            wanted = "get_tracer" if name == "tracer_provider" else "get_meter"
            if value is not None and not callable(getattr(value, wanted, None)):
                raise ConfigurationError(
                    f"Telemetry(): {name} must be an OpenTelemetry provider (with {wanted}()), "
                    f"not {value!r}"
                )

    def captures_content(self) -> bool:
        """Whether content is recorded: the argument, else the environment variable."""
        if self.capture_content is not None:
            return self.capture_content
        return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in _TRUE

    def start_run(
        self,
        *,
        model: str | None,
        provider: str,
        server: str | None,
        conversation_id: str | None,
        invoke: bool = True,
        agent_name: str | None = None,
    ) -> RunTrace | None:
        """The trace of a run starting now, or None when nothing is configured to receive it.

        Args:
            model: The model requested (None: not known here, as where a Temporal run starts).
            provider: `gen_ai.provider.name` (`anthropic`, `aws.bedrock`, `gcp.vertex_ai` ...).
            server: The API's base URL.
            conversation_id: `gen_ai.conversation.id`, when known before the run opens it.
            invoke: Open the run's `invoke_agent` span; False for a piece of a run performed
                elsewhere (a Temporal activity), whose spans are children of the current one.
            agent_name: The agent's name when `Telemetry.agent_name` is not set.
        """
        if not self.enabled:
            return None
        if (
            self.tracer_provider is None
            and self.meter_provider is None
            and "opentelemetry.trace" not in sys.modules
            and "opentelemetry.metrics" not in sys.modules
        ):
            return None  # nobody imported OpenTelemetry, so nobody configured a provider
        from ._spans import start_run  # imports opentelemetry, which is loaded already

        base: dict[str, str | int] = {"gen_ai.provider.name": provider}
        if model is not None:
            base["gen_ai.request.model"] = model
        parts = urlsplit(server or "")
        if parts.hostname:
            base["server.address"] = parts.hostname
            base["server.port"] = parts.port or (443 if parts.scheme == "https" else 80)
        return start_run(self, dict(base), self.agent_name or agent_name, conversation_id, invoke)


DEFAULT_TELEMETRY = Telemetry()
"""What a run uses when given none: the global providers, content by the environment."""
