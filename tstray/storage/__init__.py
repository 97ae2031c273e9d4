"""Where tstray keeps its secrets: the OS keyring, through ``TokenStore``.

Nothing in this package writes a token or a secret to a file or a log.
"""

from tstray.storage.errors import KeyringUnavailableError, StoredDataError, StoreError
from tstray.storage.keyring_store import TokenStore

__all__ = ["KeyringUnavailableError", "StoreError", "StoredDataError", "TokenStore"]
