"""The OpenAPI description against what the server really answers: every
route and method in both or neither, every error code the code can send
listed, the rendered docs up to date, and the document served as it should
be (no key needed, the Host rules still applied)."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.integration.local_service_support import (
    Clock,
    LoopThread,
    Session,
    get,
    running_service,
    snapshot,
)
from tstray.server import LocalTokenService
from tstray.server.api import served_routes
from tstray.server.openapi import ERROR_CODES, document

ROOT = Path(__file__).resolve().parents[2]


def doc_routes(spec: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    return {
        path: tuple(method.upper() for method in operations)
        for path, operations in spec["paths"].items()
    }


def test_every_served_route_is_described_and_nothing_else() -> None:
    described = doc_routes(document(31023))
    served = served_routes()
    assert set(described) == set(served)
    for path, methods in served.items():
        assert sorted(described[path]) == sorted(methods), path


def test_every_error_code_the_server_sends_is_listed_and_no_other() -> None:
    sources = "".join(
        path.read_text() for path in (ROOT / "tstray" / "server").glob("*.py")
    )
    # Codes are the string after a status in an error answer or a refusal.
    sent = set(
        re.findall(
            r"(?:error_response|_refuse|HttpError)\(\s*(?:request,\s*)?"
            r"(?:\d{3}|error\.status|status),\s*\"([a-z_]+)\"",
            sources,
        )
    )
    assert {"unauthorized", "not_found", "upstream_unreachable"} <= sent
    assert sent <= set(ERROR_CODES), sent - set(ERROR_CODES)
    # And each listed code is one the code can send.
    for code in ERROR_CODES:
        assert f'"{code}"' in sources, code


def test_every_reference_in_the_document_resolves() -> None:
    spec = document(31023)
    text = json.dumps(spec)
    for reference in re.findall(r'"\$ref": "#/([^"]+)"', text):
        node: Any = spec
        for part in reference.split("/"):
            node = node[part]
    assert spec["openapi"] == "3.1.0"
    assert spec["servers"] == [{"url": "http://127.0.0.1:31023"}]


def _docs_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_local_api", ROOT / "docs" / "make_local_api.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_local_api_is_up_to_date() -> None:
    rendered = _docs_script().render()
    on_disk = (ROOT / "docs" / "local-api.md").read_text(encoding="utf-8")
    assert on_disk == rendered, "run: PYTHONPATH=. python docs/make_local_api.py"
    for path in document(31023)["paths"]:
        assert f"`{path}`" in on_disk


@pytest.fixture(scope="module")
def service() -> Iterator[LocalTokenService]:
    gui_loop = LoopThread()
    try:
        # A closed loopback port: nothing here may reach TradeStation.
        nowhere = {"live": "http://127.0.0.1:9/v3", "sim": "http://127.0.0.1:9/v3"}
        with running_service(
            Session(current=snapshot()), gui_loop.loop, Clock(), upstreams=nowhere
        ) as service:
            yield service
    finally:
        gui_loop.close()


def test_the_document_is_served_without_a_key(service: LocalTokenService) -> None:
    answer = get(service.port, "/v1/openapi.json", key=None)
    assert answer.status == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json() == document(service.port)


def test_the_document_still_keeps_the_host_and_origin_rules(
    service: LocalTokenService,
) -> None:
    rebinding = get(service.port, "/v1/openapi.json", key=None, host="evil.example")
    assert rebinding.status == 421
    browser = get(
        service.port, "/v1/openapi.json", key=None, headers={"Origin": "http://x.y"}
    )
    assert browser.status == 403


def test_each_described_operation_is_answered_and_nothing_undescribed(
    service: LocalTokenService,
) -> None:
    for path, methods in doc_routes(document(service.port)).items():
        concrete = path.replace("{path}", "brokerage/accounts")
        for method in methods:
            answer = get(service.port, concrete, method=method, key="wrong-" * 4)
            assert answer.status not in (404, 405), (method, path)
        refused = get(service.port, concrete, method="PATCH")
        assert refused.status == 405, path
    for undescribed in ("/v1/tokens", "/v1/api/paper/x", "/v2/token", "/"):
        assert get(service.port, undescribed).status == 404, undescribed
