"""Event types described by the apps that record them: for the activity feed, and the listeners
that react to them in the same transaction (notifications).

The feed (in the pages layer) knows no event type itself. Each app registers, in its
AppConfig.ready(), how to tell its own types as a sentence ("Mia approved Mix 3 of 'Night
Drive'") and how to look up in bulk the names those sentences need (songs, mixes, files ...).
A page of events then costs one query per kind of name, whatever the types on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Ref = tuple[str, Any]  # (kind of name, id from a payload: ints are looked up, the rest ignored)


@dataclass(frozen=True)
class Names:
    """The names looked up for one page of events, by kind then id."""

    found: dict[str, dict[int, str]]

    def get(self, kind: str, ref: Any) -> str | None:
        if not isinstance(ref, int):
            return None
        return self.found.get(kind, {}).get(ref)

    def song(self, ref: Any) -> str:
        title = self.get("song", ref)
        return f"'{title}'" if title is not None else "a deleted song"

    def version(self, obj: Any) -> str:
        """A mix or master version named by a payload that holds `mix` or `master` ids."""
        if isinstance(obj, dict):
            for kind in ("mix", "master"):
                name = self.get(kind, obj.get(kind))
                if name is not None:
                    return name
        return "a version"


@dataclass(frozen=True)
class Told:
    """What a describer gets: who acted, the event's payload and the names of the page."""

    type: str
    who: str
    payload: dict[str, Any]
    names: Names
    actor_id: int | None = None  # so "Leo added leo" can be told as "Leo joined"


Describer = Callable[[Told], str | None]
RefFinder = Callable[[dict[str, Any]], Iterable[Ref]]
Resolver = Callable[[set[int]], dict[int, str]]


@dataclass(frozen=True)
class EventType:
    describe: Describer
    refs: RefFinder | None = None


_types: dict[str, EventType] = {}
_resolvers: dict[str, Resolver] = {}
_quiet: set[str] = set()


def register_event_type(type: str, describe: Describer, *, refs: RefFinder | None = None) -> None:
    """Say how to tell `type`; `refs` lists the names its sentence needs."""
    if type in _types and _types[type].describe is not describe:
        raise ValueError(f"event type {type!r} is already described")
    _types[type] = EventType(describe=describe, refs=refs)


def register_quiet(*types: str) -> None:
    """Types that change nothing a person reads about (job started, progress ...)."""
    _quiet.update(types)


def register_names(kind: str, resolve: Resolver) -> None:
    """A bulk lookup of the names of one kind: ids -> {id: name}."""
    if kind in _resolvers and _resolvers[kind] is not resolve:
        raise ValueError(f"names of {kind!r} are already resolved elsewhere")
    _resolvers[kind] = resolve


def is_quiet(type: str) -> bool:
    return type in _quiet


def described_types() -> set[str]:
    return set(_types) | _quiet


def names_for(payloads: Iterable[tuple[str, dict[str, Any]]]) -> Names:
    """Gather the refs of (type, payload) pairs and resolve each kind in one call."""
    wanted: dict[str, set[int]] = {}
    for type, payload in payloads:
        entry = _types.get(type)
        if entry is None or entry.refs is None:
            continue
        for kind, ref in entry.refs(payload):
            if isinstance(ref, int):
                wanted.setdefault(kind, set()).add(ref)
    found = {
        kind: _resolvers[kind](ids) for kind, ids in wanted.items() if kind in _resolvers and ids
    }
    return Names(found)


def tell(
    type: str, *, who: str, payload: dict[str, Any], names: Names, actor_id: int | None = None
) -> str | None:
    """The sentence for one event, or None (quiet or unknown types are not shown)."""
    entry = _types.get(type)
    if entry is None or type in _quiet:
        return None
    return entry.describe(Told(type=type, who=who, payload=payload, names=names, actor_id=actor_id))


# --- listeners: code of the apps above that must change with an event, in its transaction ----
Listener = Callable[[Any], None]  # gets the Event row just written
_listeners: dict[str, list[Listener]] = {}


def register_listener(type: str, listener: Listener) -> None:
    """Call `listener(event)` whenever an event of `type` is recorded, right after its row is
    written and inside the same transaction: what it writes exists exactly when the event does
    (an exception rolls both back). eventlog knows no app, so the apps above register here (in
    AppConfig.ready); registering the same function twice is a no-op."""
    chain = _listeners.setdefault(type, [])
    if listener not in chain:
        chain.append(listener)


def listeners_of(type: str) -> tuple[Listener, ...]:
    return tuple(_listeners.get(type, ()))
