"""A real HTTP server on a loopback port for tests that need a second origin or real sockets.

    url, stop = serve(answer)   # answer(request) -> (status, headers, body)
    ...
    stop()

`answer` runs in the server's thread for every GET and POST; the request body has been read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Request:
    """What the server received: the path and the headers, names lower-cased."""

    path: str
    headers: dict[str, str]


Answer = Callable[[Request], tuple[int, dict[str, str], bytes]]


def serve(answer: Answer) -> tuple[str, Callable[[], None]]:
    """Start a threaded server on 127.0.0.1; return its base URL and a function that stops it."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            request = Request(self.path, {k.lower(): v for k, v in self.headers.items()})
            status, headers, body = answer(request)
            self.send_response(status)
            for name, value in {**headers, "content-length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return f"http://127.0.0.1:{server.server_address[1]}", stop
