"""Sign each request attempt with AWS Signature Version 4, through botocore, over the exact bytes
httpx sends.

`SigV4Auth` is an `httpx.Auth`: httpx runs it on every attempt, after the request is final, so a
retry is signed again with a fresh timestamp (a re-sent old signature would expire), and the
signature covers the very URL, headers and body that go on the wire. botocore (the `bedrock`
extra) is imported only when the first request is signed. Credentials come from explicit keys,
a named profile, or botocore's standard chain; resolving or refreshing them may do I/O (SSO,
STS, instance metadata), which the async flow runs in a worker thread.

While agentkit signs or resolves credentials, botocore's DEBUG and INFO records are dropped at
their source loggers: its signer logs the canonical request (with `x-amz-security-token`) and the
signature at DEBUG, and a refresh logs the new credentials' response, so a root logger at DEBUG
would otherwise record them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncGenerator, Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import Protocol

import anyio.to_thread
import httpx

from ..._exceptions import APIConnectionError, ConfigurationError

__all__ = ["AWSCredentials", "SigV4Auth", "import_botocore"]


class _BotocoreCredentials(Protocol):
    """What is used of botocore's (refreshable) `Credentials`."""

    def get_frozen_credentials(self) -> object:
        """A consistent snapshot (`ReadOnlyCredentials`), refreshed first when due."""
        ...


# Headers a proxy or the transport may rewrite after signing; AWS does not require them signed.
_UNSIGNED = frozenset({"connection", "user-agent", "expect", "authorization"})
_SIGNED_OUTPUTS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")


# The botocore loggers that may carry a credential while signing or refreshing.
_BOTOCORE_LOGGERS = (
    "botocore.auth",
    "botocore.credentials",
    "botocore.endpoint",
    "botocore.parsers",
    "botocore.utils",
    "botocore.httpsession",
    "botocore.hooks",
    "botocore.retryhandler",
)
_in_aws_auth: ContextVar[bool] = ContextVar("agentkit_in_aws_auth", default=False)


