"""HEAD wherever GET is served: the GET answer's status and headers, without its body (RFC 9110, section 9.3.2).

FastAPI's routes take only the methods they declare, so `HEAD /tickets/{id}` answered 405 while
`Allow` named HEAD. Rather than declare HEAD beside every GET, a HEAD request goes through the app
as the GET it stands for (the same authentication, authorization matrix and rate limit) and the
body is dropped on the way out. `Content-Length` stays that of the GET, as a HEAD answer's may.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    """Serve HEAD as GET with the body left out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a HEAD request on as GET; send its answer's start and an empty, final body."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def send_without_body(message: Message) -> None:
            nonlocal finished
            if message["type"] != "http.response.body":
                await send(message)
                return
            if not finished and not message.get("more_body", False):
                finished = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
