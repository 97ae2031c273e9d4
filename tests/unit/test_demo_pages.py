"""The demo service's HTML pages."""

from __future__ import annotations

from tstray.demo import pages


def test_login_page_has_the_form_and_hint() -> None:
    page = pages.login_page("tx-1")
    for element in ('id="username"', 'id="password"', 'id="sign-in"'):
        assert element in page
    assert "any user name, password: demo" in page
    assert 'value="tx-1"' in page and 'action="/u/login"' in page
    assert "not TradeStation" in page
    assert 'id="error"' not in page


def test_login_page_escapes_what_the_user_typed() -> None:
    page = pages.login_page("tx", error="Wrong <b>", user_name='"><script>x()</script>')
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Wrong &lt;b&gt;" in page


def test_consent_page_lists_scopes_with_both_buttons() -> None:
    page = pages.consent_page("tx-2", "Al <i>", ["openid", "Trade", "Odd<Scope>"])
    assert 'id="allow"' in page and 'id="deny"' in page
    assert 'data-scope="Trade"' in page and "Place, change and cancel orders" in page
    assert "Odd&lt;Scope&gt;" in page and "Al &lt;i&gt;" in page
    assert 'action="/u/consent"' in page


def test_error_and_signed_out_pages() -> None:
    page = pages.error_page("Callback URL mismatch", "http://x/<y> is not allowed")
    assert "&lt;y&gt;" in page and 'id="error"' in page
    assert 'id="signed-out"' in pages.signed_out_page()
