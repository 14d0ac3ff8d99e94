"""`FoundryClient` and `AsyncFoundryClient`: the Claude clients, speaking to Microsoft Foundry.

Foundry serves the first-party wire format (paths, bodies, SSE) under
`https://{resource}.services.ai.azure.com/anthropic`, so only construction and auth differ: an
API key (sent as both `api-key`, Azure's header, and `x-api-key`, Anthropic's) or a Microsoft
Entra ID (Azure AD) token provider, asked on every attempt and sent as a bearer token."""

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
