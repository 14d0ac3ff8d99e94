"""`client.beta`: the official SDK's beta namespace, over the same resources as the plain one.

Every agentkit method already takes `betas=[...]` (sent as `anthropic-beta`), so
`client.beta.messages`, `client.beta.files` and `client.beta.models` are the plain resources;
`beta.messages` adds `tool_runner`.
"""

from __future__ import annotations

from .._beta import AsyncToolRunner, find_tool_runner
from ._files import AsyncFiles
from ._messages import AsyncMessages
from ._models_api import AsyncModels
from ._requester import AsyncRequester

__all__ = ["AsyncBeta", "AsyncBetaMessages"]


class AsyncBetaMessages(AsyncMessages):
    """`client.beta.messages`: `client.messages` (create, stream, parse, count_tokens,
    batches), plus the SDK's `tool_runner`."""

    def tool_runner(self, **params: object) -> AsyncToolRunner:
        """The SDK's tool runner, run by agentkit's `Agent` loop (see `agentkit.runner`).

        Args:
            **params: `model`, `max_tokens`, `messages`, `tools` (`@beta_tool` / `@tool`
                functions and raw tool dicts), `max_iterations`, and other request fields.

        Returns:
            An async iterator of each message of the loop, with `until_done()`.

        Raises:
            ConfigurationError: `agentkit.runner` was never imported.
        """
        runner = find_tool_runner()(self._client, params)
        if not isinstance(runner, AsyncToolRunner):  # the factory makes the client's kind
            raise TypeError(f"the registered tool runner made {runner!r} for an async client")
        return runner


class AsyncBeta:
    """`client.beta`: `messages`, `files` and `models`, each taking `betas=[...]`.

    Args:
        client: The client that sends.
    """

    def __init__(self, client: AsyncRequester) -> None:
        self.messages = AsyncBetaMessages(client)
        self.files = AsyncFiles(client)
        self.models = AsyncModels(client)
