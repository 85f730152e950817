"""Which configured channels a notice goes to (pure).

A route names systems and sites; an empty list means "all". A notice goes to a route when they share
a system (or the route takes every system) and a site (or either side names none: a hospital-wide
notice reaches every route of its systems; the all-staff channel, with no sites, gets every notice).
So a notice about the ED's badge readers goes to the ED channel and the all-staff channel, and not
to 4 West's. Names compare ignoring case and spacing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar


class RouteLike(Protocol):
    """What routing reads of a route."""

    @property
    def systems(self) -> Sequence[str]: ...
    @property
    def sites(self) -> Sequence[str]: ...


class Routed(Protocol):
    """What routing reads of a notice."""

    @property
    def systems(self) -> Sequence[str]: ...
    @property
    def sites(self) -> Sequence[str]: ...


R = TypeVar("R", bound=RouteLike)


def fold(name: str) -> str:
    """A system or site name as routing compares it."""
    return " ".join(name.split()).casefold()


def _overlap(wanted: Sequence[str], named: Sequence[str]) -> bool:
    if not wanted or not named:
        return True
    return bool({fold(w) for w in wanted} & {fold(n) for n in named})


def route_matches(route: RouteLike, notice: Routed) -> bool:
    """True when ``notice`` should be posted to ``route`` (see the module docstring)."""
    systems_ok = not route.systems or _overlap(route.systems, notice.systems)
    return systems_ok and _overlap(route.sites, notice.sites)


def routes_for(notice: Routed, routes: Iterable[R]) -> list[R]:
    """The routes ``notice`` goes to, in the order given."""
    return [route for route in routes if route_matches(route, notice)]
