"""The web server of the fast dashboard and the workshop room (Starlette, offline).

One process serves static pages and one WebSocket per browser tab. The model steps on the
server (a week costs about a millisecond); only the new week's numbers cross the wire and
the browser draws the charts and the map itself (``static/app.js``, no library, no CDN).

* ``/`` — the sandbox: every tab its own run, stepped by its own clock. Settings live in the
  page address (``?scenario=...&seed=...&base_intensity=0.5``), so a link hands out a
  starting point: a tab's run resumes on a reload, unless the address asks for other
  settings. A closed tab's run is dropped ``cull_after`` seconds later.
* ``/join`` — a participant's page in the room: room code, seat, name.
* ``/facilitator?key=...`` — the room's clock, seats, decisions, fork and debrief; shows the
  join address as text and QR code.
* ``/export?token=...`` — the tab's or room's run as one self-contained HTML page.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import html
import io
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from sim.dashboard.knobs import DEFAULT_SCENARIO, KNOB_BY_NAME
from sim.workshop.play import (
    MIN_FOR_PERCENTILE,
    Play,
    PlayError,
    knob_specs,
    misnamed_notices,
    scenario_knobs,
    scenario_specs,
    settings_from_address,
)
from sim.workshop.room import Room
from sim.workshop.seats import PLAYABLE, SEATS

STATIC = Path(__file__).parent / "static"
MAX_MESSAGE = 64_000  # bytes of one message from a browser
MAX_STEPS = 104  # weeks one "step" request may ask for


@dataclass
class Options:
    """How the server behaves (the command line fills these in)."""

    cull_after: float = 30.0  # seconds a closed tab's run is kept for a reconnect
    interval: float = 0.6  # seconds per week while the room's clock plays
    results: Path = Path("results/workshop")
    join_url: str = ""  # the address participants type (shown with a QR code)
    replicates: int = 100  # model-only replicates in the debrief


@dataclass
class Solo:
    """One sandbox tab's run."""

    play: Play
    token: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    sockets: set[WebSocket] = field(default_factory=set)  # open tabs showing this run
    closed_at: float = 0.0  # when the last of them closed (monotonic)

    @property
    def connected(self) -> bool:
        return bool(self.sockets)


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the system (glibc)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Hub:
    """All state of one server: sandbox runs and the room."""

    def __init__(self, options: Options, room: Room | None) -> None:
        self.options = options
        self.room = room
        self.solos: dict[str, Solo] = {}
        self.room_sockets: dict[WebSocket, str] = {}  # socket -> token ("" for facilitator)
        self.facilitators: set[WebSocket] = set()
        self.clock: asyncio.Task[None] | None = None
        self.busy = ""  # a long job in the room (debrief, replicates)
        self.step_seconds: list[float] = []  # server-side time per step (for the benchmark)
        self.releasing: asyncio.Task[None] | None = None
        self.heavy = asyncio.Semaphore(1)  # replicate jobs run one at a time

    # --- sandbox -----------------------------------------------------------------------
    def add_solo(self, play: Play) -> Solo:
        """A new sandbox tab's run."""
        solo = Solo(play)
        self.solos[solo.token] = solo
        return solo

    def timed_step(self, play: Play, n: int) -> list[list[dict[str, Any] | None]]:
        t = time.perf_counter()
        out = []
        for _ in range(n):
            if play.finished:
                break
            out.append(play.step())
        self.step_seconds.append(time.perf_counter() - t)
        del self.step_seconds[:-10000]
        return out

    async def cull_later(self, solo: Solo) -> None:
        """Drop the run ``cull_after`` seconds after its last tab closed (unless one came
        back, or another closed since: that one's wait decides)."""
        closed_at = solo.closed_at = time.monotonic()
        await asyncio.sleep(self.options.cull_after)
        if solo.connected or solo.closed_at != closed_at:
            return
        if self.solos.get(solo.token) is solo:
            del self.solos[solo.token]
            self.release_soon()

    def release_soon(self) -> None:
        """Return freed memory once for runs dropped together (one pause, not one per run)."""
        if self.releasing is None or self.releasing.done():
            self.releasing = asyncio.get_running_loop().create_task(self._release())

    async def _release(self) -> None:
        await asyncio.sleep(1.0)
        release_memory()

    # --- room broadcasts -----------------------------------------------------------------
    async def broadcast(self, message: dict[str, Any], facilitators_only: bool = False) -> None:
        text = json.dumps(message)
        targets = list(self.facilitators if facilitators_only else self.room_sockets)
        await asyncio.gather(*(_send(ws, text) for ws in targets))

    def room_status(self, token: str | None = None) -> dict[str, Any]:
        """The room as the facilitator sees it (``token`` None), or as one participant does:
        who sits where, and only their own seat's choices."""
        assert self.room is not None
        seats = self.room.seats_view()
        if token is not None:
            own = self.room.holders[token].seat if token in self.room.holders else ""
            seats = {k: {**v, "choices": None} if k != own else v for k, v in seats.items()}
        return {
            "type": "room",
            "seats": seats,
            "playing": self.clock is not None and not self.clock.done(),
            "week": self.room.play.week,
            "busy": self.busy,
        }

    async def send_status(self) -> None:
        """Each page its view of the room."""
        sends = []
        for ws, token in list(self.room_sockets.items()):
            status = self.room_status(None if ws in self.facilitators else token)
            sends.append(_send(ws, json.dumps(status)))
        await asyncio.gather(*sends)

    async def room_step(self) -> bool:
        """One week of the room, sent to everyone; False at the horizon."""
        assert self.room is not None
        if self.room.play.finished:
            return False
        deltas = self.timed_step(self.room.play, 1)
        await self.broadcast({"type": "weeks", "deltas": deltas})
        return not self.room.play.finished

    async def run_clock(self) -> None:
        assert self.room is not None
        try:
            while await self.room_step():
                if self.room.decision_point():
                    break
                await asyncio.sleep(self.options.interval)
        finally:
            self.clock = None
            await self.send_status()


