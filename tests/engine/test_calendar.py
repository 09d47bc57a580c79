"""The simpy month calendar: when events fire, and the order of events and monthly steps."""

from __future__ import annotations

import pytest

from sim.engine import Calendar


def _recorder(log: list[tuple[str, int]], name: str):
    def action(month: int) -> None:
        log.append((name, month))

    return action


def test_at_fires_once_at_its_month() -> None:
    """at(m) fires exactly once, at month m, and is logged with its name."""
    cal = Calendar(12)
    seen: list[tuple[str, int]] = []
    cal.at(5, "five", _recorder(seen, "five"))
    cal.run()
    assert seen == [("five", 5)]
    assert cal.log == [(5, "five")]


def test_every_fires_on_each_period_inside_horizon() -> None:
    """every(first, period) fires at first, first+period, ... and never at or after the horizon."""
    cal = Calendar(30)
    seen: list[tuple[str, int]] = []
    cal.every(3, 12, "yearly", _recorder(seen, "yearly"))
    cal.every(0, 1, "monthly", _recorder(seen, "monthly"))
    cal.run()
    assert [m for n, m in seen if n == "yearly"] == [3, 15, 27]
    assert [m for n, m in seen if n == "monthly"] == list(range(30))


def test_every_with_negative_first_keeps_its_phase() -> None:
    """A negative first month fires at the first month of the same phase at or after 0."""
    cal = Calendar(20)
    seen: list[tuple[str, int]] = []
    cal.every(-5, 12, "phase", _recorder(seen, "phase"))
    cal.run()
    assert [m for _, m in seen] == [7, 19]


def test_nothing_fires_at_or_after_the_horizon() -> None:
    """Events at the horizon, beyond it or before month 0 never fire."""
    cal = Calendar(10)
    seen: list[tuple[str, int]] = []
    for month in (-1, 10, 11, 100):
        cal.at(month, f"m{month}", _recorder(seen, f"m{month}"))
    cal.at(9, "last", _recorder(seen, "last"))
    cal.every(10, 1, "late", _recorder(seen, "late"))
    cal.run()
    assert seen == [("last", 9)]


def test_events_fire_in_month_order() -> None:
    """The log lists events in non-decreasing month order, whatever order they were registered."""
    cal = Calendar(24)
    seen: list[tuple[str, int]] = []
    for month in (17, 2, 9, 0, 23):
        cal.at(month, f"at{month}", _recorder(seen, f"at{month}"))
    cal.every(4, 6, "every", _recorder(seen, "every"))
    cal.run()
    months = [m for m, _ in cal.log]
    assert months == sorted(months)
    assert sorted(cal.log) == sorted(
        [(m, f"at{m}") for m in (17, 2, 9, 0, 23)] + [(m, "every") for m in (4, 10, 16, 22)]
    )


def test_monthly_step_runs_after_every_event_of_its_boundary() -> None:
    """Step m runs once per month, after all events of boundary m and before those of m+1."""
    horizon = 14
    cal = Calendar(horizon)
    trace: list[tuple[str, int]] = []
    cal.monthly_step(_recorder(trace, "step"))  # registered first on purpose
    cal.every(0, 1, "launch", _recorder(trace, "event"))
    cal.every(0, 12, "april", _recorder(trace, "event"))
    cal.at(7, "grant ends", _recorder(trace, "event"))
    cal.run()
    steps = [i for i, (kind, _) in enumerate(trace) if kind == "step"]
    assert [trace[i][1] for i in steps] == list(range(horizon))
    for i, (kind, month) in enumerate(trace):
        if kind == "event":
            step_at = trace.index(("step", month))
            assert i < step_at, f"event of month {month} ran after step {month}"
            if month > 0:
                assert i > trace.index(("step", month - 1)), f"event of month {month} ran too early"


@pytest.mark.parametrize("period", [0, -1, -12])
def test_every_rejects_non_positive_period(period: int) -> None:
    """every() with a period below one month is an error."""
    cal = Calendar(12)
    with pytest.raises(ValueError):
        cal.every(0, period, "bad", lambda month: None)


@pytest.mark.parametrize("horizon", [0, -1])
def test_calendar_rejects_empty_horizon(horizon: int) -> None:
    """A calendar needs at least one month."""
    with pytest.raises(ValueError):
        Calendar(horizon)


def test_events_of_a_month_fire_by_rank_then_registration() -> None:
    """Within a month the order is (rank, registration), whatever the kind of event and
    whenever a repeating event last fired; lower ranks first."""
    cal = Calendar(14)
    seen: list[tuple[str, int]] = []
    cal.every(0, 1, "monthly rank 2", _recorder(seen, "monthly rank 2"), rank=2)
    cal.every(0, 12, "yearly rank 1", _recorder(seen, "yearly rank 1"), rank=1)
    cal.at(12, "once rank 3", _recorder(seen, "once rank 3"), rank=3)
    cal.at(12, "once rank 0", _recorder(seen, "once rank 0"), rank=0)
    cal.at(12, "once rank 1 later", _recorder(seen, "once rank 1 later"), rank=1)
    cal.run()
    at_12 = [name for name, month in seen if month == 12]
    assert at_12 == ["once rank 0", "yearly rank 1", "once rank 1 later", "monthly rank 2",
                     "once rank 3"]


def test_a_rank_outside_the_range_is_refused() -> None:
    with pytest.raises(ValueError, match="rank"):
        Calendar(5).at(1, "x", _recorder([], "x"), rank=1000)
