"""The order a multi-asset's events reach Dagster in.

Dagster fails a multi-asset step that yields an asset after one of its children
("Multiassets yielding multiple asset outputs must yield them in topological order").
dbt's events come in the order dbt finishes its nodes, which keeps that rule; the
materializations Voronka adds for the models a build left out of dbt's run
(RebuildPlan.left_out) must be fitted in among them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TypeVar

Key = TypeVar("Key")
Event = TypeVar("Event")


def with_left_out(
    events: Iterable[Event],
    left_out: Sequence[Key],
    parents: Mapping[Key, set[Key]],
    key_of: Callable[[Event], Key | None],
    kept: Callable[[Key], Event],
) -> Iterator[Event]:
    """dbt's events, and `kept(key)` for each left-out asset (in dependency order), in an
    order Dagster takes from a multi-asset: no asset after one of its children (`parents`:
    each asset's parents in the step). A left-out asset goes once its parents have gone;
    an event waits while its asset, or a parent of it, has a left-out asset or an event
    waiting. When dbt's events end, what still waits goes, each left-out asset as if its
    parents had gone (an event waits only on those); when they end in an error, dbt's
    waiting events go before it is raised."""
    gone: set[Key] = set()
    waiting = list(left_out)
    held: list[Event] = []

    def blocked(key: Key | None, before: list[Event]) -> bool:
        holding = {*waiting, *(key_of(event) for event in before)}
        return key is not None and bool(({key} | parents.get(key, set())) & holding)

    def released() -> Iterator[Event]:
        moved = True
        while moved:
            ready = [key for key in waiting if parents.get(key, set()) <= gone]
            free = next(
                (i for i, event in enumerate(held) if not blocked(key_of(event), held[:i])), None
            )
            moved = bool(ready) or free is not None
            for key in ready:
                waiting.remove(key)
                gone.add(key)
                yield kept(key)
            if free is not None:
                event = held.pop(free)
                gone.add(key_of(event))
                yield event

    yield from released()
    try:
        for event in events:
            if blocked(key_of(event), held):
                held.append(event)
            else:
                gone.add(key_of(event))
                yield event
            yield from released()
    except Exception:  # not GeneratorExit: a consumer that stops reading gets no more
        yield from list(held)
        raise
    while waiting:  # a parent dbt did not build holds them no longer
        gone.update(parents.get(waiting[0], set()))
        yield from released()
