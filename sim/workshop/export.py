"""A played run as one self-contained HTML page (NetLogo Web's export, for this sandbox).

The page holds the run's data as JSON, the stylesheet and the drawing code inline: it opens
offline from a file, anywhere, and a slider replays the run week by week.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from string import Template
from typing import Any

from sim.workshop.play import Play

STATIC = Path(__file__).parent / "static"


def _inline_script(text: str) -> str:
    """Script text that cannot close its own <script> element."""
    return text.replace("</", "<\\/")


def export_html(
    play: Play,
    decisions: list[dict[str, Any]] | None = None,
    note: str = "",
    debrief: dict[str, Any] | None = None,
    room: bool = False,
    replicates: bool = True,
) -> str:
    """The page: the run so far (every branch), its decisions (``note``: which they are), the
    room's last ``debrief`` if given, and a replay slider; ``room`` says the run was played by
    seats (the command to run it at scale then runs the model alone); ``replicates=False``
    leaves out the last replicates table (in a room, the facilitator's alone)."""
    view = play.view()
    if not replicates:
        view["replicates"] = None
    data = {
        "view": view,
        "decisions": decisions or [],
        "decisions_note": note,
        "debrief": debrief,
        "room": room,
    }
    world = (STATIC / "world.html").read_text(encoding="utf-8")
    css = (STATIC / "style.css").read_text(encoding="utf-8")
    app = (STATIC / "app.js").read_text(encoding="utf-8")
    kind = "CPEC crisis workshop room" if room else "CPEC crisis sandbox"
    title = f"{kind}: {play.scenario}, seed {play.seed}, week {play.week}"
    page = Template((STATIC / "export.html").read_text(encoding="utf-8"))
    return page.substitute(
        title=html.escape(title),
        css=css,
        world=world,
        data=json.dumps(data).replace("<", "\\u003c"),  # no markup inside the data block
        app=_inline_script(app),
        replay=_inline_script((STATIC / "replay.js").read_text(encoding="utf-8")),
    )
