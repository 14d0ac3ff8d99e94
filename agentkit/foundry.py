"""Claude on Microsoft Foundry: `FoundryClient` and `AsyncFoundryClient`, the Claude clients
with Foundry's base URL and an API key or an Entra ID token provider.

The implementation lives in `agentkit/hosts/_foundry.py`."""

from .hosts._foundry import (
    AZURE_AI_SCOPE,
    AsyncFoundryClient,
    FoundryClient,
    foundry_base_url,
)

__all__ = [
    "AZURE_AI_SCOPE",
    "AsyncFoundryClient",
    "FoundryClient",
    "foundry_base_url",
]
