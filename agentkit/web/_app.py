"""`create_app`: the ASGI app of a chat on an `Agent` and its store (Starlette).

Routes (JSON errors are `{"error": "..."}`):

| route | what |
|---|---|
| `GET /` | the chat page |
| `GET /api/info` | `{"model", "banner"}` (the banner says when the answers are the fake's) |
| `POST /api/chat` | run a turn; the UI message stream (the body `useChat` sends) |
| `GET /api/chat/{id}/stream` | follow the live run of a chat from its start; 204 without one |
| `GET /api/chats` | the owner's conversations, newest first |
| `GET /api/chats/{id}` | one conversation's `UIMessage`s, and whether a run is live |
| `POST /api/chats/{id}/stop` | cancel the live run (204; 409 when it runs in another process) |
| `DELETE /api/chats/{id}` | delete a conversation (204; 409 while it runs) |

Every conversation belongs to an owner, the string the `owner` hook returns for a request; a
conversation of another owner answers 404, exactly as a missing one.
"""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .._exceptions import ConfigurationError
from ..client import Client
from ..conversation import Conversation
from ..runner import Agent
from ..stores import (
    AsyncConversationStore,
    ConversationInfo,
    ConversationNotFoundError,
    ConversationStore,
    lease_owner,
    to_async,
)
from ._history import message_id, pending_calls, reply_id, title_of, ui_messages
from ._page import page_html
from ._protocol import HEADERS
from ._request import BadRequest, ChatRequest, check_chat_id, parse_chat_request
from ._runs import Busy, LiveRun, Runs, Turn

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["OWNER_COOKIE", "OwnerHook", "WebLimits", "browser_owner", "create_app"]

logger = logging.getLogger("agentkit.web")

OwnerHook = Callable[[Request], "str | Awaitable[str | None] | None"]
"""`(request) -> owner id | None`, sync or async: who is asking (None answers 401)."""

OWNER_COOKIE = "agentkit_owner"
_COOKIE_VALUE_CHARS = 43  # secrets.token_urlsafe(32)
_LIST_PAGE = 500
_Cookie = tuple[str, bool]
"""An owner cookie to set: its value, and whether it is `Secure` (the request came by HTTPS)."""
_BUSY = "a reply is being written in this chat; wait or stop it"


@dataclass(frozen=True)
class WebLimits:
    """Request size limits.

    Attributes:
        max_body_bytes: The largest `POST /api/chat` body (413 beyond it).
        max_prompt_chars: The longest prompt (413 beyond it).
        max_chats_listed: The most conversations `GET /api/chats` returns.
    """

    max_body_bytes: int = 1_000_000
    max_prompt_chars: int = 100_000
    max_chats_listed: int = 100


