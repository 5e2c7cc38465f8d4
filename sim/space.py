"""The places of the crisis and the network that joins them, read from ``sim/data/``.

Place attributes live in NumPy arrays indexed by place (fast, vectorised weekly rules);
the Mesa :class:`~mesa.discrete_space.Network` (:func:`build_network`) is the Mesa model's
topology, laid out by longitude/latitude: its rules read where a group can strike from the
network's links (:func:`reach_adjacency`); the engine reads the same links from the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from sim.data import rows as data_rows


@dataclass(frozen=True)
class PlaceTable:
    """Static attributes of the places (read-only; the model copies what it changes)."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    kind: tuple[str, ...]
    in_iran: np.ndarray  # bool
    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray
    hardship: np.ndarray
    legitimacy: np.ndarray
    chinese_nationals: np.ndarray
    chinese_per_vehicle: np.ndarray
    security: np.ndarray
    borders_iran: np.ndarray  # bool
    edges: tuple[tuple[str, str, str], ...]
    reach: tuple[bool, ...]  # per edge: can a group strike across it

    def index(self, place_id: str) -> int:
        """Position of a place id in the arrays."""
        return self.ids.index(place_id)

    @property
    def balochistan(self) -> np.ndarray:
        """Mask of Balochistan districts (the monitors' area)."""
        return np.array([k == "district" for k in self.kind])

    def neighbours(self, reach_only: bool = False) -> list[list[int]]:
        """Adjacency lists by index (``reach_only``: links a group can strike across)."""
        adj: list[list[int]] = [[] for _ in self.ids]
        for (a, b, _), reach in zip(self.edges, self.reach, strict=True):
            if reach_only and not reach:
                continue
            i, j = self.index(a), self.index(b)
            adj[i].append(j)
            adj[j].append(i)
        return adj


@cache
def load_places() -> PlaceTable:
    """Read ``places.csv`` and ``edges.csv`` (cached; arrays are treated as read-only)."""
    rows = data_rows("places.csv")

    def col(name: str) -> np.ndarray:
        return np.array([float(r[name]) for r in rows])

    table = PlaceTable(
        ids=tuple(r["id"] for r in rows),
        names=tuple(r["name"] for r in rows),
        kind=tuple(r["kind"] for r in rows),
        in_iran=np.array([r["country"] == "Iran" for r in rows]),
        lat=col("lat"),
        lon=col("lon"),
        population=col("population"),
        hardship=col("hardship"),
        legitimacy=col("legitimacy"),
        chinese_nationals=col("chinese_nationals"),
        chinese_per_vehicle=col("chinese_per_vehicle"),
        security=col("security"),
        borders_iran=col("borders_iran").astype(bool),
        edges=tuple((r["source"], r["target"], r["kind"]) for r in data_rows("edges.csv")),
        reach=tuple(r["reach"] == "1" for r in data_rows("edges.csv")),
    )
    for arr in (table.lat, table.population, table.hardship):
        arr.setflags(write=False)
    _check_populations(table)
    return table


def _check_populations(table: PlaceTable) -> None:
    """Every place needs people: harm, recruitment and legitimacy are per head (a place of
    population 0 divided by zero in the first week). One line naming the place."""
    from sim.params import ParameterError

    for place, population in zip(table.ids, table.population, strict=True):
        if not population > 0:  # NaN too
            raise ParameterError(
                f"places.csv: {place} has population {population:g}: every place needs a "
                "population above 0 (harm, recruitment and legitimacy are per head)"
            )


@cache
def load_groups() -> dict[str, dict[str, Any]]:
    """Militant groups: name, whether Baloch (BRAS), and initial fighters by place id."""
    groups: dict[str, dict[str, Any]] = {}
    for r in data_rows("groups.csv"):
        g = groups.setdefault(
            r["group"], {"name": r["name"], "baloch": r["baloch"] == "1", "fighters": {}}
        )
        g["fighters"][r["place"]] = int(r["fighters"])
    return groups


@cache
def load_investors() -> tuple[dict[str, Any], ...]:
    """Investor records: id, name, kind (state/private), place, capital, staff, friction range."""
    out = []
    for r in data_rows("investors.csv"):
        out.append(
            {
                "id": r["id"],
                "name": r["name"],
                "state_firm": r["kind"] == "state",
                "place": r["place"],
                "committed": float(r["committed_usd_m"]),
                "deployed": float(r["deployed_usd_m"]),
                "staff": int(r["chinese_staff"]),
                "friction_low": float(r["friction_low"]),
                "friction_high": float(r["friction_high"]),
            }
        )
    return tuple(out)


def build_network(places: PlaceTable, random: Any = None) -> Any:
    """A Mesa Network over the places, laid out by longitude/latitude.

    Nodes carry the place's ``name`` and array ``index``; links carry their ``kind`` and
    ``reach`` (whether a group can strike across them).
    """
    import networkx as nx
    from mesa.discrete_space import Network

    g = nx.Graph()
    for i, pid in enumerate(places.ids):
        g.add_node(pid, name=places.names[i], index=i)
    for (a, b, kind), reach in zip(places.edges, places.reach, strict=True):
        g.add_edge(a, b, kind=kind, reach=reach)
    layout = {pid: (places.lon[i], places.lat[i]) for i, pid in enumerate(places.ids)}
    return Network(g, random=random, layout=layout)


def reach_adjacency(network: Any) -> np.ndarray:
    """The network's links a group can strike across, as a read-only 0/1 matrix by place."""
    nodes = network.G.nodes
    adjacency = np.zeros((len(nodes), len(nodes)))
    for a, b, reach in network.G.edges(data="reach"):
        if reach:
            i, j = nodes[a]["index"], nodes[b]["index"]
            adjacency[i, j] = adjacency[j, i] = 1.0
    adjacency.setflags(write=False)
    return adjacency
