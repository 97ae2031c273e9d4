"""A local stand-in for TradeStation's sign-in service.

``tstray --demo`` runs ``DemoSignInService`` in-process so a newcomer can try
tstray without a TradeStation account; the test suite uses it too, in-process
or as its own process (``python -m tstray.demo``), with injected faults. It
behaves like TradeStation's Auth0 tenant on loopback only, and it must never
be mistaken for the real thing: its pages say "demo", its only API key is
``tstray-demo`` and its secret is public.
"""

from tstray.demo.faults import DemoStats, Fault, FaultQueue
from tstray.demo.grants import (
    CALLBACK_URLS,
    DEMO_AUDIENCE,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    LOGOUT_URLS,
    DemoOptions,
)
from tstray.demo.pages import DEMO_PASSWORD_HINT
from tstray.demo.service import DemoSignInService

__all__ = [
    "CALLBACK_URLS",
    "DEMO_AUDIENCE",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_PASSWORD_HINT",
    "LOGOUT_URLS",
    "DemoOptions",
    "DemoSignInService",
    "DemoStats",
    "Fault",
    "FaultQueue",
]