def browser_owner(request: Request) -> str | None:
    """The default owner: a random id kept in an HttpOnly cookie (`agentkit_owner`), so each
    browser sees only its own conversations. The app sets the cookie on a first visit.

    Use your own hook (the user of your session cookie, a header your proxy sets) for
    accounts: whoever holds the cookie holds the conversations.
    """
    value = request.cookies.get(OWNER_COOKIE, "")
    if len(value) == _COOKIE_VALUE_CHARS and value.replace("-", "").replace("_", "").isalnum():
        return value
    return None


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequest(f"the body is larger than {limit} bytes", status=413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BadRequest(f"the body is larger than {limit} bytes", status=413)
    return bytes(body)


class _ChatApp:
    """The handlers, over one agent, its store, the owner hook and this process's runs."""

    def __init__(
        self,
        agent: Agent[object, object],
        store: AsyncConversationStore,
        owner: OwnerHook | None,
        limits: WebLimits,
        banner: str | None,
    ) -> None:
        self.owner_hook = owner
        self.agent, self.store = agent, store
        self.limits = limits
        self.banner = banner
        self.runs = Runs()

    # -- who is asking --------------------------------------------------------------------------

    async def owner(self, request: Request) -> tuple[str | None, _Cookie | None]:
        """The owner, and a cookie value to set (the default hook's first visit)."""
        if self.owner_hook is None:
            found = browser_owner(request)
            if found is not None:
                return found, None
            fresh = secrets.token_urlsafe(32)
            return fresh, (fresh, request.url.scheme == "https")
        value = self.owner_hook(request)
        if inspect.isawaitable(value):
            value = await value
        if value is not None and not isinstance(value, str):
            raise TypeError(f"the owner hook returned {type(value).__name__}, not str or None")
        return value, None

    def respond(self, response: Response, cookie: _Cookie | None) -> Response:
        if cookie is not None:
            value, secure = cookie
            response.set_cookie(
                OWNER_COOKIE,
                value,
                max_age=400 * 86400,
                httponly=True,
                samesite="lax",
                secure=secure,  # over HTTPS, never sent in the clear
            )
        return response

    async def owned(self, chat_id: str, owner: str) -> Conversation | None:
        """The conversation if it exists and belongs to `owner` (else None: answer 404)."""
        try:
            conversation = await self.store.load(chat_id)
        except ConversationNotFoundError:
            return None
        return conversation if conversation.metadata.get("owner") == owner else None

    async def signed_in(self, request: Request) -> tuple[str, _Cookie | None]:
        """`owner()`, for the routes that need one.

        Raises:
            BadRequest: 401, no owner.
        """
        owner, cookie = await self.owner(request)
        if owner is None:
            raise BadRequest("not signed in", 401)
        return owner, cookie

    def live_of(self, chat_id: str, owner: str | None) -> LiveRun | None:
        """This process's live run of the chat, if the owner may see it."""
        live = self.runs.get(chat_id)
        return live if live is not None and live.owner == owner else None

    async def owned_or_404(self, request: Request, owner: str) -> Conversation:
        """The conversation the route names, if it is the owner's.

        Raises:
            BadRequest: 404 (also for a malformed id).
        """
        try:
            chat_id = check_chat_id(request.path_params["chat_id"])
        except BadRequest:
            raise BadRequest("no such chat", 404) from None
        stored = await self.owned(chat_id, owner)
        if stored is None:
            raise BadRequest("no such chat", 404)
        return stored

    # -- routes ---------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        _owner, cookie = await self.owner(request)
        return self.respond(HTMLResponse(page_html()), cookie)

    async def info(self, request: Request) -> Response:
        return JSONResponse({"model": self.agent.model, "banner": self.banner})

    async def chat(self, request: Request) -> Response:
        owner, cookie = await self.signed_in(request)
        if "application/json" not in request.headers.get("content-type", ""):
            # Also what keeps a cross-site form from posting here: it cannot send JSON.
            raise BadRequest("send the chat request as application/json", 415)
        try:
            body = await _read_body(request, self.limits.max_body_bytes)
        except ClientDisconnect:
            # Gone before its request was read: nothing ran, and no one reads an answer.
            return Response(status_code=400)
        asked = parse_chat_request(body, max_prompt_chars=self.limits.max_prompt_chars)
        return self.respond(await self._start(asked, owner), cookie)

    async def _start(self, asked: ChatRequest, owner: str) -> Response:
        chat_id = asked.chat_id
        if self.runs.get(chat_id) is not None:
            raise BadRequest(_BUSY, 409)
        stored = await self.owned(chat_id, owner)
        conversation: Conversation | str
        if stored is None:
            if asked.prompt is None:
                raise BadRequest("no such chat", 404)
            try:
                await self.store.load(chat_id)
            except ConversationNotFoundError:
                pass
            else:  # it exists, and is someone else's
                raise BadRequest("no such chat", 404)
            metadata = {"owner": owner, "title": title_of(asked.prompt)}
            conversation = Conversation(id=chat_id, metadata=metadata)
            message, base = message_id(1), 0
        else:
            conversation = chat_id
            messages = [e.message for e in stored.entries]
            journal = await self.store.journaled_tool_results(chat_id)
            pending = pending_calls(messages, journal)
            if asked.prompt is not None:
                if pending:
                    # Calls without results: a run in another process is running them, or
                    # they wait for a person.
                    if await self._leased(chat_id):
                        raise BadRequest(_BUSY, 409)
                    raise BadRequest("tool calls wait for approval: approve or deny them", 409)
                message = message_id(len(messages) + 1)
            else:
                unknown = sorted(set(asked.approvals) - pending)
                if unknown:
                    raise BadRequest(f"no tool call waits for approval: {', '.join(unknown)}", 409)
                message = reply_id(messages) or message_id(len(messages))
            base = len(messages)
        try:
            turn = Turn(chat_id, owner, conversation, asked.prompt, asked.approvals, message, base)
            live = await self.runs.start(self.agent, turn)
        except Busy:
            raise BadRequest(
                "a reply is being written in this chat; wait or stop it", 409
            ) from None
        return StreamingResponse(live.follow(), headers=HEADERS)

    async def _leased(self, chat_id: str) -> bool:
        """Whether a run (in any process) holds the conversation's lease now."""
        probe = lease_owner(f"web-probe-{secrets.token_hex(8)}")
        holder = await self.store.take_lease(chat_id, probe, ttl=1.0)
        if holder is None:
            await self.store.release_lease(chat_id, probe)
        return holder is not None

    async def follow(self, request: Request) -> Response:
        owner, cookie = await self.owner(request)
        live = self.live_of(request.path_params["chat_id"], owner)
        if live is None:
            return self.respond(Response(status_code=204), cookie)
        return self.respond(StreamingResponse(live.follow(), headers=HEADERS), cookie)

    async def list_chats(self, request: Request) -> Response:
        owner, cookie = await self.signed_in(request)
        found: list[ConversationInfo] = []
        offset = 0
        # The store lists every conversation; the owner's are picked page by page.
        while len(found) < self.limits.max_chats_listed:
            page = await self.store.list(limit=_LIST_PAGE, offset=offset)
            found += [c for c in page if c.metadata.get("owner") == owner]
            if len(page) < _LIST_PAGE:
                break
            offset += _LIST_PAGE
        chats = [
            {
                "id": c.id,
                "title": c.metadata.get("title") or "(untitled)",
                "updatedAt": c.updated_at,
                "running": self.runs.get(c.id) is not None,
            }
            for c in found[: self.limits.max_chats_listed]
        ]
        return self.respond(JSONResponse({"chats": chats}), cookie)

    async def get_chat(self, request: Request) -> Response:
        owner, cookie = await self.signed_in(request)
        stored = await self.owned_or_404(request, owner)
        messages: list[dict[str, object]] = [e.message for e in stored.entries]
        journal = await self.store.journaled_tool_results(stored.id)
        live = self.runs.get(stored.id)
        if live is not None:
            # The history as the live run found it (and its prompt): following its stream
            # (`GET /api/chat/{id}/stream`) replays the rest from its start.
            messages = messages[: live.base]
            if live.prompt is not None:
                messages.append({"role": "user", "content": live.prompt})
        # A run in another process: its stream cannot be followed here, only seen as running.
        elsewhere = live is None and await self._leased(stored.id)
        body = {
            "id": stored.id,
            "title": stored.metadata.get("title"),
            "messages": ui_messages(messages, journal, running=elsewhere),
            "running": live is not None or elsewhere,
        }
        return self.respond(JSONResponse(body), cookie)

    async def stop(self, request: Request) -> Response:
        owner, cookie = await self.signed_in(request)
        if self.live_of(request.path_params["chat_id"], owner) is not None:
            self.runs.stop(request.path_params["chat_id"])
            return self.respond(Response(status_code=204), cookie)
        stored = await self.owned_or_404(request, owner)
        if await self._leased(stored.id):
            # Each process can cancel only its own runs.
            raise BadRequest(
                "the reply is being written by another server process: stop it there", 409
            )
        raise BadRequest("no reply is being written", 409)

    async def delete_chat(self, request: Request) -> Response:
        owner, cookie = await self.signed_in(request)
        stored = await self.owned_or_404(request, owner)
        if self.runs.get(stored.id) is not None:
            raise BadRequest("a reply is being written; stop it first", 409)
        await self.store.delete(stored.id)
        return self.respond(Response(status_code=204), cookie)


def create_app(
    agent: Agent[object, object],
    *,
    owner: OwnerHook | None = None,
    limits: WebLimits | None = None,
    banner: str | None = None,
) -> ASGIApp:
    """The ASGI app of a chat with `agent`: its page at `/` and its API under `/api`.

    Mount it in any ASGI framework (`app.mount("/chat", create_app(agent))`) or serve it
    (`uvicorn module:app`, `agentkit serve module:agent`).

    Args:
        agent: The agent; it must have a store (`Agent(store=...)`), where every conversation
            is kept, and an `AsyncClient` (or none: one is made from the environment).
        owner: `(request) -> owner id | None`, sync or async: whose conversations a request
            may see and post to; None answers 401. Default: `browser_owner`, a random id in
            a cookie.
        limits: Request size limits (`WebLimits()` by default).
        banner: A line the page shows above the chat (e.g. that the answers are a fake's).

    Returns:
        The ASGI app.

    Raises:
        ConfigurationError: The agent has no store, or a sync client.
    """
    store = agent.store
    if store is None:
        raise ConfigurationError(
            "create_app(): the agent needs a store for the conversations: Agent(store=...)"
        )
    if isinstance(agent.client, Client):
        raise ConfigurationError(
            "create_app(): the agent's client is a sync Client; give it an AsyncClient"
        )
    if isinstance(store, ConversationStore):
        store = to_async(store)
    chat = _ChatApp(agent, store, owner, limits or WebLimits(), banner)
    routes = [
        Route("/", chat.page, methods=["GET"]),
        Route("/api/info", chat.info, methods=["GET"]),
        Route("/api/chat", chat.chat, methods=["POST"]),
        Route("/api/chat/{chat_id}/stream", chat.follow, methods=["GET"]),
        Route("/api/chats", chat.list_chats, methods=["GET"]),
        Route("/api/chats/{chat_id}", chat.get_chat, methods=["GET"]),
        Route("/api/chats/{chat_id}", chat.delete_chat, methods=["DELETE"]),
        Route("/api/chats/{chat_id}/stop", chat.stop, methods=["POST"]),
    ]
    handlers = {BadRequest: _refused, Exception: _internal_error}
    return Starlette(routes=routes, exception_handlers=handlers)  # type: ignore[arg-type]


async def _refused(request: Request, exc: BadRequest) -> Response:
    return _error(str(exc), exc.status)


async def _internal_error(request: Request, exc: Exception) -> Response:
    # No trace, key or stored detail reaches the client; the log has it all.
    logger.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return _error("internal server error", 500)
