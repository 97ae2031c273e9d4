"""Where tstray keeps its files on each platform.

Only the configuration, the local API key, logs and the sign-in window's web
profile live in files. Tokens and the client secret never do: they belong in
the OS keyring (see ``tstray.storage``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "tstray"


def _home() -> Path:
    return Path(os.path.expanduser("~"))


def _user_config_root() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", _home() / "AppData" / "Roaming"))
    if sys.platform == "darwin":
        return _home() / "Library" / "Application Support"
    return Path(os.environ.get("XDG_CONFIG_HOME") or _home() / ".config")


def _user_state_root() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", _home() / "AppData" / "Local"))
    if sys.platform == "darwin":
        return _home() / "Library" / "Logs"
    return Path(os.environ.get("XDG_STATE_HOME") or _home() / ".local" / "state")


def _user_data_root() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", _home() / "AppData" / "Local"))
    if sys.platform == "darwin":
        return _home() / "Library" / "Application Support"
    return Path(os.environ.get("XDG_DATA_HOME") or _home() / ".local" / "share")


@dataclass(frozen=True)
class AppPaths:
    """The folders of one profile ("default", or "demo" for ``--demo``).

    Attributes:
        config_dir: holds ``config.toml`` and the ``api-key`` file.
        log_dir: holds the rotating ``tstray.log``.
        data_dir: holds the sign-in window's web profile and the demo
            service's state.
        runtime_dir: holds the single-instance lock.
    """

    config_dir: Path
    log_dir: Path
    data_dir: Path
    runtime_dir: Path
    config_file_name: str = "config.toml"

    @property
    def config_file(self) -> Path:
        return self.config_dir / self.config_file_name

    @property
    def api_key_file(self) -> Path:
        return self.config_dir / "api-key"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "tstray.log"

    @property
    def web_profile_dir(self) -> Path:
        return self.data_dir / "web-profile"


def app_paths(profile: str = "default", config_file: Path | None = None) -> AppPaths:
    """Returns the folders for ``profile``.

    Demo data sits in a ``demo`` sub-folder so it never mixes with real data.
    An explicit config file moves the config folder (and so the API key) next
    to it, which is what a second profile or a test wants.
    """
    suffix = Path(APP_NAME) if profile == "default" else Path(APP_NAME) / profile
    config_dir = config_file.parent if config_file else _user_config_root() / suffix
    runtime_root = os.environ.get("XDG_RUNTIME_DIR")
    runtime_dir = (
        Path(runtime_root) / suffix if runtime_root else _user_data_root() / suffix
    )
    return AppPaths(
        config_dir=config_dir,
        log_dir=_user_state_root() / suffix,
        data_dir=_user_data_root() / suffix,
        runtime_dir=runtime_dir,
        config_file_name=config_file.name if config_file else "config.toml",
    )
