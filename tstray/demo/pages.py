"""The HTML pages of the demo sign-in service: sign-in, consent, errors and
signed-out.

Each page says plainly that it is a demo and not TradeStation. Every value
placed in a page is HTML-escaped; no page ever shows a token, a code or a
secret. The element ids (``username``, ``password``, ``sign-in``, ``allow``,
``deny``) are what tests and the sign-in window's automation look for.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

# The demo's published password, shown on the sign-in page.
DEMO_PASSWORD_HINT = "any user name, password: demo"  # noqa: S105

SCOPE_DESCRIPTIONS = {
    "openid": "Confirm who you are",
    "profile": "See your name",
    "offline_access": "Stay signed in (refresh tokens)",
    "MarketData": "Read market data",
    "ReadAccount": "See your accounts, balances, positions and orders",
    "Trade": "Place, change and cancel orders",
    "Crypto": "Trade crypto",
    "Matrix": "Read market depth (Matrix)",
    "OptionSpreads": "Trade option spreads",
}

_STYLE = """
body { font-family: system-ui, sans-serif; background: #eef1f5; margin: 0; }
main { max-width: 26rem; margin: 3rem auto; background: #fff; padding: 2rem;
       border-radius: 8px; box-shadow: 0 2px 8px rgba(0, 0, 0, .15); }
h1 { font-size: 1.3rem; margin-top: 0; }
.demo { background: #fff4d6; border: 1px solid #e0b84c; padding: .6rem;
        border-radius: 4px; font-size: .9rem; }
.error { background: #fde2e2; border: 1px solid #d9534f; padding: .6rem;
         border-radius: 4px; }
label { display: block; margin-top: 1rem; }
input { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; }
button { margin-top: 1.2rem; padding: .6rem 1.2rem; font-size: 1rem; }
.buttons { display: flex; gap: 1rem; justify-content: flex-end; }
"""

_BANNER = (
    '<p class="demo">Demo sign-in service: this is not TradeStation, and nothing'
    " you type here leaves this computer.</p>"
)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{_BANNER}\n{body}\n</main></body></html>\n"
    )


def _hidden_transaction(transaction_id: str) -> str:
    return f'<input type="hidden" name="transaction" value="{escape(transaction_id)}">'


def login_page(
    transaction_id: str, error: str | None = None, user_name: str = ""
) -> str:
    """The sign-in form; ``error`` is shown above it after a wrong password."""
    error_html = f'<p class="error" id="error">{escape(error)}</p>' if error else ""
    return _page(
        "Sign in - tstray demo",
        "<h1>Sign in to the demo</h1>"
        f'<p id="hint">Demo: {escape(DEMO_PASSWORD_HINT)}</p>'
        f"{error_html}"
        '<form method="post" action="/u/login">'
        f"{_hidden_transaction(transaction_id)}"
        '<label for="username">User name</label>'
        '<input id="username" name="username" autocomplete="username"'
        f' value="{escape(user_name)}" autofocus>'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password"'
        ' autocomplete="current-password">'
        '<button id="sign-in" type="submit">Sign in</button>'
        "</form>",
    )


def consent_page(transaction_id: str, user_name: str, scopes: Sequence[str]) -> str:
    """Asks ``user_name`` to allow the app the listed scopes."""
    items = "".join(
        f'<li data-scope="{escape(scope)}"><strong>{escape(scope)}</strong>: '
        f"{escape(SCOPE_DESCRIPTIONS.get(scope, 'Access ' + scope))}</li>"
        for scope in scopes
    )
    return _page(
        "Authorize - tstray demo",
        "<h1>Authorize tstray</h1>"
        f'<p>Hi <span id="user-name">{escape(user_name)}</span>, tstray would like'
        " to:</p>"
        f'<ul id="scopes">{items}</ul>'
        '<form method="post" action="/u/consent">'
        f"{_hidden_transaction(transaction_id)}"
        '<div class="buttons">'
        '<button id="deny" type="submit" name="action" value="deny">Decline</button>'
        '<button id="allow" type="submit" name="action" value="allow">Accept</button>'
        "</div></form>",
    )


def error_page(title: str, message: str) -> str:
    """A dead end shown when the request cannot be sent back to the app."""
    return _page(
        f"{title} - tstray demo",
        f'<h1>{escape(title)}</h1><p class="error" id="error">{escape(message)}</p>',
    )


def signed_out_page() -> str:
    return _page(
        "Signed out - tstray demo",
        '<h1 id="signed-out">You are signed out of the demo</h1>'
        "<p>The next sign-in will ask for the password again. Tokens already"
        " issued keep working, as at TradeStation.</p>",
    )
