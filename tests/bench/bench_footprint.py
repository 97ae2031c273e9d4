"""How heavy tstray is next to the floor for any Qt tray app: start-up time,
resident memory of the whole process tree, and CPU used while idle, printed
side by side with ``tests/bench/bare_tray.py`` (one tray icon, nothing else)
and with ``tests/bench/stack_floor_tray.py`` (that tray plus the asyncio loop
and loopback listener tstray's stack needs, and with ``--clients`` httpx and
the keyring too): the floor for any tray built on tstray's fixed choices.

Run inside the test desktop from the repository root:

    tests/with-desktop.sh /tmp/venv/bin/python tests/bench/bench_footprint.py

``--idle-s 30`` shortens the idle CPU window for a quick look; the recorded
figures use the full 600 s. Figures are ratios measured in one run, because
the machine is shared. Not collected by pytest (no ``test_`` prefix);
``tests/integration/test_footprint.py`` checks the facts behind the figures.
It measures tstray's demo profile only and never prints a token.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
# The programs it starts import tstray from this checkout too.
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(REPO), os.environ.get("PYTHONPATH")])
)

from tests.helpers.footprint import (  # noqa: E402 (needs the path above)
    DemoTstray,
    Memory,
    SignInServiceProcess,
    cpu_seconds,
    healthz_answers,
    mapped_files,
    tray_icon_count,
    tray_panel_id,
    tree_memory,
    tree_pids,
    wait_for_tray_icons,
)

BARE_TRAY = REPO / "tests" / "bench" / "bare_tray.py"
STACK_FLOOR_TRAY = REPO / "tests" / "bench" / "stack_floor_tray.py"
FLOOR_PORT = 31998
# The interpreter both programs run on (--python); this one by default.
PYTHON = [sys.executable]
# Memory is read after the process had this long to settle (lazy loading,
# first paint); the same for both programs.
SETTLE_S = 5.0
GOALS = {
    "start-up": 1.3,
    "idle memory": 1.3,
    "after window / idle before": 1.2,
    "idle CPU-s in 600 s": 0.5,
}


def start_bare(panel: str) -> tuple[subprocess.Popen[bytes], float]:
    """Starts the bare tray; returns it and its seconds to the icon shown."""
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    started = time.monotonic()
    process = subprocess.Popen(
        [*PYTHON, str(BARE_TRAY)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    shown = wait_for_tray_icons(panel, 1, 60)
    return process, shown - started


def start_floor(
    panel: str, clients: bool = False
) -> tuple[subprocess.Popen[bytes], float]:
    """Starts the stack-floor tray; returns it and its seconds to the icon
    shown and /healthz answering, as tstray's start-up is timed."""
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    command = [*PYTHON, str(STACK_FLOOR_TRAY), "--port", str(FLOOR_PORT)]
    started = time.monotonic()
    process = subprocess.Popen(
        [*command, "--clients"] if clients else command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    shown = wait_for_tray_icons(panel, 1, 60)
    while not healthz_answers(FLOOR_PORT):
        if process.poll() is not None or time.monotonic() - started > 60:
            raise RuntimeError("the stack-floor tray did not serve /healthz")
        time.sleep(0.005)
    return process, max(shown, time.monotonic()) - started


def stop_bare(process: subprocess.Popen[bytes], panel: str) -> None:
    process.terminate()
    process.wait(timeout=30)
    wait_for_tray_icons(panel, 0, 30)


def start_tstray(app: DemoTstray, panel: str) -> tuple[float, float]:
    """Starts tstray; returns seconds to the icon shown and to both (icon and
    /healthz answering)."""
    started = time.monotonic()
    app.start()
    serving = app.wait_serving()
    shown = wait_for_tray_icons(panel, 1, 60)
    return shown - started, max(shown, serving) - started


def stop_tstray(app: DemoTstray, panel: str) -> None:
    app.stop()
    wait_for_tray_icons(panel, 0, 30)


def measure_start_up(
    runs: int, panel: str, home: Path, service: SignInServiceProcess
) -> dict[str, list[float]]:
    """Alternates bare and tstray starts; one unrecorded warm-up of each."""
    times: dict[str, list[float]] = {
        "bare": [],
        "floor": [],
        "tstray icon": [],
        "tstray": [],
    }
    app = DemoTstray(
        home / "start-up", command=[*PYTHON, "-m", "tstray"], sign_in_service=service
    )
    for run in range(runs + 1):
        process, bare_s = start_bare(panel)
        stop_bare(process, panel)
        process, floor_s = start_floor(panel)
        stop_bare(process, panel)
        icon_s, ready_s = start_tstray(app, panel)
        stop_tstray(app, panel)
        if run == 0:
            continue
        times["bare"].append(bare_s)
        times["floor"].append(floor_s)
        times["tstray icon"].append(icon_s)
        times["tstray"].append(ready_s)
        print(
            f"  start-up run {run}: bare {bare_s:.2f} s, stack floor {floor_s:.2f} s,"
            f" tstray icon {icon_s:.2f} s, icon+healthz {ready_s:.2f} s",
            flush=True,
        )
    return times


def measure_import_s(runs: int) -> tuple[float, float]:
    """Median seconds for a fresh interpreter to import what each program
    imports before it can show its icon: PySide6's widgets, or tstray.app."""

    def once(module: str) -> float:
        started = time.monotonic()
        subprocess.run([*PYTHON, "-c", f"import {module}"], check=True)
        return time.monotonic() - started

    bare = statistics.median(once("PySide6.QtWidgets") for _ in range(runs))
    ours = statistics.median(once("tstray.app") for _ in range(runs))
    return bare, ours


def measure_bare_memory(panel: str) -> Memory:
    process, _ = start_bare(panel)
    time.sleep(SETTLE_S)
    memory = tree_memory(process.pid)
    stop_bare(process, panel)
    return memory


def measure_floor_memory(panel: str, clients: bool) -> Memory:
    process, _ = start_floor(panel, clients)
    time.sleep(SETTLE_S)
    memory = tree_memory(process.pid)
    stop_bare(process, panel)
    return memory


def has_webengine(pid: int) -> bool:
    return any("WebEngineCore" in path for path in mapped_files(pid))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="start-ups to time")
    parser.add_argument(
        "--idle-s", type=float, default=600.0, help="idle CPU window (default 600)"
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter for both programs, e.g. a clean venv with only tstray's"
        " dependencies (the default, this one, may hold test tools that httpx"
        " imports when present)",
    )
    args = parser.parse_args()
    PYTHON[:] = [args.python]
    if not os.environ.get("DISPLAY"):
        parser.error("run inside tests/with-desktop.sh (needs an X screen and tray)")

    panel = tray_panel_id()
    if tray_icon_count(panel) != 0:
        parser.error("the tray already holds icons; use a fresh test desktop")
    home = Path(tempfile.mkdtemp(prefix="tstray-bench-"))
    print(f"interpreter: {args.python}; tstray from {REPO}", flush=True)

    print(f"start-up, median of {args.runs} runs (after one warm-up each):", flush=True)
    # The app runs its real profile; the demo sign-in service, standing in
    # for TradeStation, is a process of its own and not measured.
    service = SignInServiceProcess()
    try:
        return report(args, panel, home, service)
    finally:
        service.stop()


