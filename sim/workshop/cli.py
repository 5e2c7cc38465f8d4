"""``cpec-sim workshop`` (a room with seats) and the fast ``cpec-sim dashboard`` server.

Both run the same Starlette app (:mod:`sim.workshop.server`) under uvicorn in this process,
offline: every file comes from this package.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.commands import (
    UsageError,
    checked_scenarios,
    fail,
    guarded,
    interrupt_noted,
    interrupt_taken,
)
from sim.config import MAX_SEED
from sim.dashboard.cli import DEFAULT_HOST, DEFAULT_PORT, check_port, url_for

PROG = "cpec-sim workshop"

USAGE = """usage: cpec-sim workshop [--host H] [--port N] [--scenario S] [--seed N] [--code C]
                         [--investor FIRM] [--interval SECONDS] [--results DIR]
                         [--join-url URL]

Start a workshop room: participants join seats (Pakistan, China, Iran, an investor, or
observer) whose decisions replace that agent's rule; the facilitator holds the clock.

  --host H            address to listen on (default 0.0.0.0: the room's network can join;
                      127.0.0.1 keeps it to this machine)
  --port N            port, 1-65535 (default 8765; 0 picks a free one)
  --scenario S        the scenario the room plays (default baseline)
  --seed N            the run's seed (default 0)
  --code C            the room code (default: five random letters and digits)
  --investor FIRM     the firm the investor seat runs (default century_steel)
  --interval SECONDS  seconds per week while the clock plays (default 0.6)
  --results DIR       where the debrief saves runs (default results/workshop)
  --join-url URL      the address shown to participants (default: this machine's; /join
                      is added to one without a path)
"""

OPTIONS = {
    "--host": str,
    "--port": str,
    "--scenario": str,
    "--seed": str,
    "--code": str,
    "--investor": str,
    "--interval": str,
    "--results": str,
    "--join-url": str,
}


def parse_options(argv: list[str], allowed: dict[str, Any]) -> dict[str, str]:
    """``--name value`` or ``--name=value`` pairs; UsageError for anything else."""
    out: dict[str, str] = {}
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, has_value, value = arg.partition("=")
        if name not in allowed:
            raise UsageError(f"unknown argument {arg!r}: allowed {', '.join(allowed)}")
        if not has_value:
            if not args:
                raise UsageError(f"{name} needs a value")
            value = args.pop(0)
        out[name] = value
    return out


def lan_address() -> str:
    """This machine's address on its network (no packet is sent); 127.0.0.1 if none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def workshop_command(argv: list[str]) -> int:
    """``cpec-sim workshop``."""
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE)
        return 0
    return guarded(PROG, lambda: _workshop(argv))


def _number(name: str, text: str, kind: type, lo: float, hi: float) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise UsageError(f"{name}={text!r} is not allowed: expected a number") from None
    if not lo <= value <= hi:
        shown = f"{lo} to {hi}" if kind is int else f"{lo:g} to {hi:g}"
        raise UsageError(f"{name}={value} is out of range: allowed {shown}")
    return value


