"""config.toml: defaults, every key, and wrong values reported in words."""

from __future__ import annotations

from pathlib import Path

from tstray.config import DEFAULT_SCOPES, load_config
from tstray.config_writer import set_value


def test_missing_file_gives_tradestation_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "config.toml")
    ts = config.tradestation
    assert ts.authorize_url == "https://signin.tradestation.com/authorize"
    assert ts.token_url == "https://signin.tradestation.com/oauth/token"
    assert ts.revoke_url == "https://signin.tradestation.com/oauth/revoke"
    assert ts.audience == "https://api.tradestation.com"
    assert ts.redirect_uri == "http://localhost:31022"
    assert ts.scopes == DEFAULT_SCOPES
    assert ts.refresh_margin_s == 300 and ts.pkce is True
    assert config.server.port == 31023
    assert config.problems == () and not config.has_client_id


def test_every_key_is_read(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text(
        """
[tradestation]
client_id = "  KEY123  "
redirect_uri = "http://localhost:3000"
scopes = ["openid", "offline_access", "MarketData"]
audience = "https://api.tradestation.com"
authorize_url = "http://127.0.0.1:9/authorize"
token_url = "http://127.0.0.1:9/oauth/token"
revoke_url = "http://127.0.0.1:9/oauth/revoke"
refresh_margin_s = 120
pkce = false
[server]
port = 40000
""",
        encoding="utf-8",
    )
    config = load_config(file)
    ts = config.tradestation
    assert config.problems == ()
    assert ts.client_id == "KEY123"
    assert ts.redirect_uri == "http://localhost:3000"
    assert ts.scopes == ("openid", "offline_access", "MarketData")
    assert ts.token_url == "http://127.0.0.1:9/oauth/token"
    assert ts.refresh_margin_s == 120 and ts.pkce is False
    assert config.server.port == 40000


def test_wrong_values_name_file_key_and_expectation_and_fall_back(
    tmp_path: Path,
) -> None:
    file = tmp_path / "config.toml"
    file.write_text(
        '[tradestation]\nredirect_uri = "https://example.invalid/cb"\n'
        'scopes = "openid"\nrefresh_margin_s = -5\npkce = "yes"\n'
        "[server]\nport = 70000\n",
        encoding="utf-8",
    )
    config = load_config(file)
    messages = [str(p) for p in config.problems]
    assert len(messages) == 5
    assert any("[tradestation.redirect_uri]" in m and "loopback" in m for m in messages)
    assert any("[server.port]" in m and "65535" in m for m in messages)
    assert all(str(file) in m for m in messages)
    assert config.server.port == 31023
    assert config.tradestation.pkce is True


def test_broken_toml_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text("[tradestation\nclient_id = ", encoding="utf-8")
    config = load_config(file)
    assert len(config.problems) == 1
    assert "valid TOML" in str(config.problems[0])
    assert config.server.port == 31023


def test_table_of_wrong_type(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text('server = "fast"\n', encoding="utf-8")
    assert "[server]" in str(load_config(file).problems[0])


def test_writer_keeps_comments_and_order(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    original = (
        "# my tstray settings\n[tradestation]\n# the key from the portal\n"
        'client_id = "OLD"\nrefresh_margin_s = 200  # a bit earlier\n\n[server]\nport = 4000\n'
    )
    file.write_text(original, encoding="utf-8")
    set_value(file, "tradestation", "client_id", 'NEW"KEY')
    set_value(file, "server", "port", 4001)
    set_value(file, "demo", "rotating", True)
    text = file.read_text(encoding="utf-8")
    assert text.startswith(
        "# my tstray settings\n[tradestation]\n# the key from the portal\n"
    )
    assert 'client_id = "NEW\\"KEY"' in text
    assert "refresh_margin_s = 200  # a bit earlier" in text
    assert "port = 4001" in text and "port = 4000" not in text
    config = load_config(file)
    assert config.tradestation.client_id == 'NEW"KEY'
    assert config.server.port == 4001 and config.demo.rotating is True


def test_writer_creates_the_file_and_adds_missing_keys(tmp_path: Path) -> None:
    file = tmp_path / "sub" / "config.toml"
    set_value(file, "tradestation", "client_id", "K")
    set_value(file, "tradestation", "scopes", ["openid", "offline_access"])
    config = load_config(file)
    assert config.tradestation.client_id == "K"
    assert config.tradestation.scopes == ("openid", "offline_access")


def test_the_readme_example_is_a_valid_config(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    file = tmp_path / "config.toml"
    file.write_text(
        block.replace('client_id = "..."', 'client_id = "KEY"'), encoding="utf-8"
    )
    assert [str(p) for p in load_config(file).problems] == []


def test_misspelt_keys_and_tables_are_reported(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text(
        '[tradestation]\nclinet_id = "K"\n[sever]\nport = 1\n', encoding="utf-8"
    )
    messages = [str(p) for p in load_config(file).problems]
    assert any("[tradestation.clinet_id]" in m and "unknown" in m for m in messages)
    assert any("[sever]" in m for m in messages)


def test_sign_in_urls_need_tls_unless_on_this_machine(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text(
        '[tradestation]\ntoken_url = "http://signin.example.invalid/oauth/token"\n'
        'authorize_url = "http://127.0.0.1:9/authorize"\n',
        encoding="utf-8",
    )
    config = load_config(file)
    assert config.tradestation.token_url.startswith("https://signin.tradestation.com")
    assert config.tradestation.authorize_url == "http://127.0.0.1:9/authorize"
    assert any("[tradestation.token_url]" in str(p) for p in config.problems)


def test_a_file_that_is_not_utf8_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_bytes(b"[server]\nport = 4000 # \xff\xfe\n")
    config = load_config(file)
    assert "UTF-8" in str(config.problems[0])
    assert config.server.port == 31023


def test_config_option_keeps_the_file_name_given(tmp_path: Path) -> None:
    from tstray.paths import app_paths

    file = tmp_path / "my-settings.toml"
    paths = app_paths("demo", file)
    assert paths.config_file == file
    assert paths.api_key_file == tmp_path / "api-key"
