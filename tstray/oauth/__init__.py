"""Talks OAuth 2.0 to TradeStation's sign-in service: builds the sign-in URL,
reads the redirect, exchanges codes and refreshes tokens.

Nothing here logs a token, a code or the client secret.
"""
