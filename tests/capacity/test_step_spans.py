"""A capacity step that lost spans fails, judged on steps recorded from real searches: the
trace sink received fewer spans than the runtime ended, so the runtime did less work than
the step asked of it."""

from __future__ import annotations

import dataclasses

import pytest

from conftest import DATA
from tierbench.capacity.record import CapacityRecord
from tierbench.capacity.settings import CapacitySettings
from tierbench.capacity.steps import STEP_COLUMNS, judge, spans_lost

RECORD = CapacityRecord.read(DATA / "capacity" / "capacity" / "calibrated-s.json")
SETTINGS = CapacitySettings.from_config(RECORD.settings)


def passing_step():
    step = next(step for step in RECORD.steps if step.passed)
    return dataclasses.replace(step, reasons=[])


def test_a_recorded_passing_step_still_passes_when_every_span_arrived():
    step = passing_step()
    step.spans_expected, step.spans_received = 1200, 1200
    assert judge(step, SETTINGS).passed
    assert step.reasons == []


def test_a_recorded_passing_step_fails_when_spans_were_lost():
    step = passing_step()
    step.spans_expected, step.spans_received = 1200, 1150
    judge(step, SETTINGS)
    assert not step.passed
    assert step.reasons == ["spans lost: 50 of 1200 never reached the sink"]


@pytest.mark.parametrize(("expected", "received"), [(None, None), (10, None), (None, 3)])
def test_a_step_without_both_counts_is_judged_as_before(expected, received):
    step = passing_step()
    step.spans_expected, step.spans_received = expected, received
    assert spans_lost(step) == 0
    assert judge(step, SETTINGS).passed


def test_a_sink_that_received_more_than_the_step_ended_lost_nothing():
    step = passing_step()
    step.spans_expected, step.spans_received = 10, 12
    assert spans_lost(step) == 0 and judge(step, SETTINGS).passed


def test_recorded_steps_of_earlier_versions_read_without_the_counts():
    assert all(step.spans_expected is None for step in RECORD.steps)
    row = RECORD.steps[0].as_row()
    assert {"spans_expected", "spans_received"} <= set(row) <= set(STEP_COLUMNS)
