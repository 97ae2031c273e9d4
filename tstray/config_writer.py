"""Writes single settings back into ``config.toml`` without losing the user's
comments, blank lines or key order.

The file is edited line by line: the key's line is replaced in place, or the
key is added at the end of its table, or the table is added at the end of
the file. Never writes a secret: the client secret belongs in the keyring.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

TomlValue = str | int | bool | list[str]

_TABLE = re.compile(r"^\s*\[([A-Za-z0-9_.-]+)\]\s*(#.*)?$")


def _toml_literal(value: TomlValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # JSON string escaping is valid TOML basic-string escaping.
        return json.dumps(value, ensure_ascii=False)
    return "[" + ", ".join(json.dumps(item, ensure_ascii=False) for item in value) + "]"


def set_value(file: Path, table: str, key: str, value: TomlValue) -> None:
    """Sets ``[table] key = value`` in ``file``, creating what is missing."""
    lines = file.read_text(encoding="utf-8").splitlines() if file.exists() else []
    new_line = f"{key} = {_toml_literal(value)}"
    key_pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")

    current_table = ""
    table_end: int | None = None
    for index, line in enumerate(lines):
        header = _TABLE.match(line)
        if header:
            if current_table == table:
                table_end = index
                break
            current_table = header.group(1)
            continue
        if current_table == table and key_pattern.match(line):
            lines[index] = new_line
            _write_atomically(file, lines)
            return
    else:
        if current_table == table:
            table_end = len(lines)

    if table_end is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines += [f"[{table}]", new_line]
    else:
        # Insert after the table's last non-blank line.
        insert_at = table_end
        while insert_at > 0 and not lines[insert_at - 1].strip():
            insert_at -= 1
        lines.insert(insert_at, new_line)
    _write_atomically(file, lines)


def _write_atomically(file: Path, lines: list[str]) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=file.parent, prefix=".config-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(temp_name, file)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
