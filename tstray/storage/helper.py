"""The keyring helper: one short-lived process that does one keyring task for
the tray and exits.

The keyring library, its Secret Service client and the cryptography package
cost the tray about 16 MB for as long as it runs, to be used a few times an
hour (load at start, save after a refresh or a sign-in). So the tray runs
``python -m tstray.storage.helper`` (``tstray --keyring-helper`` when frozen)
for each task; ``tstray.storage.process_store`` is its other end.

The request is one JSON object on stdin (never on the command line, which
anyone can read with ``ps``)::

    {"service": "tstray", "op": "save_tokens", "tokens": "<encoded>",
     "timeout_s": 10}

with ``op`` one of ``OPERATIONS``; ``client_id`` and ``secret`` go with the
client-secret tasks. The answer is exactly one JSON line on stdout::

    {"ok": true, "value": <text or null>}
    {"ok": false, "error": "keyring_unavailable" | "stored_data", "reason": "..."}

exit 0; a request it cannot read gets ``{"ok": false, "error":
"bad_request", ...}`` and exit 2; exit 3 when nobody is left to read the
answer, 1 on anything unexpected. The work itself is ``TokenStore``'s, so its
rules hold here: nothing stored is removed because of a failure, and a reason
never quotes a stored value. This process logs nothing and writes nothing but
the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import IO, Any

from tstray.storage.codec import decode_tokens, encode_tokens
from tstray.storage.errors import StoredDataError, StoreError
from tstray.storage.keyring_store import TokenStore

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_REQUEST = 2
EXIT_NO_READER = 3

OPERATIONS = frozenset(
    {
        "load_tokens",
        "save_tokens",
        "delete_tokens",
        "load_client_secret",
        "save_client_secret",
        "delete_client_secret",
    }
)
# A token set is a few kilobytes; anything much larger is not a request.
MAX_REQUEST_BYTES = 256 * 1024
DEFAULT_TIMEOUT_S = 10.0


class BadRequestError(Exception):
    """The request on stdin is not one this helper serves."""


def read_request(raw: bytes) -> dict[str, Any]:
    """Checks the request's shape; the values are checked by ``TokenStore``.

    Raises:
        BadRequestError: not a JSON object with a known ``op`` and the
            fields it needs, as text.
    """
    if len(raw) > MAX_REQUEST_BYTES:
        raise BadRequestError("the request is too large")
    try:
        request = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequestError("the request is not JSON") from exc
    if not isinstance(request, dict):
        raise BadRequestError("the request is not a JSON object")

    op = request.get("op")
    if not isinstance(op, str) or op not in OPERATIONS:
        raise BadRequestError("unknown op")
    needed = ["service"]
    if op == "save_tokens":
        needed.append("tokens")
    if op.endswith("client_secret"):
        needed.append("client_id")
    if op == "save_client_secret":
        needed.append("secret")
    for name in needed:
        if not isinstance(request.get(name), str) or not request[name]:
            raise BadRequestError(f"{name} is missing or not text")
        if not _is_plain_text(request[name]):
            raise BadRequestError(f"{name} holds a NUL or a lone surrogate")

    if op == "save_tokens":
        try:
            decode_tokens(request["tokens"])
        except StoredDataError as exc:
            raise BadRequestError("tokens are not in the stored format") from exc

    timeout_s = request.get("timeout_s", DEFAULT_TIMEOUT_S)
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float):
        raise BadRequestError("timeout_s is not a number")
    if not 0 < timeout_s <= 600:
        raise BadRequestError("timeout_s is out of range")
    request["timeout_s"] = float(timeout_s)
    return request


def _is_plain_text(text: str) -> bool:
    # D-Bus drops the connection on a NUL; a lone surrogate cannot be sent.
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def serve(request: dict[str, Any]) -> str | None:
    """Runs the request's task; returns the value to send back.

    Raises:
        StoreError: as ``TokenStore`` raises it.
    """
    store = TokenStore(request["service"], timeout_s=request["timeout_s"])
    op = request["op"]
    try:
        if op == "load_tokens":
            tokens = await store.load_tokens()
            return None if tokens is None else encode_tokens(tokens)
        if op == "save_tokens":
            await store.save_tokens(decode_tokens(request["tokens"]))
        elif op == "delete_tokens":
            await store.delete_tokens()
        elif op == "load_client_secret":
            return await store.load_client_secret(request["client_id"])
        elif op == "save_client_secret":
            await store.save_client_secret(request["client_id"], request["secret"])
        else:
            await store.delete_client_secret(request["client_id"])
        return None
    finally:
        store.close()


def answer_for(request: dict[str, Any]) -> dict[str, Any]:
    """The answer to send for ``request``: its value or its failure."""
    try:
        value = asyncio.run(serve(request))
    except StoredDataError as exc:
        return {"ok": False, "error": "stored_data", "reason": exc.reason}
    except StoreError as exc:
        return {"ok": False, "error": "keyring_unavailable", "reason": exc.reason}
    return {"ok": True, "value": value}


def main(argv: Sequence[str] | None = None) -> int:
    del argv  # the request comes on stdin only
    # The answer goes to a copy of stdout; stdout itself then points at
    # stderr, so nothing a library prints can corrupt the answer line.
    answer_out: IO[str] = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)

    # TokenStore logs each failure; here the parent logs it, so the helper
    # stays silent unless something is badly wrong.
    logging.disable(logging.ERROR)

    try:
        request = read_request(sys.stdin.buffer.read(MAX_REQUEST_BYTES + 1))
    except BadRequestError as exc:
        answer = {"ok": False, "error": "bad_request", "reason": str(exc)}
        code = EXIT_BAD_REQUEST
    else:
        answer = answer_for(request)
        code = EXIT_OK

    try:
        answer_out.write(json.dumps(answer) + "\n")
        answer_out.flush()
    except OSError:
        # BrokenPipeError: the tray that asked has gone (quit or killed).
        return EXIT_NO_READER
    return code


def run_and_exit() -> None:
    """Serves one request and ends the process, whatever happened.

    A keyring call that hung past its time limit leaves a thread behind, so
    the process must not wait for its threads: it ends here at once, also
    when the answer could not be written or something failed unexpectedly.
    """
    exit_code = EXIT_FAILED
    try:
        exit_code = main()
    finally:
        with contextlib.suppress(OSError):
            sys.stderr.flush()
        os._exit(exit_code)


if __name__ == "__main__":
    run_and_exit()
