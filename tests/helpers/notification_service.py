"""A stand-in for the desktop's org.freedesktop.Notifications service, for the
tstray.ui.notifications tests (no notification daemon runs on this machine).

Run it as a script inside tests/with-desktop.sh's D-Bus session. It prints
``ready`` once it owns the name, then one JSON line per Notify call
(``{"id", "sender", "signature", "args"}``), and answers like a strict
service: a call whose signature is not ``susssasa{sv}i`` gets an InvalidArgs
error, as GNOME's and KDE's services do. A line ``click <id> <action>`` on
stdin sends ActionInvoked to the connection that made notification <id> (or
to everyone for an unknown id), the way GNOME Shell does.
"""

from __future__ import annotations

import json
import queue
import sys
import threading

from jeepney import (
    DBusAddress,
    HeaderFields,
    MessageType,
    new_error,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
SIGNATURE = "susssasa{sv}i"


def _read_commands(commands: queue.Queue[str]) -> None:
    for line in sys.stdin:
        commands.put(line.strip())


def main() -> None:
    connection = open_dbus_connection(bus="SESSION")
    reply = connection.send_and_get_reply(message_bus.RequestName(NAME, 4))
    if reply.body[0] != 1:  # 1: primary owner
        print(f"name taken: {reply.body}", flush=True)
        sys.exit(1)
    print("ready", flush=True)

    commands: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_commands, args=(commands,), daemon=True).start()
    senders: dict[int, str] = {}
    next_id = 41

    while True:
        while not commands.empty():
            _, notification_id, action = commands.get().split()
            signal = new_signal(
                DBusAddress(PATH, interface=NAME),
                "ActionInvoked",
                "us",
                (int(notification_id), action),
            )
            sender = senders.get(int(notification_id))
            if sender is not None:
                signal.header.fields[HeaderFields.destination] = sender
            connection.send(signal)

        try:
            message = connection.receive(timeout=0.05)
        except TimeoutError:
            continue
        if message.header.message_type is not MessageType.method_call:
            continue
        if message.header.fields.get(HeaderFields.member) != "Notify":
            connection.send(
                new_error(message, "org.freedesktop.DBus.Error.UnknownMethod")
            )
            continue

        signature = message.header.fields.get(HeaderFields.signature, "")
        if signature != SIGNATURE:
            connection.send(
                new_error(
                    message,
                    "org.freedesktop.DBus.Error.InvalidArgs",
                    "s",
                    (f"expected {SIGNATURE}, got {signature}",),
                )
            )
            continue

        next_id += 1
        sender = message.header.fields[HeaderFields.sender]
        senders[next_id] = sender
        record = {
            "id": next_id,
            "sender": sender,
            "signature": signature,
            "args": list(message.body[:6]),
            "hints": sorted(message.body[6]),
        }
        print(json.dumps(record), flush=True)
        connection.send(new_method_return(message, "u", (next_id,)))


if __name__ == "__main__":
    main()
