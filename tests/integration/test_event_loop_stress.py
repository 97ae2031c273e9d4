"""Guards the pinned Qt + qasync pair: socket work on the qasync loop must
neither crash nor stall.

PySide6 6.12.0 with qasync 0.28.0 dies with "Fatal Python error:
none_dealloc" after a few hundred httpx requests or under a burst of
connections to an asyncio server. A dependency upgrade that brings such a
fault back must not land, so the same work runs here in a child process
(a crash then fails this test instead of killing pytest).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

STRESS = textwrap.dedent(
    """
    import asyncio, sys
    import httpx, qasync
    from PySide6.QtCore import QCoreApplication

    REQUESTS = 600
    CONNECTIONS = 64

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\\r\\n\\r\\n")
                writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def raw_client(port, count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(count):
            writer.write(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
            await writer.drain()
            await reader.readuntil(b"ok")
        writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with httpx.AsyncClient() as client:
            for _ in range(REQUESTS):
                response = await client.get(f"http://127.0.0.1:{port}/")
                assert response.text == "ok"
        await asyncio.gather(*(raw_client(port, 50) for _ in range(CONNECTIONS)))
        server.close()
        await server.wait_closed()
        print("stress ok", flush=True)

    app = QCoreApplication(sys.argv)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(asyncio.wait_for(main(), 240))
    """
)


def test_socket_work_on_the_qasync_loop_survives_load() -> None:
    result = subprocess.run(
        [sys.executable, "-c", STRESS],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Fatal Python error" not in result.stderr
    assert result.returncode == 0, result.stderr[-2000:]
    assert "stress ok" in result.stdout
