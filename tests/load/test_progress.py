"""The status line a sweep shows while a cell loads."""

from __future__ import annotations

import io

from tierbench.load.progress import ProgressLine, SweepPosition


class FakeK6:
    """k6's REST API as it answers while a load runs: counts grow with time."""

    def __init__(self):
        self.elapsed = 0.0

    def metric(self, name: str) -> dict | None:
        if name == "http_reqs":
            return {"count": 250.0 * self.elapsed, "rate": 250.0}
        if name == "http_req_duration":
            return {"p(95)": 12.4, "avg": 5.0}
        if name == "http_req_failed":
            return {"rate": 0.005}
        return None


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def run_ticks(line: ProgressLine, api: FakeK6, clock: Clock, seconds: int) -> None:
    for tenth in range(seconds * 10 + 1):
        api.elapsed = clock.now = tenth / 10
        clock.now += 1000.0  # the sweep began 1000 s before this cell
        line.tick(api, api.elapsed)
    line.done()


def test_a_line_every_few_seconds_when_not_on_a_terminal():
    stream, api, clock = io.StringIO(), FakeK6(), Clock(0)
    position = SweepPosition(index=3, total=8, started=0.0)
    line = ProgressLine("ts-m", position, 90.0, stream, terminal=False, clock=clock)
    run_ticks(line, api, clock, 12)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4  # at 0 s, 5 s and 10 s, and the last reading (12 s) at the end
    assert lines[-1].startswith("tierbench: cell 3/8 ts-m · 12s of 1m30s")
    last = lines[-2]
    assert last.startswith("tierbench: cell 3/8 ts-m · 10s of 1m30s")
    assert "250 req/s" in last and "p95 12 ms" in last and "errors 0.5%" in last
    # 80 s left of this cell and five more cells of 90 s + overhead.
    assert "sweep 16m50s in, ~9m05s left" in last
    assert "\r" not in stream.getvalue()


def test_one_line_rewritten_on_a_terminal():
    stream, api, clock = io.StringIO(), FakeK6(), Clock(0)
    line = ProgressLine("ts-m", SweepPosition(1, 2, 0.0), 5.0, stream, terminal=True, clock=clock)
    run_ticks(line, api, clock, 3)
    text = stream.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n") and text.count("\n") == 1


def test_the_cells_place_counts_those_already_finished(tmp_path):
    (tmp_path / "meta").mkdir()
    for name in ("a-xs", "b-xs"):
        (tmp_path / "meta" / f"{name}.json").write_text("{}")
    (tmp_path / "preflight.json").write_text("{}")
    position = SweepPosition.of("a-s", ["a-xs", "b-xs", "a-s", "b-s"], tmp_path)
    assert (position.index, position.total) == (3, 4)
    assert position.started == (tmp_path / "preflight.json").stat().st_mtime


class SilentK6:
    """k6's REST API before its first request counted: no metric exists yet."""

    def metric(self, name: str) -> dict | None:
        return None


def test_a_reading_before_k6_counted_anything_keeps_every_field_in_its_place():
    stream = io.StringIO()
    line = ProgressLine("ts-m", SweepPosition(2, 4, 0.0), 2.0, stream, terminal=False)
    line.tick(SilentK6(), 0.0)
    line.done()
    (text,) = stream.getvalue().splitlines()
    assert text.startswith("tierbench: cell 2/4 ts-m · 0s of 2s")
    assert text.endswith(" · – req/s · p95 – · errors –")
