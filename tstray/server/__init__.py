"""The local token service: hands fresh access tokens to local programs over a
loopback HTTP port, on its own thread (see ``service``).

It never listens beyond loopback and never logs the API key or a token.
"""

from tstray.server.api_key import load_or_create_api_key, rotate_api_key
from tstray.server.service import LocalTokenService, PortInUseError

__all__ = [
    "LocalTokenService",
    "PortInUseError",
    "load_or_create_api_key",
    "rotate_api_key",
]