def thread_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds per thread of ``pid``, keyed "tid name"."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            text = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        label = "main thread" if int(tid) == pid else f"thread {tid} ({name})"
        found[label] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def report(
    args: argparse.Namespace, panel: str, home: Path, service: SignInServiceProcess
) -> int:
    """Measures everything and prints the table."""
    times = measure_start_up(args.runs, panel, home, service)
    import_bare_s, import_tstray_s = measure_import_s(args.runs)

    print("memory:", flush=True)
    bare = measure_bare_memory(panel)
    floor = measure_floor_memory(panel, clients=False)
    floor_clients = measure_floor_memory(panel, clients=True)
    app = DemoTstray(
        home / "memory", command=[*PYTHON, "-m", "tstray"], sign_in_service=service
    )
    start_tstray(app, panel)
    app.wait_alone()  # the keyring helper that read the session has ended
    time.sleep(SETTLE_S)
    idle = tree_memory(app.pid)

    app.open_sign_in_window()
    time.sleep(SETTLE_S)
    window = tree_memory(app.pid)
    webengine_in_main_while_open = has_webengine(app.pid)

    app.finish_sign_in()
    app.wait_signed_in()
    app.wait_alone()
    time.sleep(SETTLE_S)
    after = tree_memory(app.pid)
    webengine_in_main_after = has_webengine(app.pid)

    print(f"idle CPU with a valid token for {args.idle_s:g} s ...", flush=True)
    pids = tree_pids(app.pid)
    cpu_before = cpu_seconds(pids)
    threads_before = thread_cpu_s(app.pid)
    time.sleep(args.idle_s)
    cpu_used = cpu_seconds(pids) - cpu_before
    threads_after = thread_cpu_s(app.pid)
    idle_processes = len(tree_pids(app.pid))
    exit_code = app.stop()

    bare_s = statistics.median(times["bare"])
    floor_s = statistics.median(times["floor"])
    icon_s = statistics.median(times["tstray icon"])
    ready_s = statistics.median(times["tstray"])
    cpu_per_600 = cpu_used * 600 / args.idle_s

    rows = [
        ("start-up to icon shown (s)", bare_s, icon_s, icon_s / bare_s, ""),
        (
            "start-up to icon + /healthz (s)",
            bare_s,
            ready_s,
            ready_s / bare_s,
            "<= 1.3x bare",
        ),
        (
            "of which Python imports (s)",
            import_bare_s,
            import_tstray_s,
            import_tstray_s / import_bare_s,
            "",
        ),
        (
            "RSS idle, signed out (MB)",
            bare.rss_mb,
            idle.rss_mb,
            idle.rss_mb / bare.rss_mb,
            "<= 1.3x bare",
        ),
        (
            "RSS, sign-in window open (MB)",
            bare.rss_mb,
            window.rss_mb,
            window.rss_mb / bare.rss_mb,
            "(shared pages counted per process)",
        ),
        (
            "RSS after window closed (MB)",
            bare.rss_mb,
            after.rss_mb,
            after.rss_mb / bare.rss_mb,
            f"<= 1.2x idle before: {after.rss_mb / idle.rss_mb:.2f}x",
        ),
        (
            "PSS idle, signed out (MB)",
            bare.pss_mb,
            idle.pss_mb,
            idle.pss_mb / bare.pss_mb,
            "",
        ),
        (
            "PSS, sign-in window open (MB)",
            bare.pss_mb,
            window.pss_mb,
            window.pss_mb / bare.pss_mb,
            "",
        ),
        (
            "PSS after window closed (MB)",
            bare.pss_mb,
            after.pss_mb,
            after.pss_mb / bare.pss_mb,
            f"idle before: {after.pss_mb / idle.pss_mb:.2f}x",
        ),
    ]
    print()
    print("| measure | bare tray | tstray | ratio | goal |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, base, ours, ratio, goal in rows:
        print(f"| {name} | {base:.2f} | {ours:.2f} | {ratio:.2f}x | {goal} |")
    print(
        f"| processes: idle / window open / after | {bare.processes} |"
        f" {idle.processes} / {window.processes} / {after.processes} | | |"
    )
    print(
        f"| CPU-s in {args.idle_s:g} s idle, valid token | | {cpu_used:.3f} |"
        f" | < 0.5 per 600 s: {cpu_per_600:.3f} |"
    )
    print()
    print("The stack's floor (tests/bench/stack_floor_tray.py), same run:")
    print()
    print(
        "| measure | bare tray | stack floor | floor + httpx, keyring | tstray"
        " | tstray / bare | tstray / floor | tstray / floor + clients |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| start-up to icon + /healthz (s) | {bare_s:.2f} | {floor_s:.2f} | |"
        f" {ready_s:.2f} | {ready_s / bare_s:.2f}x | {ready_s / floor_s:.2f}x | |"
    )
    for name, ours in (
        ("RSS idle, signed out (MB)", idle.rss_mb),
        ("RSS signed in, window closed (MB)", after.rss_mb),
    ):
        print(
            f"| {name} | {bare.rss_mb:.2f} | {floor.rss_mb:.2f} |"
            f" {floor_clients.rss_mb:.2f} | {ours:.2f} | {ours / bare.rss_mb:.2f}x |"
            f" {ours / floor.rss_mb:.2f}x | {ours / floor_clients.rss_mb:.2f}x |"
        )
    print()
    print(
        "QtWebEngine mapped in the main process: while the window was open"
        f" {webengine_in_main_while_open}, after {webengine_in_main_after};"
        f" processes while idle: {idle_processes}; exit code {exit_code}"
    )
    busy = {
        name: used - threads_before.get(name, 0.0)
        for name, used in threads_after.items()
        if used - threads_before.get(name, 0.0) > 0
    }
    print(f"idle CPU-s by thread: {busy or 'none measurable'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
