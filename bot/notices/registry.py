"""The systems registry: seeded from the knowledge base, edited by IT, read by notices and matching.

Seeding (once, when the registry is empty) takes every name in the articles' ``systems:`` front
matter; each system's aliases are the other terms of the glossary groups that contain its name
("Epic" gets emr, ehr, hyperspace ...). A name IT types is looked up ignoring case, among names and
aliases; an unknown one is refused with the closest known name as a suggestion.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from bot.notices.errors import NoticeError, UnknownSystemError
from bot.notices.models import NoticeSystem
from bot.notices.queries import add_system, list_systems
from indexer.glossary import GLOSSARY_FILE, load_glossary
from indexer.lexical import Glossary, words


@dataclass(frozen=True)
class SeedSystem:
    """A system to seed: its name and the words for it."""

    name: str
    aliases: tuple[str, ...]
    source: str


def seed_from_knowledge(kb: Path) -> list[SeedSystem]:
    """The systems the knowledge folder names, with their glossary aliases, by name (pure: reads files)."""
    from indexer.articles import load_articles

    names: dict[str, str] = {}
    if kb.is_dir():
        articles, _problems = load_articles(kb)
        for article in articles:
            for name in article.systems:
                names.setdefault(name.strip().casefold(), name.strip())
    glossary, _ = load_glossary(kb / GLOSSARY_FILE)
    return [
        SeedSystem(name, tuple(glossary_aliases(name, glossary, other_names=names.values())), "knowledge")
        for _, name in sorted(names.items())
        if name
    ]


# Words of a system's name too general to pull a glossary group in ("Staff Wi-Fi" is found by "wi fi",
# never by "staff").
GENERIC_NAME_WORDS = frozenset(
    {"staff", "guest", "windows", "microsoft", "server", "viewer", "medical", "mobile", "workspace"}
    | {"station", "system", "app", "portal", "workstation", "laptop", "scanner", "company", "active"}
    | {"directory", "file", "secure", "chat", "on", "wheels", "it"}
)


def glossary_aliases(name: str, glossary: Glossary, *, other_names: Iterable[str] = ()) -> list[str]:
    """The other terms of every glossary group that holds ``name`` or a distinctive part of it
    ("pyxis" of "Pyxis MedStation", "wi fi" of "Staff Wi-Fi"); a part that is itself another
    system's name (the "epic" of "Epic Haiku") or a general word does not count."""
    name_words = words(name)
    full = " ".join(name_words)
    others = {" ".join(words(o)) for o in other_names} - {full}
    parts = {
        " ".join(name_words[i:j]) for i in range(len(name_words)) for j in range(i + 1, len(name_words) + 1)
    }
    parts = {
        p for p in parts if p == full or (len(p) >= 3 and p not in GENERIC_NAME_WORDS and p not in others)
    }
    found: list[str] = []
    for group in glossary.to_json():
        if parts & set(group):
            found += [term for term in group if term != full and term not in found]
    return found


def ensure_seeded(*, session: Session, kb: Path) -> int:
    """Seed the registry from ``kb`` when it is empty; returns how many systems were added."""
    if list_systems(session=session):
        return 0
    seeds = seed_from_knowledge(kb)
    for seed in seeds:
        add_system(session=session, name=seed.name, aliases=seed.aliases, source=seed.source)
    return len(seeds)


def resolve_names(names: Iterable[str], systems: Sequence[NoticeSystem]) -> list[str]:
    """The registry names for ``names`` (each a name or an alias, any case), in order, without repeats.

    Raises ``UnknownSystemError`` naming the first unknown one and the closest known name.
    """
    lookup: dict[str, str] = {}
    for system in systems:
        lookup.setdefault(system.name.casefold(), system.name)
    for system in systems:
        for alias in system.aliases:
            lookup.setdefault(alias.casefold(), system.name)
    resolved: list[str] = []
    for raw in names:
        name = " ".join(raw.split())
        if not name:
            continue
        found = lookup.get(name.casefold())
        if found is None:
            raise UnknownSystemError(f"unknown system {name!r}", user_message=_unknown(name, systems))
        if found not in resolved:
            resolved.append(found)
    if not resolved:
        raise NoticeError(
            "no systems", user_message="Name at least one system, such as Epic or Citrix.", field="systems"
        )
    return resolved


def _unknown(name: str, systems: Sequence[NoticeSystem]) -> str:
    words = {s.name.casefold(): s.name for s in systems}
    for system in systems:
        for alias in system.aliases:
            words.setdefault(alias.casefold(), system.name)
    close = difflib.get_close_matches(name.casefold(), list(words), n=1, cutoff=0.6)
    if close:
        hint = f" Did you mean {words[close[0]]!r}?"
    elif systems:
        known = [s.name for s in systems]
        hint = " Known systems: " + ", ".join(known[:12]) + ("…" if len(known) > 12 else "") + "."
    else:
        hint = " The registry is empty: add it with `itbot systems add NAME`."
    return f"Unknown system {name!r}.{hint} (`itbot systems list` shows them all.)"


def parse_list(text: str) -> list[str]:
    """A comma-separated list as typed on a command line, trimmed, empty items dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]
