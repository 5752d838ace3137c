"""k6 JSON to tidy Parquet, on k6 output recorded from real runs (tests/data/k6)."""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from conftest import DATA
from tierbench.commands import tidy as tidy_command
from tierbench.tidy.k6_json import (
    METRIC_SCHEMA,
    REQUEST_SCHEMA,
    EmptyRunError,
    K6FormatError,
    metrics_path_for,
    tidy_k6_json,
)

K6_DATA = DATA / "k6"
FLOW = K6_DATA / "fast-xs.json.gz"
OVERLOAD = K6_DATA / "overload-xs.json.gz"


def raw_lines(path: Path) -> list[bytes]:
    return gzip.decompress(path.read_bytes()).splitlines(keepends=True)


def points_of(path: Path) -> list[dict]:
    return [record for record in map(json.loads, raw_lines(path)) if record["type"] == "Point"]


def test_one_row_per_request_with_k6_values(tmp_path: Path) -> None:
    out = tmp_path / "cell.parquet"
    result = tidy_k6_json(FLOW, out)
    requests = pl.read_parquet(out)
    points = points_of(FLOW)
    http_reqs = [p for p in points if p["metric"] == "http_reqs"]
    durations = [p["data"]["value"] for p in points if p["metric"] == "http_req_duration"]
    waiting = [p["data"]["value"] for p in points if p["metric"] == "http_req_waiting"]
    assert requests.schema == REQUEST_SCHEMA
    assert result.requests == requests.height == len(http_reqs)
    assert requests["duration_ms"].to_list() == durations
    assert requests["waiting_ms"].to_list() == waiting
    assert requests["name"].to_list() == [p["data"]["tags"]["name"] for p in http_reqs]
    assert requests["status"].to_list() == [int(p["data"]["tags"]["status"]) for p in http_reqs]
    failed = [p["data"]["value"] == 1 for p in points if p["metric"] == "http_req_failed"]
    assert requests["failed"].to_list() == failed
    assert set(requests["name"]) == {"list", "item", "flaky"}
    assert requests.filter(pl.col("status") == 500)["failed"].all()
    first = http_reqs[0]["data"]["time"]
    assert requests["timestamp"][0].isoformat().startswith(first[:26].replace("Z", ""))


def test_other_metrics_are_tidy(tmp_path: Path) -> None:
    out = tmp_path / "cell.parquet"
    result = tidy_k6_json(FLOW, out)
    metrics = pl.read_parquet(metrics_path_for(out))
    assert metrics.schema == METRIC_SCHEMA
    points = points_of(FLOW)
    others = [p for p in points if not p["metric"].startswith("http_req")]
    assert result.metric_samples == metrics.height == len(others)
    counts = dict(metrics.group_by("metric").len().iter_rows())
    for name in ("iterations", "checks", "vus", "data_sent", "data_received"):
        assert counts[name] == sum(1 for p in others if p["metric"] == name)
    checks = metrics.filter(pl.col("metric") == "checks")
    assert set(checks["check"]) == {"list is 200", "flaky is 200"}


def test_vu_and_iter_from_metadata_and_dropped_iterations(tmp_path: Path) -> None:
    out = tmp_path / "overload.parquet"
    tidy_k6_json(OVERLOAD, out)
    requests = pl.read_parquet(out)
    assert requests["vu"].null_count() == 0
    assert set(requests["vu"]) == {1, 2}
    assert requests["iter"].min() == 0
    metrics = pl.read_parquet(metrics_path_for(out))
    dropped = metrics.filter(pl.col("metric") == "dropped_iterations")["value"].sum()
    summary = json.loads((K6_DATA / "overload-xs.summary.json").read_text())
    assert dropped == summary["metrics"]["dropped_iterations"]["count"]


def test_plain_and_gzip_and_any_chunk_size_agree(tmp_path: Path) -> None:
    plain = tmp_path / "flow.json"
    plain.write_bytes(gzip.decompress(FLOW.read_bytes()))
    tidy_k6_json(FLOW, tmp_path / "gz.parquet")
    result = tidy_k6_json(plain, tmp_path / "plain.parquet", chunk_bytes=7_000)
    assert result.lines == len(raw_lines(FLOW))
    for name in ("gz.parquet", "plain.parquet"):
        assert (tmp_path / name).exists()
    assert pl.read_parquet(tmp_path / "gz.parquet").equals(
        pl.read_parquet(tmp_path / "plain.parquet")
    )
    assert pl.read_parquet(tmp_path / "gz.metrics.parquet").equals(
        pl.read_parquet(tmp_path / "plain.metrics.parquet")
    )


