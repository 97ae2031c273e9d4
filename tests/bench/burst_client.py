"""The load side of the benchmark's expiry burst, in its own process.

Usage: ``python burst_client.py PORT CONNECTIONS PER_CONNECTION MIN_TTL_S``,
the API key on the first line of stdin. It opens CONNECTIONS keep-alive
connections to 127.0.0.1:PORT, prints ``ready``, waits for ``go`` on stdin,
then writes PER_CONNECTION pipelined ``GET /v1/token?min_ttl=MIN_TTL_S``
requests on every connection at once and reads every answer. It prints one
JSON line of counts; never a token or the key.
"""

from __future__ import annotations

import json
import selectors
import socket
import sys
import time
from collections import Counter


def _answers(data: bytes) -> list[tuple[int, dict[str, object]]]:
    """Splits complete ``Content-Length`` answers off ``data``."""
    found: list[tuple[int, dict[str, object]]] = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return found
        head = data[:end].decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(data) < end + 4 + length:
            return found
        body = data[end + 4 : end + 4 + length]
        found.append((int(head[0].split(" ")[1]), json.loads(body)))
        data = data[end + 4 + length :]


def main() -> None:
    port, connections, per_connection = map(int, sys.argv[1:4])
    min_ttl_s = sys.argv[4]
    key = sys.stdin.readline().strip()
    request = (
        f"GET /v1/token?min_ttl={min_ttl_s} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\n\r\n"
    ).encode()

    sockets = []
    for _ in range(connections):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sockets.append(sock)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return

    # Everything is written before anything is read: the requests arrive
    # together, as far as one process on a shared machine can make them.
    started = time.perf_counter()
    for sock in sockets:
        sock.sendall(request * per_connection)

    selector = selectors.DefaultSelector()
    buffers: dict[socket.socket, bytes] = {}
    by_fd: dict[int, socket.socket] = {}
    for sock in sockets:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        buffers[sock] = b""
        by_fd[sock.fileno()] = sock
    statuses: Counter[int] = Counter()
    expires_in: list[int] = []
    pending = len(sockets)
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        for event, _ in selector.select(timeout=1):
            sock = by_fd[event.fd]
            chunk = sock.recv(65536)
            buffers[sock] += chunk
            answers = _answers(buffers[sock])
            if len(answers) == per_connection or not chunk:
                selector.unregister(sock)
                pending -= 1
                for status, body in answers:
                    statuses[status] += 1
                    value = body.get("expires_in")
                    if isinstance(value, int):
                        expires_in.append(value)
    elapsed_s = time.perf_counter() - started
    for sock in sockets:
        sock.close()
    print(
        json.dumps(
            {
                "statuses": {str(k): v for k, v in statuses.items()},
                "answered": sum(statuses.values()),
                "unfinished_connections": pending,
                "min_expires_in": min(expires_in, default=None),
                "elapsed_s": elapsed_s,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
