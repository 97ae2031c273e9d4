"""The OpenAPI 3.1 description of the local token service, served at
``/v1/openapi.json`` and rendered into ``docs/local-api.md``.

It is plain data built by hand next to the routes it describes; a test checks
that every route the server answers is described here and the other way
round, and that every ``error`` code the server can send is listed. It holds
no secret: no key, no token, no example that looks like one.
"""

from __future__ import annotations

from typing import Any

import tstray

# Every stable ``error`` code: the statuses it comes with and what it means.
ERROR_CODES: dict[str, tuple[tuple[int, ...], str]] = {
    "bad_request": ((400,), "the request is not well-formed HTTP/1.1"),
    "missing_host": ((400,), "an HTTP/1.1 request without a Host header"),
    "invalid_host": (
        (400, 421),
        "the Host is not 127.0.0.1, localhost or [::1] with the service's port",
    ),
    "key_in_query": ((400,), "a key or token in the URL; send it in a header"),
    "invalid_min_ttl": ((400,), "min_ttl is not a number of seconds from 0 to 3600"),
    "invalid_path": ((400,), "a pass-through path with characters not allowed"),
    "unauthorized": ((401,), "the API key is missing or wrong"),
    "origin_not_allowed": (
        (403,),
        "a browser request from an origin not in [server] allowed_origins",
    ),
    "proxied_request": ((403,), "the request carries proxy headers"),
    "not_found": ((404,), "no such path"),
    "method_not_allowed": ((405,), "the path does not take this method"),
    "request_timeout": ((408,), "the request was not sent in time"),
    "body_not_allowed": ((413,), "a body where none is taken, or one too large"),
    "headers_too_large": ((431,), "the request head is too large"),
    "internal_error": ((500,), "a bug in tstray; see its log"),
    "transfer_encoding": ((501,), "chunked request bodies are not accepted"),
    "upstream_unreachable": (
        (502,),
        "the TradeStation API could not be reached or answered nonsense",
    ),
    "signed_out": ((503,), "no one is signed in; sign in from the tray"),
    "keyring_unavailable": (
        (503,),
        "the stored session could not be read: the keyring is locked or not"
        " answering; tstray tries again every 30 s",
    ),
    "sign_in_needed": ((503,), "TradeStation wants a new sign-in"),
    "token_expired": ((503,), "no token with enough life left; tstray is retrying"),
    "min_ttl_too_long": (
        (503,),
        "the token is valid but no token would live min_ttl seconds; ask for less",
    ),
    "refresh_timeout": ((503,), "the refresh did not finish in time"),
    "starting": (
        (503,),
        "tstray has just started and is still reading its stored session",
    ),
    "too_many_subscribers": ((503,), "too many /v1/events streams are open"),
    "unavailable": ((503,), "the service is stopping"),
    "http_version": ((505,), "only HTTP/1.0 and HTTP/1.1 are served"),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("Error")}},
    }


_SCHEMAS: dict[str, Any] = {
    "Token": {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in", "expires_at"],
        "properties": {
            "access_token": {"type": "string", "description": "the bearer token"},
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer", "description": "seconds left"},
            "expires_at": {"type": "string", "format": "date-time"},
            "scope": {"type": "string"},
        },
    },
    "Status": {
        "type": "object",
        "required": ["state", "health", "version"],
        "properties": {
            "state": {
                "enum": [
                    "signed_out",
                    "valid",
                    "refreshing",
                    "retrying",
                    "offline",
                    "expired_retrying",
                    "sign_in_needed",
                ]
            },
            "health": {"enum": ["grey", "green", "amber", "red"]},
            "account": {"type": ["string", "null"]},
            "expires_at": {"type": ["string", "null"], "format": "date-time"},
            "expires_in": {"type": ["integer", "null"]},
            "last_refresh_at": {"type": ["string", "null"], "format": "date-time"},
            "next_refresh_at": {"type": ["string", "null"], "format": "date-time"},
            "last_error": {"type": "string"},
            "error_code": {"type": "string"},
            "sign_in_deadline": {"type": ["string", "null"], "format": "date-time"},
            "version": {"type": "string"},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {
                "enum": sorted(ERROR_CODES),
                "description": "a stable code; see the table in the API's description",
            },
            "message": {"type": "string", "description": "the reason, in words"},
        },
    },
}

_UNAUTHORIZED = _error("the API key is missing or wrong (`unauthorized`)")
_NO_TOKEN = _error(
    "no valid token can be had: `signed_out`, `sign_in_needed`,"
    " `token_expired`, `min_ttl_too_long`, `refresh_timeout`, `starting`,"
    " `keyring_unavailable`"
)
_SECURED: list[dict[str, list[str]]] = [{"apiKey": []}]

_EVENTS_DESCRIPTION = """\
Server-sent events. On connect: a `state` event, then a `token` event if a
valid token is held. Then `event: state` (the /v1/status JSON) whenever the
session changes and `event: token` (the /v1/token JSON) whenever a new access
token is published, and a `: keep-alive` comment line every 15 seconds. At
most 32 streams at once; a client that stops reading is dropped."""

