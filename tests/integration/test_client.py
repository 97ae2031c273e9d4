"""``tstray.client.get_token`` and the README's Node.js example against a
real LocalTokenService on loopback, with the port and the key found in a
private config folder the way a user's program would find them."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.integration.local_service_support import (
    API_KEY,
    FRESH_TOKEN,
    TOKEN,
    Clock,
    LoopThread,
    Session,
    running_service,
    snapshot,
)
from tstray.client import TokenUnavailableError, connection_info, get_token
from tstray.server import LocalTokenService
from tstray.session.state import SessionSnapshot, SessionState

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("no_secrets_in_logs")


@pytest.fixture
def session() -> Session:
    return Session(
        current=snapshot(),
        after_refresh=snapshot(token=FRESH_TOKEN, expires_in_s=1800),
    )


class EchoApi(ThreadingHTTPServer):
    """Stands in for TradeStation's API behind the pass-through."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        body = json.dumps({"path": self.path, "token_matches": token == TOKEN}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def echo_api() -> Iterator[EchoApi]:
    server = EchoApi()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def service(
    session: Session, gui_loop: LoopThread, echo_api: EchoApi
) -> Iterator[LocalTokenService]:
    base = f"http://127.0.0.1:{echo_api.server_address[1]}/v3"
    upstreams = {"live": base, "sim": base}
    with running_service(
        session, gui_loop.loop, Clock(), upstreams=upstreams
    ) as service:
        yield service


def write_config(folder: Path, port: int, key: str | None = API_KEY) -> Path:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    config = folder / "config.toml"
    config.write_text(f"[server]\nport = {port}\n")
    if key is not None:
        key_file = folder / "api-key"
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)
    return config


def test_get_token_reads_port_and_key_and_returns_the_token(
    service: LocalTokenService, tmp_path: Path
) -> None:
    config = write_config(tmp_path, service.port)
    assert get_token(config_path=config) == TOKEN


def test_min_ttl_makes_the_service_refresh_first(
    service: LocalTokenService, session: Session, tmp_path: Path
) -> None:
    config = write_config(tmp_path, service.port)
    assert get_token(1500, config_path=config) == FRESH_TOKEN
    assert session.calls == [1500]


def test_fractions_of_a_second_are_sent_as_the_service_reads_them(
    service: LocalTokenService, session: Session, tmp_path: Path
) -> None:
    config = write_config(tmp_path, service.port)
    assert get_token(1199.5, config_path=config) == TOKEN
    assert get_token(1e-7, config_path=config) == TOKEN
    assert session.calls == []
    with pytest.raises(ValueError):
        get_token(3601, config_path=config)
    with pytest.raises(ValueError):
        get_token(float("nan"), config_path=config)


def test_the_environment_and_profiles_are_honoured(
    service: LocalTokenService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path / "explicit", service.port)
    monkeypatch.setenv("TSTRAY_CONFIG", str(config))
    assert get_token() == TOKEN

    monkeypatch.delenv("TSTRAY_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    write_config(tmp_path / "xdg" / "tstray" / "demo", service.port)
    assert get_token(profile="demo") == TOKEN
    with pytest.raises(TokenUnavailableError) as raised:
        get_token()  # the default profile has no key there
    assert raised.value.code == "no_api_key"


def test_the_services_refusal_is_raised_with_its_words(
    session: Session, gui_loop: LoopThread, tmp_path: Path
) -> None:
    session.current = SessionSnapshot(state=SessionState.SIGN_IN_NEEDED)
    with running_service(session, gui_loop.loop, Clock()) as service:
        config = write_config(tmp_path, service.port)
        with pytest.raises(TokenUnavailableError) as raised:
            get_token(config_path=config)
    assert raised.value.code == "sign_in_needed"
    assert raised.value.status == 503
    assert "sign in from the tray" in str(raised.value)


def test_a_wrong_key_is_reported_as_unauthorized(
    service: LocalTokenService, tmp_path: Path
) -> None:
    config = write_config(tmp_path, service.port, key="not-the-key-0123456789")
    with pytest.raises(TokenUnavailableError) as raised:
        get_token(config_path=config)
    assert raised.value.code == "unauthorized"
    assert raised.value.status == 401


def test_no_running_tstray_is_reported_as_not_running(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = write_config(tmp_path, port)
    with pytest.raises(TokenUnavailableError) as raised:
        get_token(config_path=config, timeout_s=5)
    assert raised.value.code == "not_running"


def test_the_key_is_hidden_from_repr(tmp_path: Path) -> None:
    info = connection_info(config_path=write_config(tmp_path, 31999))
    assert info.base_url == "http://127.0.0.1:31999"
    assert API_KEY not in repr(info)
    assert info.headers == {"Authorization": f"Bearer {API_KEY}"}


def test_importing_the_client_loads_no_qt_and_no_httpx() -> None:
    probe = (
        "import sys, tstray.client\n"
        "heavy = sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('PySide6', 'httpx', 'httpcore', 'qasync', 'keyring'))\n"
        "print(heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert done.stdout.strip() == "[]"


def readme_block(language: str, marker: str) -> str:
    """The README's fenced ``language`` block that contains ``marker``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in re.findall(rf"```{language}\n(.*?)```", readme, re.S):
        if marker in block:
            return str(block)
    raise AssertionError(f"no {language} block with {marker!r} in the README")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_readme_node_example_runs(
    service: LocalTokenService, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config", service.port)
    # The example asks `tstray api-key` for the key: the real command, found
    # on PATH, reading this test's config.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "tstray"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tstray "$@"\n')
    shim.chmod(0o700)
    script = tmp_path / "token.mjs"
    script.write_text(readme_block("js", "fetch("))

    done = subprocess.run(
        ["node", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
            "TSTRAY_CONFIG": str(config),
            "TSTRAY_URL": f"http://127.0.0.1:{service.port}",
        },
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first == f"a token of {len(TOKEN)} characters, valid 1200 s more"
    assert json.loads(second) == {
        "path": "/v3/brokerage/accounts",
        "token_matches": True,
    }
    assert TOKEN not in done.stdout
    assert API_KEY not in done.stdout + done.stderr


def test_the_readme_httpx_example_runs(
    service: LocalTokenService, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config", service.port)
    script = tmp_path / "example.py"
    script.write_text(
        readme_block("python", "connection_info()") + "print(accounts['path'])\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TSTRAY_CONFIG": str(config)},
    )
    assert done.returncode == 0, done.stderr
    streamed, accounts_path = done.stdout.splitlines()
    assert json.loads(streamed) == {
        "path": "/v3/marketdata/stream/quotes/MSFT",
        "token_matches": True,
    }
    assert accounts_path == "/v3/brokerage/accounts"
