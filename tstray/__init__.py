"""tstray: keeps a TradeStation Web API session alive from the system tray.

The package is split by role: ``oauth`` talks to the sign-in service,
``session`` owns the token lifecycle, ``storage`` keeps tokens in the OS
keyring, ``server`` hands tokens to local programs, ``signin`` shows the
sign-in window, ``ui`` draws the tray, and ``demo`` is a local stand-in for
TradeStation's sign-in service. ``app`` wires them together.
"""

__version__ = "0.1.0"
