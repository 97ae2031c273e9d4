"""The FastAPI + uvicorn baseline of ``bench_local_api.py``: the same JSON
answer behind the same key check, in its own process.

Usage: ``python fastapi_app.py PORT WORK_DIR STACK``; ``WORK_DIR`` holds
``body.json`` (the answer) and ``api_key`` (the key), both written by the
benchmark; ``STACK`` is ``fast`` (uvicorn on uvloop with httptools, its
quickest setup) or ``plain`` (asyncio and h11, ``pip install uvicorn``
without extras). It listens on 127.0.0.1 only and never prints the key or the
body.
"""

from __future__ import annotations

import hmac
import json
import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Header, HTTPException


def make_app(work_dir: Path) -> FastAPI:
    payload: dict[str, Any] = json.loads((work_dir / "body.json").read_bytes())
    expected = f"Bearer {(work_dir / 'api_key').read_text().strip()}".encode()
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    # What a small token manager written with FastAPI looks like: a header
    # dependency, a constant-time compare, a dict returned as JSON.
    @app.get("/v1/token")
    async def token(authorization: str = Header(default="")) -> dict[str, Any]:
        if not hmac.compare_digest(authorization.encode(), expected):
            raise HTTPException(status_code=401, detail="unauthorized")
        return payload

    return app


def main() -> None:
    port, work_dir, stack = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    fast = stack == "fast"
    uvicorn.run(
        make_app(work_dir),
        host="127.0.0.1",
        port=port,
        loop="uvloop" if fast else "asyncio",
        http="httptools" if fast else "h11",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