_PASSTHROUGH_DESCRIPTION = """\
Forwarded to `<base>/<path>?<query>`, where `<base>` is `[api] {name}_url`
(default `{default}`), with `Authorization: Bearer <access token>` added.
Only `Content-Type` and `Accept` are forwarded from the request, never the
local API key. The body (at most 1 MiB, with Content-Length) is forwarded;
the answer is streamed back chunked as it arrives, with its status,
`Content-Type`, `Content-Encoding` and `Retry-After`, and
`X-Tstray-Upstream: {name}` to tell it from tstray's own answers. An
upstream 401 is answered by one refresh and one retry."""


def _passthrough(name: str, default: str) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for method in ("get", "post", "put", "delete"):
        operation: dict[str, Any] = {
            "operationId": f"{method}_{name}_api",
            "summary": f"{method.upper()} on the TradeStation {name} API",
            "description": _PASSTHROUGH_DESCRIPTION.format(name=name, default=default),
            "security": _SECURED,
            "parameters": [
                {
                    "name": "path",
                    "in": "path",
                    "required": True,
                    "description": "the API path after /v3/, e.g. brokerage/accounts",
                    "schema": {"type": "string"},
                }
            ],
            "responses": {
                "default": {"description": "TradeStation's answer, streamed"},
                "400": _error("the path is not allowed (`invalid_path`)"),
                "401": _UNAUTHORIZED,
                "502": _error("TradeStation unreachable (`upstream_unreachable`)"),
                "503": _NO_TOKEN,
            },
        }
        if method in ("post", "put", "delete"):
            operation["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": {}}},
            }
        operations[method] = operation
    return operations


def _paths() -> dict[str, Any]:
    return {
        "/v1/token": {
            "get": {
                "operationId": "get_token",
                "summary": "a valid access token",
                "description": "Refreshes first (one refresh however many ask)"
                " when the token would expire within min_ttl seconds.",
                "security": _SECURED,
                "parameters": [
                    {
                        "name": "min_ttl",
                        "in": "query",
                        "required": False,
                        "description": "seconds the token must still live (0-3600)",
                        "schema": {"type": "number", "minimum": 0, "maximum": 3600},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "the token",
                        "content": {"application/json": {"schema": _ref("Token")}},
                    },
                    "400": _error("min_ttl is not valid (`invalid_min_ttl`)"),
                    "401": _UNAUTHORIZED,
                    "503": _NO_TOKEN,
                },
            }
        },
        "/v1/status": {
            "get": {
                "operationId": "get_status",
                "summary": "the session's state",
                "security": _SECURED,
                "responses": {
                    "200": {
                        "description": "the state",
                        "content": {"application/json": {"schema": _ref("Status")}},
                    },
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/v1/events": {
            "get": {
                "operationId": "get_events",
                "summary": "state and token changes as server-sent events",
                "description": _EVENTS_DESCRIPTION,
                "security": _SECURED,
                "responses": {
                    "200": {
                        "description": "an endless event stream",
                        "content": {
                            "text/event-stream": {"schema": {"type": "string"}}
                        },
                    },
                    "401": _UNAUTHORIZED,
                    "503": _error("too many streams (`too_many_subscribers`)"),
                },
            }
        },
        "/v1/openapi.json": {
            "get": {
                "operationId": "get_openapi",
                "summary": "this description (no API key needed)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "an OpenAPI 3.1 document",
                        "content": {"application/json": {"schema": {}}},
                    }
                },
            }
        },
        "/v1/api/live/{path}": _passthrough("live", "https://api.tradestation.com/v3"),
        "/v1/api/sim/{path}": _passthrough(
            "sim", "https://sim-api.tradestation.com/v3"
        ),
        "/healthz": {
            "get": {
                "operationId": "get_health",
                "summary": "200 `ok` when a valid token is held, else 503",
                "security": [],
                "responses": {
                    "200": {"description": "ok", "content": {"text/plain": {}}},
                    "503": {
                        "description": "no valid token",
                        "content": {"text/plain": {}},
                    },
                },
            },
            "head": {
                "operationId": "head_health",
                "summary": "as GET, without the body",
                "security": [],
                "responses": {
                    "200": {"description": "a valid token is held"},
                    "503": {"description": "no valid token"},
                },
            },
        },
    }


_DESCRIPTION = """\
Hands the TradeStation access token that tstray keeps fresh to local programs,
and forwards requests to TradeStation's API with it.

Every request must carry `Host: 127.0.0.1:<port>` (or `localhost:<port>`,
`[::1]:<port>`), no proxy headers, and no `Origin` unless that origin is listed
in `[server] allowed_origins` (then CORS is answered for it alone, preflight
included). `/v1/*` routes other than this document need the local API key
(`tstray api-key`) as `Authorization: Bearer <key>`; never put it in the URL.
Every answer has `Cache-Control: no-store`. Errors are JSON
`{"error": <code>, "message": <words>}` with these stable codes:

| code | status | meaning |
|---|---|---|
"""


def document(port: int) -> dict[str, Any]:
    """The OpenAPI document for a service listening on ``port``."""
    table = "".join(
        f"| `{code}` | {', '.join(map(str, statuses))} | {meaning} |\n"
        for code, (statuses, meaning) in ERROR_CODES.items()
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tstray local token service",
            "version": tstray.__version__,
            "description": _DESCRIPTION + table,
        },
        "servers": [{"url": f"http://127.0.0.1:{port}"}],
        "paths": _paths(),
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the local API key (`tstray api-key`)",
                }
            },
        },
    }
