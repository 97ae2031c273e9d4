"""A raw client for the local token service's streamed answers: reads the
head, then the chunked body one chunk at a time off a real loopback socket,
and parses server-sent events out of it."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any

from tests.integration.local_service_support import request_bytes


@dataclass
class Event:
    name: str
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


class StreamClient:
    """One connection that sends a request and reads a streamed answer."""

    def __init__(self, port: int, timeout_s: float = 10, rcvbuf: int = 0) -> None:
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout_s)
        self.sock.connect(("127.0.0.1", port))
        self.file = self.sock.makefile("rb")
        self.status = 0
        self.headers: dict[str, str] = {}
        self._text = ""

    def open(self, path: str, body: bytes = b"", **options: Any) -> StreamClient:
        head = request_bytes(self.port, path, **options)
        self.sock.sendall(head + body)
        return self.open_answer()

    def open_answer(self) -> StreamClient:
        """Reads the next answer's status line and headers."""
        self.headers = {}
        status_line = self.file.readline().decode()
        self.status = int(status_line.split(" ", 2)[1])
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            self.headers[name.strip().lower()] = value.strip()
        return self

    def read_chunk(self) -> bytes | None:
        """The next chunk's data; None at the end of the body."""
        size_line = self.file.readline()
        if not size_line:
            raise ConnectionError("the connection closed inside the body")
        size = int(size_line.strip(), 16)
        data = self.file.read(size)
        assert self.file.read(2) == b"\r\n"
        return data if size else None

    def read_body(self) -> bytes:
        if "content-length" in self.headers:
            return self.file.read(int(self.headers["content-length"]))
        parts = []
        while (chunk := self.read_chunk()) is not None:
            parts.append(chunk)
        return b"".join(parts)

    def read_event(self, skip_comments: bool = True) -> Event:
        """The next server-sent event (or comment, as name ":")."""
        while True:
            end = self._text.find("\n\n")
            if end >= 0:
                block, self._text = self._text[:end], self._text[end + 2 :]
                if block.startswith(":"):
                    if skip_comments:
                        continue
                    return Event(":", block[1:].strip())
                fields = dict(line.split(": ", 1) for line in block.split("\n"))
                if "event" not in fields:
                    continue  # the retry advice
                return Event(fields["event"], fields.get("data", ""))
            chunk = self.read_chunk()
            if chunk is None:
                raise EOFError("the event stream ended")
            self._text += chunk.decode()

    def closed_by_server(self) -> bool:
        try:
            while self.sock.recv(65536):
                pass
        except ConnectionResetError:
            return True
        return True

    def close(self) -> None:
        self.file.close()
        self.sock.close()

    def __enter__(self) -> StreamClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