class _QuietWhileSigning(logging.Filter):
    """Drops botocore's DEBUG and INFO records emitted inside `aws_auth_quiet()` (the signer's
    canonical request and signature, a refresh's response); other code's botocore logs pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not _in_aws_auth.get()


_QUIET = _QuietWhileSigning()


@contextmanager
def aws_auth_quiet() -> Iterator[None]:
    """Within this block (this thread or task), botocore's DEBUG and INFO records are dropped.

    A filter on each source logger, installed once: a logger's filters see every record it
    creates, whatever handlers or levels the application configured above it.
    """
    for name in _BOTOCORE_LOGGERS:
        source = logging.getLogger(name)
        if _QUIET not in source.filters:
            source.addFilter(_QUIET)
    token = _in_aws_auth.set(True)
    try:
        yield
    finally:
        _in_aws_auth.reset(token)


def import_botocore() -> ModuleType:
    """botocore, or a ConfigurationError saying which extra to install."""
    try:
        import botocore.session
    except ImportError as exc:
        raise ConfigurationError(
            "SigV4 signing needs botocore: pip install 'agentkit[bedrock]' "
            "(or pass api_key=... / set AWS_BEARER_TOKEN_BEDROCK for a Bedrock API key)"
        ) from exc
    module: ModuleType = botocore  # botocore ships no type hints
    return module


class AWSCredentials:
    """AWS credentials, resolved on first use and refreshed by botocore when they expire.

    Args:
        access_key: An access key id (with `secret_key`).
        secret_key: The secret access key.
        session_token: A session token for temporary credentials.
        profile: A named profile from the AWS config files.
    """

    def __init__(
        self,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        session_token: str | None = None,
        profile: str | None = None,
    ) -> None:
        if (access_key is None) != (secret_key is None):
            raise ConfigurationError(
                "pass both aws_access_key and aws_secret_key, or neither (to use a profile or "
                "the standard AWS credential chain)"
            )
        if session_token is not None and access_key is None:
            # A profile or the chain brings its own session token: this one would be ignored.
            raise ConfigurationError(
                "aws_session_token goes with aws_access_key and aws_secret_key (the temporary "
                "credentials it belongs to); a profile or the AWS chain brings its own"
            )
        self._access_key = access_key
        self._secret_key = secret_key
        self._session_token = session_token
        self.profile = profile
        self._credentials: _BotocoreCredentials | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        source = "explicit keys" if self._access_key else f"profile={self.profile!r}"
        return f"AWSCredentials({source})"

    def frozen(self) -> object:
        """The current credentials (botocore `ReadOnlyCredentials`); may block to refresh.

        Raises:
            ConfigurationError: no credentials can be found, or the profile does not exist.
        """
        with aws_auth_quiet():
            with self._lock:
                if self._credentials is None:
                    self._credentials = self._resolve()
            try:
                return self._credentials.get_frozen_credentials()
            except Exception as exc:  # botocore's refresh errors (STS, SSO, IMDS)
                raise _refresh_error(exc) from exc

    async def afrozen(self) -> object:
        """`frozen()` without blocking the event loop when it has I/O to do."""
        credentials = self._credentials
        if credentials is not None:
            refresh_needed = getattr(credentials, "refresh_needed", None)
            if refresh_needed is None or not refresh_needed():
                with aws_auth_quiet():
                    return credentials.get_frozen_credentials()
        return await anyio.to_thread.run_sync(self.frozen)

    def _resolve(self) -> _BotocoreCredentials:
        botocore = import_botocore()
        from botocore.credentials import Credentials
        from botocore.exceptions import BotoCoreError

        credentials: _BotocoreCredentials | None
        if self._access_key is not None:
            credentials = Credentials(self._access_key, self._secret_key, self._session_token)
            return credentials
        try:
            session = botocore.session.Session(profile=self.profile)
            credentials = session.get_credentials()
        except BotoCoreError as exc:
            raise ConfigurationError(f"cannot load AWS credentials: {exc}") from exc
        if credentials is None:
            raise ConfigurationError(
                "no AWS credentials found: pass aws_access_key/aws_secret_key or aws_profile, "
                "configure the standard AWS chain (environment, ~/.aws, SSO, instance role), or "
                "use a Bedrock API key (api_key=... or AWS_BEARER_TOKEN_BEDROCK)"
            )
        return credentials


def _refresh_error(exc: Exception) -> Exception:
    # Our own errors pass through; a failed refresh is most often the network (retry it).
    if isinstance(exc, ConfigurationError | APIConnectionError):
        return exc
    return APIConnectionError(f"could not refresh AWS credentials: {type(exc).__name__}: {exc}")


class SigV4Auth(httpx.Auth):
    """httpx auth that signs every attempt with SigV4 for one service and region.

    Args:
        credentials: Where the AWS credentials come from.
        service: The signing name (`bedrock`, `bedrock-mantle` ...).
        region: The AWS region in the credential scope.
    """

    requires_request_body = True

    def __init__(self, credentials: AWSCredentials, service: str, region: str) -> None:
        self.credentials = credentials
        self.service = service
        self.region = region

    def __repr__(self) -> str:
        return f"SigV4Auth(service={self.service!r}, region={self.region!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        self.sign(request, self.credentials.frozen())
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        self.sign(request, await self.credentials.afrozen())
        yield request

    def sign(self, request: httpx.Request, credentials: object) -> None:
        """Add `Authorization`, `X-Amz-Date` (and `X-Amz-Security-Token`) to `request`.

        botocore signs an `AWSRequest` carrying the request's final URL (as httpx will write
        it: percent-escapes kept, so the canonical path is the one AWS recomputes) and body.
        """
        import_botocore()
        from botocore.auth import SigV4Auth as BotocoreSigV4
        from botocore.awsrequest import AWSRequest

        for name in _SIGNED_OUTPUTS:
            request.headers.pop(name, None)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _UNSIGNED}
        aws_request = AWSRequest(
            method=request.method, url=str(request.url), headers=headers, data=request.content
        )
        with aws_auth_quiet():
            BotocoreSigV4(credentials, self.service, self.region).add_auth(aws_request)
        for name in _SIGNED_OUTPUTS:
            value = aws_request.headers.get(name)
            if value is not None:
                request.headers[name] = value