def warm_up() -> None:
    """Load the compiled rules and step a model once, so the first page waits for nothing
    (and the server's idle memory already holds what every run shares)."""
    Play().step()
    release_memory()


def visible_decisions(room: Room, token: str) -> tuple[list[dict[str, Any]], str]:
    """The room's decisions that ``token`` may see, and a line saying which they are: all
    for the facilitator, a participant's own seat's only (teams do not see each other's
    choices), none for an observer."""
    if token == room.facilitator_key:
        return list(room.decisions), "Every seat's decisions."
    holder = room.holders.get(token)
    if holder is None or holder.seat not in PLAYABLE:
        return [], (
            "An observer's export holds no seat's decisions (teams do not see each other's; "
            "the world's state they set is public)."
        )
    own = [d for d in room.decisions if d["seat"] == holder.seat]
    return own, (
        f"{SEATS[holder.seat].title}'s decisions only (teams do not see each other's; the "
        "world's state they set is public)."
    )


def knobs_of(msg: dict[str, Any]) -> dict[str, Any]:
    """The settings a page sent (PlayError unless they are an object)."""
    knobs = msg.get("knobs") or {}
    if not isinstance(knobs, dict):
        raise PlayError("knobs must be an object of setting names and values")
    return knobs


def address_settings(msg: dict[str, Any]) -> tuple[str, int, dict[str, Any], list[str]]:
    """(scenario, seed, knob values, notices) from the settings in a page's address: values
    that were wrong fall back with a notice, parameters that are not settings are ignored."""
    return settings_from_address(
        msg.get("scenario", DEFAULT_SCENARIO), msg.get("seed", 0), knobs_of(msg)
    )


def asks_for_settings(msg: dict[str, Any]) -> bool:
    """The page's address names a scenario, a seed or a setting (a bare address does not)."""
    knobs = msg.get("knobs")
    named = isinstance(knobs, dict) and any(name in KNOB_BY_NAME for name in knobs)
    return "scenario" in msg or "seed" in msg or named


def misnamed(msg: dict[str, Any]) -> list[str]:
    """Notices for names in a page's address meant as settings but not used."""
    knobs = msg.get("knobs")
    return misnamed_notices(knobs if isinstance(knobs, dict) else {})


def starts_as(play: Play, scenario: str, seed: int, knobs: dict[str, Any]) -> bool:
    """The play started from these settings (``knobs``: those differing from the scenario)."""
    wanted = {**scenario_knobs(scenario), **knobs}
    return (play.scenario, play.seed, play.start_knobs) == (scenario, seed, wanted)


