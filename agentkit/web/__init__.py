"""Chat apps on the web: an ASGI app, its chat page, and the AI SDK's UI message stream.

`create_app(agent)` is a Starlette app that runs the agent's turns for a browser: `POST
/api/chat` answers in the Vercel AI SDK's UI message stream protocol (v1), so `useChat` works
against it unchanged; the conversations live in the agent's store, scoped by an owner id; the
page at `/` is one HTML file with no build step. `agentkit serve module:agent` serves it.

Install the extra (`pip install 'agentkit[web]'`, Starlette and uvicorn); `import agentkit`
never imports this package. See docs/web.md.
"""

try:
    import starlette  # noqa: F401 - only to say which extra is missing
except ImportError as _exc:  # pragma: no cover - only without the extra
    raise ImportError(
        "agentkit.web needs starlette: pip install 'agentkit[web]'", name=_exc.name
    ) from _exc

from ._app import OWNER_COOKIE, OwnerHook, WebLimits, browser_owner, create_app
from ._history import ui_messages
from ._protocol import DONE, HEADERS, UIStream, frame
from ._serve import serve, store_from_url

__all__ = [
    "DONE",
    "HEADERS",
    "OWNER_COOKIE",
    "OwnerHook",
    "UIStream",
    "WebLimits",
    "browser_owner",
    "create_app",
    "frame",
    "serve",
    "store_from_url",
    "ui_messages",
]
