"""The Dagster dbt asset's events with the materializations of the models a build left
out of dbt's run (pipeline/defs/asset_order.py): every event once, dbt's in dbt's order,
and no asset after one of its children, the rule Dagster enforces on a multi-asset."""

from __future__ import annotations

import random

import pytest

from pipeline.defs.asset_order import with_left_out


def ordered(events, left_out, parents):
    """with_left_out over (key, what) events; a left-out key comes back as (key, 'kept')."""
    return list(
        with_left_out(
            events, left_out, parents, key_of=lambda event: event[0], kept=lambda key: (key, "kept")
        )
    )


def assert_parents_first(result, parents):
    position = {}
    for index, (key, _) in enumerate(result):
        position.setdefault(key, index)
    for child, its_parents in parents.items():
        for parent in its_parents:
            if child in position and parent in position:
                assert position[parent] < position[child], (parent, child, result)


def test_left_out_assets_with_no_parent_in_the_step_go_before_dbts_events():
    parents = {"config": set(), "crm": {"config"}, "calls": set(), "marts": {"crm", "calls"}}
    events = [("calls", "output"), ("marts", "output"), ("marts", "check")]
    assert ordered(events, ["config", "crm"], parents) == [
        ("config", "kept"),
        ("crm", "kept"),
        *events,
    ]


def test_a_left_out_asset_goes_right_after_the_parent_dbt_builds():
    parents = {"arrivals": set(), "snapshots": {"arrivals"}, "calls": set()}
    events = [("calls", "output"), ("arrivals", "output"), ("arrivals", "check")]
    assert ordered(events, ["snapshots"], parents) == [
        ("calls", "output"),
        ("arrivals", "output"),
        ("snapshots", "kept"),
        ("arrivals", "check"),
    ]


def test_a_child_dbt_finishes_before_its_left_out_parent_can_go_waits_for_it():
    # unioned reads the left-out snapshots, which wait for arrivals; dbt, which did not run
    # snapshots, finishes unioned first. unioned's check and its child wait with it.
    parents = {
        "arrivals": set(),
        "snapshots": {"arrivals"},
        "unioned": {"snapshots"},
        "entities": {"unioned"},
        "calls": set(),
    }
    events = [
        ("unioned", "output"),
        ("calls", "output"),
        ("unioned", "check"),
        ("entities", "output"),
        ("arrivals", "output"),
    ]
    result = ordered(events, ["snapshots"], parents)
    assert result == [
        ("calls", "output"),
        ("arrivals", "output"),
        ("snapshots", "kept"),
        ("unioned", "output"),
        ("unioned", "check"),
        ("entities", "output"),
    ]


def test_a_left_out_asset_whose_parent_dbt_never_built_goes_at_the_end():
    parents = {"arrivals": set(), "snapshots": {"arrivals"}, "calls": set()}
    events = [("calls", "output")]
    assert ordered(events, ["snapshots"], parents) == [("calls", "output"), ("snapshots", "kept")]


def test_when_dbt_fails_its_waiting_events_go_before_the_error():
    parents = {"arrivals": set(), "snapshots": {"arrivals"}, "unioned": {"snapshots"}}

    def failing():
        yield ("unioned", "check failed")
        raise RuntimeError("dbt failed")

    seen = []
    with pytest.raises(RuntimeError, match="dbt failed"):
        seen.extend(
            with_left_out(
                failing(), ["snapshots"], parents, key_of=lambda e: e[0], kept=lambda k: (k, "kept")
            )
        )
    assert seen == [("unioned", "check failed")]


def test_a_consumer_that_stops_reading_closes_it_cleanly():
    parents = {"arrivals": set(), "snapshots": {"arrivals"}, "unioned": {"snapshots"}}
    events = [("unioned", "output"), ("calls", "output"), ("arrivals", "output")]
    stream = with_left_out(
        iter(events), ["snapshots"], parents, key_of=lambda e: e[0], kept=lambda k: (k, "kept")
    )
    assert next(stream) == ("calls", "output")  # unioned waits for snapshots
    stream.close()  # a RuntimeError if it yielded the waiting event on its way out


def test_nothing_left_out_leaves_dbts_events_as_they_are():
    events = [("b", "output"), ("a", "output"), (None, "log")]
    assert ordered(events, [], {"a": set(), "b": {"a"}}) == events


@pytest.mark.parametrize("seed", range(100))
def test_any_dag_every_event_once_dbts_in_order_and_parents_first(seed):
    rng = random.Random(seed)
    keys = [f"m{i}" for i in range(rng.randint(2, 14))]  # in dependency order
    parents = {
        key: {parent for parent in keys[:i] if rng.random() < 0.3} for i, key in enumerate(keys)
    }
    left_out = [key for key in keys if rng.random() < 0.35]
    built = [key for key in keys if key not in left_out and rng.random() < 0.9]

    # dbt finishes a node after the built nodes it waits for (the left-out ones it does
    # not wait for), in any order otherwise; each node's check follows its output.
    def waits_for(key):
        found = set()
        for parent in parents[key]:
            found |= {parent} if parent in built else waits_for(parent)
        return found

    finished, events = [], []
    pending = list(built)
    while pending:
        ready = [key for key in pending if waits_for(key) <= set(finished)]
        key = rng.choice(ready)
        pending.remove(key)
        finished.append(key)
        events.append((key, "output"))
        if rng.random() < 0.5:
            events.append((key, "check"))
    result = ordered(events, left_out, parents)

    assert sorted(result) == sorted([*events, *((key, "kept") for key in left_out)])
    for key in built:  # an asset's own events in dbt's order
        assert [e for e in result if e[0] == key] == [e for e in events if e[0] == key]
    assert_parents_first(result, parents)