def workshop_settings(argv: list[str]) -> tuple[str, int, Any, Any]:
    """(host, port, room, server options) from the arguments; UsageError on bad input."""
    from sim.files import is_system_folder, not_a_folder_to_write, unwritable
    from sim.workshop.play import PlayError
    from sim.workshop.room import CODE_LETTERS, Room
    from sim.workshop.server import Options

    opts = parse_options(argv, OPTIONS)
    checked_scenarios()
    host = opts.get("--host", "0.0.0.0").strip()
    if not host:
        raise UsageError("--host needs an address, e.g. 0.0.0.0 or 127.0.0.1")
    port = _number("--port", opts.get("--port", str(DEFAULT_PORT)), int, 0, 65535)
    seed = _number("--seed", opts.get("--seed", "0"), int, 0, MAX_SEED)
    interval = _number("--interval", opts.get("--interval", "0.6"), float, 0.05, 60)
    code = opts.get("--code")
    if code is not None and (
        not 3 <= len(code) <= 12 or any(ch not in CODE_LETTERS for ch in code.upper())
    ):
        raise UsageError(
            f"--code={code!r} is not allowed: 3 to 12 of the letters and digits {CODE_LETTERS}"
        )
    join_url = opts.get("--join-url", "")
    scheme = join_url.lower().startswith(("http://", "https://"))  # HTTP:// too
    if join_url and (not scheme or not _host_of(join_url)):
        raise UsageError(
            f"--join-url={join_url!r} is not allowed: give an http:// address with a host"
        )
    join_url = joining_page(join_url)
    given = opts.get("--results", "results/workshop")
    results = Path(given).expanduser()  # the shell leaves ~ in --results=~/x as it is
    # refused now, not when the debrief saves its runs at the session's end
    if is_system_folder(results.resolve()):
        raise UsageError(f"--results={given} is a system folder: choose a folder of yours")
    why = not_a_folder_to_write(results) or unwritable(results)
    if why:
        raise UsageError(f"--results={given}: {why} (give a folder the debrief can write in)")
    try:
        room = Room(
            opts.get("--scenario", "baseline"),
            seed,
            investor=opts.get("--investor", "century_steel"),
            code=code,
        )
    except (PlayError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    return host, port, room, Options(interval=interval, results=results, join_url=join_url)


def _host_of(url: str) -> str:
    """The host an address names ('' for ``http://`` or ``http://:8765``)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises for a port that is not one: "abc", 99999)
    except ValueError:  # a malformed port or bracket
        return ""
    host = parts.hostname or ""
    return "" if any(c.isspace() for c in host) else host


def joining_page(url: str) -> str:
    """``url`` as the room's joining page: an address without a path (``http://host:8765``)
    gets ``/join``; its site's ``/`` is the sandbox, where participants would have no seat
    (helper-183). An address with a path (behind a proxy) is kept as given."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if not url or parts.path not in ("", "/"):
        return url
    return urlunsplit(parts._replace(path="/join"))


def _workshop(argv: list[str]) -> int:
    host, port, room, options = workshop_settings(argv)
    port = check_port(host, port)
    shown = lan_address() if host in ("0.0.0.0", "::") else host
    options.join_url = options.join_url or url_for(shown, port) + "join"
    local = url_for("127.0.0.1" if host in ("0.0.0.0", "::") else host, port)
    facilitator = f"{local}facilitator?key={room.facilitator_key}"
    announce = [
        f"Workshop room {room.code}: scenario {room.play.scenario}, seed {room.play.seed}",
        f"  facilitator (keep this address to yourself): {facilitator}",
        f"  participants: {options.join_url}  (room code {room.code})",
    ]
    return serve(host, port, options, room, announce)


class _Terminated(Exception):
    """SIGTERM, which uvicorn raises again once it has shut down."""


def _terminated(signum: int, frame: Any) -> None:
    raise _Terminated


def serve(
    host: str,
    port: int,
    options: Any,
    room: Any = None,
    announce: Sequence[str] = (),
    open_url: str = "",
) -> int:
    """Run the app until Ctrl-C or SIGTERM; 0 when stopped.

    The ``announce`` lines (the addresses to open) are printed, and ``open_url`` opened in
    a browser, only once the model is warm (a first run compiles it for about a minute) and
    the server listens.
    """
    import uvicorn

    from sim.workshop.server import create_app

    previous = signal.signal(signal.SIGTERM, _terminated)  # also during the warm-up
    try:
        app = create_app(options, room)  # warms the model up
        if interrupt_noted():  # a Ctrl-C that loading Numba's cache printed and dropped
            raise KeyboardInterrupt
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", ws="websockets-sansio"
        )
        server = uvicorn.Server(config)
        lines = [*announce, "Ctrl-C stops the server."]
        threading.Thread(
            target=_when_listening, args=(server, lines, open_url), daemon=True
        ).start()
        asyncio.run(server.serve())
    except (KeyboardInterrupt, _Terminated):
        interrupt_taken()  # how a server is stopped: not an interruption to report
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("Stopped.", flush=True)
    return 0


def _when_listening(server: Any, lines: Sequence[str], open_url: str) -> None:
    """Print ``lines`` and open ``open_url`` once ``server`` listens (never, if it fails)."""
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.05)
    print("\n".join(lines), flush=True)
    if open_url:
        import webbrowser

        webbrowser.open(open_url)


def dashboard_fast(host: str, port: int, open_browser: bool) -> int:
    """``cpec-sim dashboard``: the sandbox page, one run per browser tab."""
    from sim.workshop.server import Options

    port = check_port(host, port)
    url = url_for(host, port)
    note = "" if host == DEFAULT_HOST else " (other machines: use this machine's address)"
    announce = [f"Dashboard: open {url} in a browser{note}."]
    return serve(host, port, Options(join_url=url), None, announce, url if open_browser else "")


def main() -> None:
    """``python -m sim.workshop``."""
    sys.exit(workshop_command(sys.argv[1:]))


__all__ = ["dashboard_fast", "fail", "main", "workshop_command"]
