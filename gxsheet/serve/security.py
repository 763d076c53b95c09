"""What every response and request goes through: security headers, a cap on request bodies, a token-free access log.

Pure ASGI middleware (not Starlette's ``BaseHTTPMiddleware``) so uploads stream through untouched
and a body over the cap is refused as soon as it is known: at once when ``Content-Length`` says so,
otherwise at the first chunk past the cap — before the file is parsed or stored.

Link tokens are passwords in a URL: the access log writes ``/u/…`` instead of them, drops query
strings, and never sees request headers (``Authorization``); uvicorn's own access log is off.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ACCESS_LOG", "BodyTooLarge", "Guard", "redact"]

ACCESS_LOG = logging.getLogger("gxsheet.serve.access")

#: Content-Security-Policy: scripts and styles from this server only, no frames, no plugins, forms post here
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

HEADERS = [
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CSP.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]

_TOKEN_PATH = re.compile(r"^/(u|c)/[^/]*")


def redact(path: str) -> str:
    """A request path as logged: the link token replaced, nothing after '?' (never in the path anyway)."""
    return _TOKEN_PATH.sub(lambda m: f"/{m.group(1)}/…", path.split("?", 1)[0])[:200]


class BodyTooLarge(Exception):
    """The request body passed the cap while being read."""


class Guard:
    """Security headers on every response, the body cap on every request, one redacted log line per request."""

    def __init__(self, app: ASGIApp, *, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 0, "sent": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["sent"] = True
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in HEADERS if h[0] not in names]
            await send(message)

        length = _content_length(scope)
        try:
            if length is not None and length > self.max_body:
                await self._too_large(send_with_headers)
                return
            await self.app(scope, self._capped(receive), send_with_headers)
        except BodyTooLarge:
            if not state["sent"]:
                await self._too_large(send_with_headers)
        finally:
            ACCESS_LOG.info("%s %s %s %.0fms", scope.get("method", "?"), redact(scope.get("path", "")),
                            state["status"] or "-", (time.perf_counter() - started) * 1000)

    def _capped(self, receive: Receive) -> Receive:
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge()
            return message

        return wrapped

    async def _too_large(self, send: Send) -> None:
        mb = self.max_body / (1024 * 1024)
        body = (f'{{"error": {{"kind": "too-large", "message": "上传的文件超过 {mb:.0f} MB 上限，未保存。'
                f'请检查是否误传了其他文件（年报工作簿通常小于 1 MB）。"}}}}').encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for k, v in scope.get("headers", []):
        if k == b"content-length":
            try:
                return int(v)
            except ValueError:
                return None
    return None
