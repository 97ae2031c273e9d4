"""CORS for the web origins the user listed in ``[server] allowed_origins``.

The local token service refuses every request that carries an ``Origin``
(a web page) unless that exact origin is listed; for a listed one it answers
the browser's preflight and names that origin, and only that one, in
``Access-Control-Allow-Origin``. It never answers with ``*``, never allows an
origin by pattern or prefix, and never changes an answer already cached for
another request (answers are copied, not edited).
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable

from tstray.server.http import COMMON_HEADERS, Answer, Response, StreamResponse

_MAX_AGE_S = 600
_ALLOWED_HEADERS = b"Authorization, Content-Type, Accept"


class CorsPolicy:
    """Which origins may call the service from a browser, and the headers
    that tell the browser so.

    Args:
        allowed_origins: exact origins (``http://localhost:3000``).
    """

    def __init__(self, allowed_origins: Iterable[str] = ()) -> None:
        self._allowed = frozenset(allowed_origins)

    def allows(self, origin: str) -> bool:
        return origin in self._allowed

    def preflight(
        self, origin: str, methods: tuple[str, ...], private_network: bool
    ) -> Response:
        """The answer to an allowed origin's ``OPTIONS`` preflight.

        Args:
            origin: the request's (allowed) origin.
            methods: what the route takes.
            private_network: the browser asked for Private Network Access
                (a public page calling a loopback service).
        """
        headers = [
            b"Access-Control-Allow-Methods: %s\r\n" % ", ".join(methods).encode(),
            b"Access-Control-Allow-Headers: " + _ALLOWED_HEADERS + b"\r\n",
            b"Access-Control-Max-Age: %d\r\n" % _MAX_AGE_S,
        ]
        if private_network:
            headers.append(b"Access-Control-Allow-Private-Network: true\r\n")
        return Response(204, b"", _origin_headers(origin) + b"".join(headers))

    def decorate(
        self, answer: Answer | Awaitable[Answer], origin: str
    ) -> Answer | Awaitable[Answer]:
        """``answer`` with the CORS headers for ``origin`` added."""
        if isinstance(answer, Response | StreamResponse):
            return _with_origin(answer, origin)
        return _decorate_later(answer, origin)


def _origin_headers(origin: str) -> bytes:
    # The origin was matched exactly against the config, so it holds no CR
    # or LF; Vary keeps a cache from serving one origin's answer to another.
    return (
        b"Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n" % origin.encode()
        + COMMON_HEADERS
    )


def _with_origin(answer: Answer, origin: str) -> Answer:
    extra = b"Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n" % origin.encode()
    if isinstance(answer, StreamResponse):
        return StreamResponse(answer.status, answer.headers + extra, answer.produce)
    return Response(answer.status, answer.body, answer.headers + extra, answer.close)


async def _decorate_later(answer: Awaitable[Answer], origin: str) -> Answer:
    return _with_origin(await answer, origin)
