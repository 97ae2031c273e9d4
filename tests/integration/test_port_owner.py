"""A program of another user squatting tstray's port never receives the API
key: the client checks who listens before it sends anything."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.ports import free_port
from tstray.client import TokenUnavailableError, get_token
from tstray.port_owner import foreign_listener, listener_uids


def test_own_listener_is_trusted() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert listener_uids(port) == {os.getuid()}
        assert not foreign_listener(port)
    assert listener_uids(port) == set()


def test_table_rows_are_read_by_state_port_and_uid(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
    (tmp_path / "net" / "tcp").write_text(
        header
        + "   0: 0100007F:7A57 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1234 0 1 1\n"
        + "   1: 0100007F:7A57 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  999 0 2 1\n"
    )
    assert listener_uids(0x7A57, tmp_path) == {1234}
    assert listener_uids(0x7A58, tmp_path) == set()


@pytest.mark.skipif(
    os.getuid() != 0 or not shutil.which("setpriv"), reason="needs root"
)
def test_key_is_not_sent_to_another_users_listener(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f"[server]\nport = {port}\n", encoding="utf-8")
    (tmp_path / "api-key").write_text("a-key-that-must-stay-home\n", encoding="ascii")
    squatter = subprocess.Popen(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-c",
            "import socket,sys\n"
            "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            f"s.bind(('127.0.0.1',{port})); s.listen(); print('ready', flush=True)\n"
            "c,_=s.accept(); sys.stdout.write(c.recv(4096).decode()); sys.stdout.flush()\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert squatter.stdout is not None
        assert squatter.stdout.readline().strip() == "ready"
        with pytest.raises(TokenUnavailableError) as caught:
            get_token(config_path=config, timeout_s=2)
        assert caught.value.code == "foreign_listener"
        assert "a-key-that-must-stay-home" not in str(caught.value)
    finally:
        squatter.kill()
        output, _ = squatter.communicate(timeout=5)
    assert "a-key-that-must-stay-home" not in output
