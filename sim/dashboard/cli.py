"""``cpec-sim dashboard [--port N] [--host H] [--open] [--classic]``: the teaching dashboard.

By default it serves the fast dashboard (:mod:`sim.workshop.server`): the browser draws the
charts and the map, and only each new week's numbers cross the wire. ``--classic`` starts
the earlier Mesa SolaraViz dashboard instead: the Solara server on ``sim.dashboard.app:Page`` in
a child process, offline: the JavaScript comes from the locally installed ``solara-assets``
(never a CDN), telemetry and version checks are off. Either listens on 127.0.0.1 unless
``--host`` says otherwise (``--host 0.0.0.0`` to let a classroom connect).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import FrameType

from sim.commands import UsageError, checked_scenarios, fail, guarded, interrupt_taken

PROG = "cpec-sim dashboard"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
APP = "sim.dashboard.app:Page"
READY_TIMEOUT_S = 90.0

USAGE = """usage: cpec-sim dashboard [--port N] [--host H] [--open] [--classic]

Serve the teaching dashboard (offline; one run per browser tab).

  --port N   port to listen on, 1-65535 (default 8765; 0 picks a free port)
  --host H   address to listen on (default 127.0.0.1, this machine only;
             0.0.0.0 lets other machines on the network connect)
  --open     also open the dashboard in this machine's web browser
  --classic  the earlier Mesa SolaraViz dashboard (Matplotlib pictures on the server)
"""

# Settings read by Solara at start-up: serve every asset from the local solara-assets
# package, and never call home. The CDN address is a dead local one, so that a missing
# asset fails loudly instead of being fetched from the internet.
OFFLINE_ENV = {
    "SOLARA_ASSETS_PROXY": "True",
    "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/solara-cdn-disabled/",
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_THEME_SHOW_BANNER": "False",
    "MPLBACKEND": "Agg",
}


def parse_args(argv: list[str]) -> tuple[str, int, bool]:
    """(host, port, open) from the arguments; raise :class:`UsageError` on bad input."""
    host, port_text, open_browser = DEFAULT_HOST, str(DEFAULT_PORT), False
    args = [a for a in argv if a != "--classic"]
    while args:
        arg = args.pop(0)
        name, has_value, value = arg.partition("=")
        if name in ("--port", "--host"):
            if not has_value:
                if not args:
                    raise UsageError(f"{name} needs a value")
                value = args.pop(0)
            if name == "--port":
                port_text = value
            else:
                host = value.strip()
                if not host:
                    raise UsageError("--host needs an address, e.g. 127.0.0.1")
        elif arg == "--open":
            open_browser = True
        else:
            raise UsageError(
                f"unknown argument {arg!r}: dashboard takes --port N, --host H, --open, --classic"
            )
    try:
        port = int(port_text)
    except ValueError:
        raise UsageError(
            f"--port={port_text!r} is not allowed: expected a whole number from 1 to 65535"
        ) from None
    if not 0 <= port <= 65535:
        raise UsageError(f"--port={port} is out of range: allowed 1 to 65535 (or 0 for any free)")
    return host, port, open_browser


def check_port(host: str, port: int) -> int:
    """The port to use (a free one for 0); raise :class:`UsageError` if it can't be bound."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UsageError(f"--host={host!r} is not an address of this machine") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise UsageError(
                    f"--host={host} is not an address of this machine: give one of its own "
                    "(127.0.0.1, or 0.0.0.0 for every address)"
                ) from None
            raise UsageError(
                f"cannot listen on {host}:{port} ({exc.strerror}): choose another --port"
            ) from None
        return int(sock.getsockname()[1])


def url_for(host: str, port: int) -> str:
    """The address to type in a browser."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def server_command(host: str, port: int, open_browser: bool = False) -> list[str]:
    """The ``solara run`` command line."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        APP,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-check-version",
        "--open" if open_browser else "--no-open",
        "--log-level",
        "warning",
    ]


# Solara warns on every page load over plain http on 127.0.0.1 that it falls back to
# samesite=lax cookies; that is what we want, so keep the teacher's terminal quiet.
QUIET_WARNING = "ignore:Cookies with samesite=none:UserWarning"


# A closed browser tab keeps its model (and a playing clock) until its kernel is culled;
# free it after a few minutes instead of Solara's default 24 hours. Overridable.
DEFAULT_ENV = {"SOLARA_KERNEL_CULL_TIMEOUT": "5m"}


def server_env() -> dict[str, str]:
    """The environment for the server: this one plus the offline settings."""
    env = {**DEFAULT_ENV, **os.environ, **OFFLINE_ENV}
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), QUIET_WARNING]))
    return env


def wait_until_ready(proc: subprocess.Popen[bytes], url: str, timeout: float) -> bool:
    """Poll the page until it answers (False if the server died or timed out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    return False


def missing_packages() -> list[str]:
    """Packages the dashboard imports that are not installed."""
    import importlib.util

    needed = ("solara", "solara_assets", "altair", "ipyvuetify")
    return [name for name in needed if importlib.util.find_spec(name) is None]


class _Stop(Exception):
    """SIGTERM arrived."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def shut_down(proc: subprocess.Popen[bytes], ctrl_c: bool = False) -> None:
    """Stop the server: politely (as Ctrl-C would), then firmly. After a Ctrl-C (``ctrl_c``)
    the server, in the terminal's process group, has had its own: it gets time to stop on it
    (a second one in its shut-down printed a traceback)."""
    if ctrl_c:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=3.0)
    for action, grace in ((signal.SIGINT, 3.0), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        if proc.poll() is not None:
            return
        proc.send_signal(action)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue


def dashboard_command(argv: list[str]) -> int:
    """``cpec-sim dashboard``: run the server until Ctrl-C; exit code 0, or 2 on bad input."""
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE)
        return 0
    return guarded(PROG, lambda: _serve(argv))


def _serve(argv: list[str]) -> int:
    host, port, open_browser = parse_args(argv)
    checked_scenarios()
    if "--classic" not in argv:
        from sim.workshop.cli import dashboard_fast

        return dashboard_fast(host, port, open_browser)
    port = check_port(host, port)
    missing = missing_packages()
    if missing:
        return fail(
            PROG,
            f"the dashboard needs {', '.join(missing)}: "
            "install the dashboard extra, e.g. pip install -e '.[dashboard]'",
        )
    url = url_for(host, port)
    local = url_for("127.0.0.1" if host in ("0.0.0.0", "::") else host, port)
    print(f"Starting the CPEC dashboard at {url} ...", flush=True)
    proc = subprocess.Popen(server_command(host, port, open_browser), env=server_env())

    previous = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        if wait_until_ready(proc, local, READY_TIMEOUT_S):
            note = "" if host == DEFAULT_HOST else " (other machines: use this machine's address)"
            print(f"Dashboard ready: open {url} in a browser{note}. Ctrl-C stops it.", flush=True)
        elif proc.poll() is None:
            print(f"The dashboard is slow to start; keep trying {url}", flush=True)
        code = proc.wait()
    except (KeyboardInterrupt, _Stop) as stop:
        interrupt_taken()  # how the dashboard is stopped: not an interruption to report
        shut_down(proc, ctrl_c=isinstance(stop, KeyboardInterrupt))
        print("Dashboard stopped.", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    if code in (0, -signal.SIGTERM, -signal.SIGINT):
        return 0
    return fail(PROG, f"the dashboard server stopped with exit code {code}")


def main() -> None:
    """``python -m sim.dashboard``."""
    sys.exit(dashboard_command(sys.argv[1:]))


if __name__ == "__main__":
    main()
