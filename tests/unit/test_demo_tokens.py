"""The demo service's signed values and its persisted state."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from tstray.demo.tokens import (
    KEY_FILE_NAME,
    STATE_FILE_NAME,
    ChainRegistry,
    DemoKeys,
    RefreshClaims,
)

CLAIMS = RefreshClaims(
    chain_id="c" * 32,
    generation=0,
    issued_at=1000.0,
    chain_started_at=1000.0,
    client_id="tstray-demo",
    epoch=0,
    pkce=False,
    user_name="Alice",
    scope="openid offline_access",
    audience="https://api.tradestation.com",
)


def _b64(value: object) -> str:
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    state_dir = tmp_path / "new" / "demo"
    first = DemoKeys.load_or_create(state_dir)
    key_file = state_dir / KEY_FILE_NAME
    assert key_file.stat().st_mode & 0o777 == 0o600

    second = DemoKeys.load_or_create(state_dir)
    token = first.encode_jwt({"sub": "x"})
    assert second.decode_jwt(token) == {"sub": "x"}
    assert "hidden" in repr(first) and key_file.read_text() not in repr(first)


def test_broken_key_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE_NAME).write_text("not hex at all")
    keys = DemoKeys.load_or_create(tmp_path)
    assert len(bytes.fromhex((tmp_path / KEY_FILE_NAME).read_text())) == 32
    assert keys.decode_jwt(keys.encode_jwt({"a": 1})) == {"a": 1}


def test_two_services_starting_at_once_share_one_key(tmp_path: Path) -> None:
    results: list[DemoKeys] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(DemoKeys.load_or_create(tmp_path))
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    token = results[0].encode_refresh_token(CLAIMS)
    assert all(keys.decode_refresh_token(token) == CLAIMS for keys in results)


def test_jwt_is_hs256_and_tamper_evident(tmp_path: Path) -> None:
    keys = DemoKeys.load_or_create(tmp_path)
    token = keys.encode_jwt({"sub": "alice", "exp": 5})
    header, payload, _ = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "=="))["alg"] == "HS256"

    forged = f"{header}.{_b64({'sub': 'mallory', 'exp': 5})}.{token.split('.')[2]}"
    assert keys.decode_jwt(forged) is None
    unsigned = f"{_b64({'alg': 'none'})}.{payload}."
    assert keys.decode_jwt(unsigned) is None
    other = DemoKeys.load_or_create(tmp_path / "other")
    assert other.decode_jwt(token) is None
    assert keys.decode_jwt("a.b") is None


def test_refresh_token_round_trip_and_forgery(tmp_path: Path) -> None:
    keys = DemoKeys.load_or_create(tmp_path)
    token = keys.encode_refresh_token(CLAIMS)
    assert keys.decode_refresh_token(token) == CLAIMS
    assert "Alice" not in repr(keys.decode_refresh_token(token))

    prefix, _, signature = token.split(".")
    raised = _b64(
        {
            **json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")),
            "generation": 9,
        }
    )
    assert keys.decode_refresh_token(f"{prefix}.{raised}.{signature}") is None
    assert keys.decode_refresh_token(token.replace("tsd1", "tsd2", 1)) is None
    assert keys.decode_refresh_token(token + "x") is None
    # A JWT signed by the same key is not a refresh token.
    assert keys.decode_refresh_token(keys.encode_jwt({"a": 1})) is None


def test_login_cookie_is_signed(tmp_path: Path) -> None:
    keys = DemoKeys.load_or_create(tmp_path)
    cookie = keys.sign_login_cookie("Zoë")
    assert keys.verify_login_cookie(cookie) == "Zoë"
    _, _, signature = cookie.partition(".")
    other_name = base64.urlsafe_b64encode(b"Mallory").rstrip(b"=").decode()
    assert keys.verify_login_cookie(f"{other_name}.{signature}") is None
    assert keys.verify_login_cookie("garbage") is None


def test_registry_persists_across_instances(tmp_path: Path) -> None:
    registry = ChainRegistry(tmp_path, chain_lifetime_s=100)
    registry.record_generation(replace(CLAIMS, generation=3), now=1010)
    revoked = replace(CLAIMS, chain_id="r" * 32)
    registry.revoke_chain(revoked, now=1010)
    registry.revoke_client("tstray-demo", now=1010)
    assert (tmp_path / STATE_FILE_NAME).stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [STATE_FILE_NAME]  # no temp left

    reloaded = ChainRegistry(tmp_path, chain_lifetime_s=100)
    assert reloaded.newest_generation(CLAIMS.chain_id) == 3
    assert reloaded.is_revoked(revoked)
    assert reloaded.epoch("tstray-demo") == 1
    assert reloaded.is_revoked(CLAIMS)  # epoch 0 < 1
    assert not reloaded.is_revoked(replace(CLAIMS, epoch=1))


def test_registry_forgets_expired_chains(tmp_path: Path) -> None:
    registry = ChainRegistry(tmp_path, chain_lifetime_s=100)
    registry.record_generation(CLAIMS, now=1050)
    registry.record_generation(
        replace(CLAIMS, chain_id="n" * 32, chain_started_at=1090), now=1101
    )
    assert registry.newest_generation(CLAIMS.chain_id) is None
    assert registry.newest_generation("n" * 32) == 0


def test_unreadable_state_starts_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / STATE_FILE_NAME).write_text("{ not json")
    registry = ChainRegistry(tmp_path, chain_lifetime_s=100)
    assert registry.epoch("tstray-demo") == 0
    assert "unreadable" in caplog.text