def new_play(msg: dict[str, Any]) -> Play:
    """A play from a page's scenario, seed and settings (PlayError if they are wrong)."""
    return Play(msg.get("scenario", "baseline"), msg.get("seed", 0), knobs_of(msg))


async def _send(ws: WebSocket, text: str) -> None:
    with contextlib.suppress(Exception):  # a closed tab must not stop the others
        await ws.send_text(text)


def _page(name: str, **values: str) -> HTMLResponse:
    text = (STATIC / name).read_text(encoding="utf-8")
    text = text.replace("<!--world-->", (STATIC / "world.html").read_text(encoding="utf-8"))
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", html.escape(value))
    return HTMLResponse(text, headers={"Cache-Control": "no-store"})


# --- the app -------------------------------------------------------------------------------
def create_app(options: Options | None = None, room: Room | None = None) -> Starlette:
    """The Starlette app; ``room`` (optional) is the workshop room it serves."""
    options = options or Options()
    hub = Hub(options, room)
    warm_up()

    async def sandbox(request: Request) -> Response:
        return _page("sandbox.html")

    async def join(request: Request) -> Response:
        if hub.room is None:
            return PlainTextResponse("no workshop room here: start one with cpec-sim workshop", 404)
        return _page("join.html")

    async def facilitator(request: Request) -> Response:
        if hub.room is None or request.query_params.get("key") != hub.room.facilitator_key:
            return PlainTextResponse("wrong or missing facilitator key", 403)
        return _page(
            "facilitator.html", join_url=options.join_url or str(request.base_url) + "join"
        )

    async def qr(request: Request) -> Response:
        import segno

        url = options.join_url or str(request.base_url) + "join"
        if hub.room is not None:
            url = with_room_code(url, hub.room.code)
        buffer = io.BytesIO()
        segno.make(url, error="m").save(buffer, kind="svg", scale=6, border=2)
        return Response(buffer.getvalue(), media_type="image/svg+xml")

    async def export(request: Request) -> Response:
        from sim.workshop.export import export_html

        token = request.query_params.get("token", "")
        play: Play | None = None
        decisions: list[dict[str, Any]] = []
        note = ""
        debrief: dict[str, Any] | None = None
        if token in hub.solos:
            play = hub.solos[token].play
        elif hub.room is not None and (
            token in hub.room.holders or token == hub.room.facilitator_key
        ):
            play = hub.room.play
            decisions, note = visible_decisions(hub.room, token)
            if token == hub.room.facilitator_key:
                debrief = hub.room.last_debrief
        if play is None:
            return PlainTextResponse("unknown or expired token: export from an open page", 404)
        room = hub.room is not None and play is hub.room.play
        facilitator = room and token == hub.room.facilitator_key  # type: ignore[union-attr]
        body = export_html(
            play,
            decisions=decisions,
            note=note,
            debrief=debrief,
            room=room,
            replicates=not room or facilitator,
        )
        name = f"cpec-{play.scenario}-seed{play.seed}-week{play.week}.html"
        return HTMLResponse(body, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def stats(request: Request) -> Response:
        """Server-side figures for the load benchmark."""
        import psutil

        steps = sorted(hub.step_seconds)
        return Response(
            json.dumps(
                {
                    "sessions": len(hub.solos),
                    "connected": sum(s.connected for s in hub.solos.values()),
                    "rss": psutil.Process().memory_info().rss,
                    "steps": len(steps),
                    "step_median_s": steps[len(steps) // 2] if steps else None,
                    "step_p95_s": steps[int(0.95 * (len(steps) - 1))] if steps else None,
                }
            ),
            media_type="application/json",
        )

    async def socket(ws: WebSocket) -> None:
        await ws.accept()
        with contextlib.suppress(WebSocketDisconnect):
            await serve_socket(hub, ws)

    return Starlette(
        routes=[
            Route("/", sandbox),
            Route("/join", join),
            Route("/facilitator", facilitator),
            Route("/qr.svg", qr),
            Route("/export", export),
            Route("/stats", stats),
            WebSocketRoute("/ws", socket),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )


class BadMessage(Exception):
    """A message that is not one JSON object (the text says why)."""


async def receive(ws: WebSocket) -> dict[str, Any]:
    """One JSON object from the browser; :class:`BadMessage` saying why for anything else."""
    try:
        text = await ws.receive_text()
    except KeyError:  # a binary frame: Starlette's message has bytes, no text
        raise BadMessage("a binary message: send JSON text") from None
    if len(text) > MAX_MESSAGE:
        raise BadMessage(f"message longer than {MAX_MESSAGE} bytes")
    try:
        msg = json.loads(text)
    except ValueError:
        raise BadMessage("not JSON") from None
    except RecursionError:
        raise BadMessage("JSON nested too deeply") from None
    if not isinstance(msg, dict):
        raise BadMessage("not a JSON object")
    return msg


async def reply(ws: WebSocket, message: dict[str, Any]) -> None:
    await ws.send_text(json.dumps(message))


async def error(ws: WebSocket, text: str) -> None:
    await reply(ws, {"type": "error", "message": text})


def with_room_code(url: str, code: str) -> str:
    """The joining address with ``room=CODE`` in its query, beside what a ``--join-url``'s
    query holds and before its fragment (``?x=1?room=`` had lost the code: helper-184)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "room"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("room", code)])))


def hello(play: Play, role: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "hello",
        "role": role,
        "view": play.view(),
        "knobs": knob_specs(),
        "scenarios": scenario_specs(),
        **extra,
    }


async def answer_messages(
    ws: WebSocket, handle: Callable[[dict[str, Any]], Awaitable[None]]
) -> None:
    """Handle the page's messages until it goes: a refused or malformed request gets an
    error message, and the socket lives on."""
    while True:
        try:
            msg = await receive(ws)
        except BadMessage as exc:
            await error(ws, f"bad request: {exc}")
            continue
        try:
            await handle(msg)
        except PlayError as exc:
            await error(ws, str(exc))
        except (TypeError, ValueError, KeyError) as exc:  # a malformed request
            await error(ws, f"bad request ({type(exc).__name__}: {exc})")


async def serve_socket(hub: Hub, ws: WebSocket) -> None:
    """The first message says who the page is: a sandbox, a participant or the facilitator."""
    try:
        first = await receive(ws)
    except BadMessage as exc:
        await error(ws, f"bad request: {exc}")
        return
    kind = first.get("type")
    if kind == "solo":
        await serve_solo(hub, ws, first)
    elif kind in ("join", "facilitate") and hub.room is not None:
        await serve_room(hub, ws, first)
    else:
        await error(ws, "start with a 'solo', 'join' or 'facilitate' message")


async def serve_solo(hub: Hub, ws: WebSocket, first: dict[str, Any]) -> None:
    """A sandbox tab: its run, and the messages that step, reset, fork and replicate it."""
    solo, notices = solo_for(hub, first)
    solo.sockets.add(ws)
    try:
        await reply(ws, hello(solo.play, "solo", token=solo.token, notices=notices))
        await answer_messages(ws, lambda msg: solo_message(hub, ws, solo, msg))
    finally:
        solo.sockets.discard(ws)
        if not solo.connected:
            asyncio.get_running_loop().create_task(hub.cull_later(solo))


def solo_for(hub: Hub, first: dict[str, Any]) -> tuple[Solo, list[str]]:
    """The tab's run and notices about its address: the tab's earlier run (by its token)
    unless the address asks for other settings, else a new run of the address's settings.

    A tab duplicated from an open one arrives with the same token while the first is still
    open: it gets a copy of the run as it stands, under a token of its own, so that the two
    tabs go on separately. The page says whether it is a duplicate (``duplicate``: its
    sessionStorage came from an open tab) or a reload or reconnect (whose old socket may not
    be closed yet); without a word, a second open socket means a duplicate.
    """
    token = str(first.get("token") or "")
    duplicate = first.get("duplicate")
    solo = hub.solos.get(token)
    expired = [] if solo is not None or not token else [expired_run(hub.options.cull_after)]
    if solo is not None and not asks_for_settings(first):
        return own_run(hub, solo, duplicate), misnamed(first)  # names meant as settings too
    try:
        scenario, seed, knobs, notices = address_settings(first)
    except PlayError as exc:  # knobs that are not an object: the run as it is, or the default
        if solo is not None:
            return own_run(hub, solo, duplicate), [str(exc)]
        scenario, seed, knobs, notices = DEFAULT_SCENARIO, 0, {}, [str(exc)]
    if solo is not None and starts_as(solo.play, scenario, seed, knobs):
        return own_run(hub, solo, duplicate), notices
    # another link: a run of its own (the tab's earlier run stays for a tab that shows it)
    return hub.add_solo(Play(scenario, seed, knobs)), expired + notices


def expired_run(kept: float) -> str:
    """What a tab whose run is no longer on the server is told (its token is unknown)."""
    return (
        f"This tab's earlier run is no longer on the server (a closed tab's run is kept "
        f"{kept:g} s; a restarted server keeps none): this is a new run."
    )


def own_run(hub: Hub, solo: Solo, duplicate: object = None) -> Solo:
    """``solo`` for a tab that comes back to it, or a copy for a duplicated tab (as the page
    says; if it does not say, a second tab showing the run is one)."""
    copy = duplicate is True or (duplicate is None and solo.connected)
    return hub.add_solo(solo.play.copy()) if copy else solo


async def solo_message(hub: Hub, ws: WebSocket, solo: Solo, msg: dict[str, Any]) -> None:
    kind = msg.get("type")
    if kind == "step":
        n = msg.get("n", 1)
        if not isinstance(n, int) or not 1 <= n <= MAX_STEPS:
            raise PlayError(f"n must be a whole number from 1 to {MAX_STEPS}")
        deltas = hub.timed_step(solo.play, n)
        await reply(ws, {"type": "weeks", "deltas": deltas, "id": msg.get("id")})
    elif kind == "reset":
        solo.play = new_play(msg)
        await reply(ws, hello(solo.play, "solo", token=solo.token))
    elif kind == "fork":
        solo.play.fork(knobs_of(msg))
        await reply(ws, hello(solo.play, "solo", token=solo.token))
    elif kind == "replicates":
        n = msg.get("n", 100)
        if not isinstance(n, int):
            raise PlayError("n must be a whole number")
        async with hub.heavy:  # one simulation job at a time: the others keep their clocks
            result = await asyncio.to_thread(solo.play.replicates, n)
        # to every tab showing the run now: a tab reloaded meanwhile gets it too
        message = json.dumps({"type": "replicates", "result": result})
        await asyncio.gather(*(_send(s, message) for s in {ws, *solo.sockets}))
    else:
        raise PlayError(f"unknown request {kind!r}")


async def serve_room(hub: Hub, ws: WebSocket, first: dict[str, Any]) -> None:
    room = hub.room
    assert room is not None
    if first.get("type") == "facilitate":
        if first.get("key") != room.facilitator_key:
            await error(ws, "wrong facilitator key")
            return
        token = ""
        hub.facilitators.add(ws)
        extra: dict[str, Any] = {
            "code": room.code,
            "decisions": room.decisions,
            "seats": {k: s.title for k, s in SEATS.items()},
            "token": room.facilitator_key,
            "debrief": room.last_debrief if room.debrief_shown_last else None,
        }
        await reply(ws, hello(room.play, "facilitator", **extra))
    else:
        try:
            holder = room.join(
                first.get("room"), first.get("seat"), first.get("name"), first.get("token")
            )
        except PlayError as exc:
            await reply(ws, {"type": "refused", "message": str(exc)})
            return
        token = holder.token
        seat = SEATS[holder.seat]
        await reply(
            ws,
            hello(
                room.play,
                "participant",
                token=token,
                seat=holder.seat,
                seat_title=seat.title,
                brief=seat.brief,
                name=holder.name,
                controls=[c.spec() for c in seat.controls],
                choices=room.choices(holder.seat) if holder.seat in PLAYABLE else {},
                deciding=room.deciding(holder.seat) if holder.seat in PLAYABLE else False,
                code=room.code,
            ),
        )
    hub.room_sockets[ws] = token
    await hub.send_status()
    try:
        await answer_messages(ws, lambda msg: room_message(hub, ws, token, msg))
    finally:
        hub.room_sockets.pop(ws, None)
        hub.facilitators.discard(ws)
        if token and token in room.holders and token not in hub.room_sockets.values():
            room.holders[token].connected = False
        await hub.send_status()


async def room_message(hub: Hub, ws: WebSocket, token: str, msg: dict[str, Any]) -> None:
    room = hub.room
    assert room is not None
    kind = msg.get("type")
    if kind == "leave":
        room.leave(token)
        await reply(ws, {"type": "left"})
        await hub.send_status()
        return
    if kind in ("decide", "handback"):
        if kind == "decide":
            entry = room.decide(token, msg.get("control"), msg.get("value"))
        else:
            entry = room.hand_back(token)
        seat = entry["seat"]
        await reply(
            ws,
            {
                "type": "decided",
                "entry": entry,
                "choices": room.choices(seat),
                "deciding": room.deciding(seat),
            },
        )
        await hub.broadcast({"type": "decision", "entry": entry}, facilitators_only=True)
        await hub.send_status()
        return
    if ws not in hub.facilitators:
        raise PlayError("only the facilitator controls the clock")
    if hub.busy:
        raise PlayError(f"wait: {hub.busy}")
    if kind == "clock":
        action = msg.get("action")
        if action not in CLOCK_ACTIONS:  # had been ignored without a word (helper-183)
            raise PlayError(f"unknown clock action {action!r}: {', '.join(CLOCK_ACTIONS)}")
        if action == "play" and hub.clock is None and not room.play.finished:
            hub.clock = asyncio.get_running_loop().create_task(hub.run_clock())
        elif action == "pause" and hub.clock is not None:
            hub.clock.cancel()
        elif action == "step" and hub.clock is None:
            await hub.room_step()
        await hub.send_status()
    elif kind == "free":
        freed = room.free(msg.get("seat"))
        if freed is not None:
            await tell_freed(hub, freed.token)
        await hub.send_status()
    elif kind == "fork":
        room.fork(knobs_of(msg))
        await hub.broadcast({**hello(room.play, "update")})
    elif kind in ("debrief", "replicates"):
        await long_job(hub, kind, msg)
    else:
        raise PlayError(f"unknown request {kind!r}")


#: What the facilitator's clock can be asked to do.
CLOCK_ACTIONS = ("play", "pause", "step")


async def tell_freed(hub: Hub, token: str) -> None:
    """Tell the pages of a freed seat that it was freed and how to rejoin."""
    assert hub.room is not None
    text = json.dumps(
        {"type": "freed", "message": hub.room.why_no_seat(token), "code": hub.room.code}
    )
    await asyncio.gather(*(_send(ws, text) for ws, t in hub.room_sockets.items() if t == token))


async def long_job(hub: Hub, kind: str, msg: dict[str, Any]) -> None:
    """A debrief or replicates for the facilitators; a failure reaches them as an error
    naming the job, sent after the room's status so that it stays on their page."""
    try:
        result = await run_long_job(hub, kind, msg)
    except PlayError as exc:  # refused: the message says why
        await hub.broadcast({"type": "error", "message": str(exc), "job": kind}, True)
        return
    except Exception as exc:  # a failed job is reported, and the room goes on
        await hub.broadcast(
            {"type": "error", "message": f"{kind} failed: {exc}", "job": kind}, True
        )
        return
    await hub.broadcast({"type": kind, "result": result}, facilitators_only=True)
    participants = [ws for ws, token in hub.room_sockets.items() if token]
    text = json.dumps({"type": kind})  # that it is shown: the table is the facilitator's
    await asyncio.gather(*(_send(ws, text) for ws in participants))


async def run_long_job(hub: Hub, kind: str, msg: dict[str, Any]) -> dict[str, Any]:
    """Run the job with the room marked busy (the clock stops); its result."""
    room = hub.room
    assert room is not None
    n = msg.get("n", hub.options.replicates)
    # a debrief's stars and percentiles need as many replicates as the CLI's tests do
    least = MIN_FOR_PERCENTILE if kind == "debrief" else 1
    if isinstance(n, bool) or not isinstance(n, int) or not least <= n <= 1000:
        raise PlayError(f"n must be a whole number from {least} to 1000")
    if hub.clock is not None:
        hub.clock.cancel()
    hub.busy = f"running {n} model replicates"
    await hub.send_status()
    try:
        async with hub.heavy:
            if kind == "debrief":
                folder = room.debrief_folder(hub.options.results)
                return await asyncio.to_thread(room.debrief, folder, n)
            return await asyncio.to_thread(room.replicates, n)
    finally:
        hub.busy = ""
        await hub.send_status()