def leaves_nothing(directory: Path) -> bool:
    return not any(p.suffix == ".parquet" or p.name.startswith(".") for p in directory.iterdir())


def test_cut_mid_line_names_file_and_line(tmp_path: Path) -> None:
    lines = raw_lines(FLOW)
    broken = tmp_path / "cut.json"
    broken.write_bytes(b"".join(lines[:1000]) + lines[1000][:70])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(K6FormatError) as caught:
        tidy_k6_json(broken, out_dir / "cut.parquet", chunk_bytes=20_000)
    assert f"{broken}:1001" in str(caught.value)
    assert caught.value.line == 1001
    assert leaves_nothing(out_dir)


def test_truncated_gzip_is_a_clear_error(tmp_path: Path) -> None:
    data = FLOW.read_bytes()
    broken = tmp_path / "cut.json.gz"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(K6FormatError, match="cut.json.gz"):
        tidy_k6_json(broken, tmp_path / "cut.parquet")
    assert not (tmp_path / "cut.parquet").exists()


def test_not_json_names_the_line(tmp_path: Path) -> None:
    lines = raw_lines(FLOW)
    broken = tmp_path / "garbage.json"
    broken.write_bytes(b"".join(lines[:300]) + b"this is not json\n" + b"".join(lines[300:]))
    with pytest.raises(K6FormatError) as caught:
        tidy_k6_json(broken, tmp_path / "garbage.parquet")
    assert caught.value.line == 301
    assert not (tmp_path / "garbage.parquet").exists()


def test_wrong_shape_is_rejected(tmp_path: Path) -> None:
    foreign = tmp_path / "summary.json"
    foreign.write_bytes((K6_DATA / "fast-xs.summary.json").read_bytes())
    with pytest.raises(K6FormatError, match=r"summary\.json:1"):
        tidy_k6_json(foreign, tmp_path / "summary.parquet")


def test_request_with_missing_points_is_rejected(tmp_path: Path) -> None:
    lines = raw_lines(FLOW)
    waiting = next(
        i for i, line in enumerate(lines) if b'"metric":"http_req_waiting","type":"Point"' in line
    )
    broken = tmp_path / "gap.json"
    broken.write_bytes(b"".join(lines[:waiting] + lines[waiting + 1 :]))
    with pytest.raises(K6FormatError, match="incomplete"):
        tidy_k6_json(broken, tmp_path / "gap.parquet")


def test_run_without_requests_is_an_error(tmp_path: Path) -> None:
    no_http = tmp_path / "nohttp.json"
    no_http.write_bytes(
        b"".join(line for line in raw_lines(FLOW) if b'"metric":"http_req' not in line)
    )
    with pytest.raises(EmptyRunError, match="nohttp.json"):
        tidy_k6_json(no_http, tmp_path / "nohttp.parquet")
    assert not (tmp_path / "nohttp.parquet").exists()
    assert not (tmp_path / "nohttp.metrics.parquet").exists()


def run_tidy_command(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tierbench")
    tidy_command.COMMAND.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["tidy", *argv])
    return args.func(args)


def test_tidy_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.parquet"
    assert run_tidy_command(str(FLOW), str(out)) == 0
    printed = capsys.readouterr().out
    assert f"{pl.read_parquet(out).height} requests -> {out}" in printed
    assert metrics_path_for(out).exists()
    broken = tmp_path / "broken.json"
    broken.write_bytes(b"".join(raw_lines(FLOW)[:5]) + b"{not json\n")
    assert run_tidy_command(str(broken), str(tmp_path / "broken.parquet")) == 2
    assert f"{broken}:6" in capsys.readouterr().err


def test_points_of_a_request_in_another_order_still_fold(tmp_path: Path) -> None:
    lines = raw_lines(FLOW)
    blocked = next(
        i for i, line in enumerate(lines) if b'"metric":"http_req_blocked","type":"Point"' in line
    )
    assert b'"metric":"http_req_connecting"' in lines[blocked + 1]
    swapped = lines[:blocked] + [lines[blocked + 1], lines[blocked]] + lines[blocked + 2 :]
    (tmp_path / "swapped.json").write_bytes(b"".join(swapped))
    tidy_k6_json(tmp_path / "swapped.json", tmp_path / "swapped.parquet")
    tidy_k6_json(FLOW, tmp_path / "original.parquet")
    assert pl.read_parquet(tmp_path / "swapped.parquet").equals(
        pl.read_parquet(tmp_path / "original.parquet")
    )
