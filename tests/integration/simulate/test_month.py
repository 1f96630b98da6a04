"""A month in a centre, as a test: a seeded centre's cases replayed on the manual clock,
every invariant of the notice rules checked over the whole message log.

CI runs a few small seeds; ``CUIBAN_MONTH_SEEDS=20 CUIBAN_MONTH_CASES=150`` runs more.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hub.settings import Settings
from hub.simulate.invariants import INVARIANTS
from hub.simulate.scenario import synthetic
from hub.simulate.session import Outcome, simulate
from hub.store.calendars import load_calendar

SEEDS = list(range(1, 1 + int(os.environ.get("CUIBAN_MONTH_SEEDS", "2"))))
CASES = int(os.environ.get("CUIBAN_MONTH_CASES", "20"))
# Counterexamples of notice bugs not yet fixed: (invariant, seed) -> the first one found.
# Each is an xfail(strict=True) on that seed alone: the day the bug is fixed it fails, and
# the entry goes.
KNOWN: dict[tuple[str, int], str] = {}

_outcomes: dict[int, Outcome] = {}


@pytest.fixture(params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
async def month(
    request: pytest.FixtureRequest, settings: Settings, database_url: str, tmp_path: Path
) -> Outcome:
    seed = request.param
    if seed not in _outcomes:
        calendar = load_calendar(settings.database.data_dir, settings.calendar.year_files)
        scenario = synthetic(seed=seed, cases=CASES, days=30, calendar=calendar)
        _outcomes[seed] = await simulate(
            settings, scenario, database_url=database_url, data_dir=tmp_path
        )
    return _outcomes[seed]


@pytest.mark.parametrize("invariant", sorted(INVARIANTS))
async def test_every_notice_of_a_month_keeps_the_rules(
    month: Outcome, invariant: str, request: pytest.FixtureRequest
) -> None:
    """Over a whole simulated month, the invariant holds (else: its first counterexample)."""
    seed = int(request.node.callspec.params["month"])
    if (invariant, seed) in KNOWN:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN[(invariant, seed)]))
    assert month.log, "the month sent nothing"
    assert invariant not in month.broken, month.broken[invariant]
