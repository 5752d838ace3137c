"""What the figures rest on, checked on real runs: k6's clock for the window, limits
verified in full, interleaved repeats, a watched load side, spans delivered."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from conftest import REPO, Workdir, containers_of, run_snakemake

pytestmark = pytest.mark.docker
PROJECT = "tierbench-test"


def read_meta(results: Path, cell: str) -> dict:
    return json.loads((results / "meta" / f"{cell}.json").read_text())


def runs_by_cell(results: Path) -> dict[str, dict]:
    with open(results / "runs.csv") as handle:
        return {row["cell"]: row for row in csv.DictReader(handle)}


def k6_rate(results: Path, cell: str) -> float:
    summary = json.loads((results / "k6" / f"{cell}.summary.json").read_text())
    return summary["metrics"]["http_reqs"]["rate"]


@pytest.fixture(scope="module")
def reference_sweep_at_xs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference stack swept at tier XS with the smoke profile, the mock's trace sink
    refusing the Python runtime's exports (`MOCK_SINK_REJECT_SERVICES`, as a Langfuse
    server that rejects batches, which the SDK then drops): its results directory."""
    directory = tmp_path_factory.mktemp("reference-xs")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config |= {
        "compose_file": str(REPO / "config" / "compose.yaml"),
        "compose_project": "tierbench-truth",
        "k6_script": str(REPO / "k6" / "agent-flow.js"),
        "tiers": {"xs": config["tiers"]["xs"]},
        "profile": "smoke",
    }
    (directory / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOCK_SINK_REJECT_SERVICES", "agent-python")
        result = run_snakemake(
            directory,
            "results/summary.md",
            "results/runs.csv",
            "--configfile",
            str(directory / "config.yaml"),
            timeout=600,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    assert containers_of("tierbench-truth") == []
    return directory / "results"


def test_tool_req_per_s_equals_k6s_own_rate_for_both_reference_runtimes(reference_sweep_at_xs):
    """With warmup 0 the window is k6's whole run on k6's clock, so req/s is k6's
    http_reqs rate (within 0.5 %), for the fast runtime and the slow one alike."""
    results = reference_sweep_at_xs
    runs = runs_by_cell(results)
    for cell in ("ts-xs", "python-xs"):
        meta = read_meta(results, cell)
        assert meta["window"]["warmup_s"] == 0
        assert meta["window"]["clock"] == "k6 summary: http_reqs count / rate"
        rps, rate = float(runs[cell]["rps"]), k6_rate(results, cell)
        assert abs(rps / rate - 1) <= 0.005, (cell, rps, rate)
        summary = json.loads((results / "k6" / f"{cell}.summary.json").read_text())
        assert int(runs[cell]["requests"]) == summary["metrics"]["http_reqs"]["count"]


def test_a_cell_whose_spans_never_reached_the_sink_is_flagged(reference_sweep_at_xs):
    """Every comparison cell checks that the spans its runtime ended reached the trace
    sink: the cell whose exports the sink refused is flagged, in its meta and as a warning
    in the tables, while the Bun runtime's cell records every span delivered."""
    results = reference_sweep_at_xs
    delivered, refused = read_meta(results, "ts-xs"), read_meta(results, "python-xs")
    assert delivered["status"] == refused["status"] == "ok"
    assert delivered["spans_expected"] > 0
    assert delivered["spans_received"] == delivered["spans_expected"]
    assert delivered["spans_lost"] == 0
    assert refused["spans_expected"] > 0
    assert refused["spans_received"] == 0
    assert refused["spans_lost"] == refused["spans_expected"]

    runs = runs_by_cell(results)
    assert "spans lost" not in runs["ts-xs"]["warnings"]
    assert (
        f"python-xs: spans lost: the runtime ended {refused['spans_expected']} spans"
        in runs["python-xs"]["warnings"]
    )
    with open(results / "summary.csv") as handle:
        summary = {row["runtime"]: row for row in csv.DictReader(handle)}
    assert "spans lost" in summary["python"]["warnings"]
    assert "spans lost" not in summary["ts"]["warnings"]
    markdown = (results / "summary.md").read_text()
    assert "| python ⚠ spans lost | xs |" in markdown and "| ts | xs |" in markdown


def request_points(k6_json: Path) -> list[tuple[datetime, datetime]]:
    """(end, iteration start) of every request in a raw k6 JSON file (gzip, as k6 wrote it)."""
    points = []
    for line in gzip.decompress(k6_json.read_bytes()).decode().splitlines():
        record = json.loads(line)
        if record.get("type") == "Point" and record["metric"] == "http_reqs":
            tags = record["data"]["tags"]
            start = datetime.fromtimestamp(int(tags["iter_start"]) / 1000, UTC)
            points.append((datetime.fromisoformat(record["data"]["time"]), start))
    return points


def test_a_warmup_window_matches_k6s_own_data(workdir: Workdir):
    """The window placed from k6's own data (the first iteration's start on k6's clock,
    the run's length from k6's summary), independently of the meta."""
    config = workdir.config
    config["runtimes"] = {"web": config["runtimes"]["web"]}
    config["tiers"] = {"s": config["tiers"]["s"]}
    config["k6_script"] = "k6/timed.js"
    config["profiles"]["smoke"] = {"stages": [{"duration": "4s", "target": 2}], "warmup": 1.5}
    workdir.write_config(config)
    result = workdir.snakemake("results/runs.csv")
    assert result.returncode == 0, result.stderr[-3000:]
    results = workdir.path / "results"
    points = request_points(results / "k6" / "web-s.json.gz")
    summary = json.loads((results / "k6" / "web-s.summary.json").read_text())
    duration_s = summary["metrics"]["http_reqs"]["count"] / summary["metrics"]["http_reqs"]["rate"]
    load_start = min(start for _, start in points)
    window_start = load_start + timedelta(seconds=1.5)
    expected = sum(1 for end, _ in points if end >= window_start)
    expected_rps = expected / (duration_s - 1.5)

    row = runs_by_cell(results)["web-s"]
    # A window misplaced by the warmup, or by k6's start-up (~0.2 s), would be off by far
    # more than the few requests near the edge that the millisecond clock leaves open.
    edge = max(3, 0.01 * expected)
    assert abs(int(row["requests"]) - expected) <= edge, (row, expected)
    assert float(row["window_s"]) == pytest.approx(duration_s - 1.5, abs=1e-6)
    # The rate is those requests over that window: in a window of a few seconds, one request
    # at the edge moves it by a few per cent, so it is held to the same edge, not to 1 %.
    assert float(row["rps"]) == pytest.approx(
        int(row["requests"]) / float(row["window_s"]), rel=1e-6
    )
    assert abs(float(row["rps"]) - expected_rps) <= edge / (duration_s - 1.5), (row, expected_rps)


def test_a_compose_files_own_memswap_limit_fails_the_limit_check(workdir: Workdir):
    config = workdir.config
    config["runtimes"] = {
        "swapper": {"service": "swapper", "port": 19184, "health_path": "/healthz"}
    }
    config["tiers"] = {"xs": config["tiers"]["xs"]}
    workdir.write_config(config)
    result = workdir.snakemake("sweep")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "memswap: requested 268435456 bytes" in output
    assert "Docker applied 1073741824 bytes" in output
    assert "the Compose file sets `memswap_limit` for service swapper" in output
    assert not (workdir.path / "results" / "meta" / "swapper-xs.json").exists()
    assert containers_of(PROJECT) == []


def test_a_compose_files_own_cpuset_fails_the_limit_check_with_verified_false(workdir: Workdir):
    from tierbench.config.sweep import load_sweep
    from tierbench.load.backend import LimitsNotApplied
    from tierbench.load.docker.backend import DockerBackend
    from tierbench.load.lifecycle import placement_for, verify_limits

    config = workdir.config
    config["runtimes"] = {"pinned": {"service": "pinned", "port": 19185, "health_path": "/healthz"}}
    config["tiers"] = {"xs": config["tiers"]["xs"]}
    config["support_services"] = []
    # Unpinned, tierbench asks for every CPU; the Compose file's cpuset "1" would stay.
    config["cpu_pinning"] = "off"
    sweep = load_sweep(config, base_dir=workdir.path)
    backend = DockerBackend(sweep, override_dir=workdir.path / "overrides")
    placement = placement_for(sweep, sweep.cells[0])
    try:
        backend.place(placement)
        backend.wait_ready(20)
        check = backend.check_limits()
        assert not check.verified
        assert check.as_meta()["verified"] is False
        assert check.applied.cpuset == "1" and check.requested.cpuset == ""
        [problem] = check.problems
        assert "cpuset: requested every CPU, Docker applied CPUs 1" in problem
        assert "sets `cpuset` for service pinned" in problem
        with pytest.raises(LimitsNotApplied, match="does not run under tier xs's limits"):
            verify_limits(backend, placement)
    finally:
        backend.teardown()
    assert containers_of(PROJECT) == []


def test_repeats_interleave_whatever_cores_says(workdir: Workdir):
    config = workdir.config
    # One runtime at two tiers, twice: enough for an order to show.
    config["runtimes"] = {"web": config["runtimes"]["web"]}
    config["repeats"] = 2
    workdir.write_config(config)
    result = workdir.snakemake("sweep", "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    results = workdir.path / "results"
    windows = {
        path.stem: read_meta(results, path.stem)["window"]
        for path in (results / "meta").glob("*.json")
    }
    assert len(windows) == 4
    first = [w for cell, w in windows.items() if not cell.endswith("-r2")]
    second = [w for cell, w in windows.items() if cell.endswith("-r2")]
    assert max(w["end"] for w in first) < min(w["load_start"] for w in second)


def test_a_support_service_burning_the_load_side_cpu_is_warned_about(workdir: Workdir):
    config = workdir.config
    config["runtimes"] = {"web": config["runtimes"]["web"]}
    config["tiers"] = {"xs": config["tiers"]["xs"]}
    config["support_services"] = [{"service": "burner", "port": 19191, "health_path": "/healthz"}]
    config["profiles"]["smoke"]["stages"] = [{"duration": "3s", "target": 2}]
    workdir.write_config(config)
    result = workdir.snakemake("results/summary.md")
    assert result.returncode == 0, result.stderr[-3000:]
    results = workdir.path / "results"
    meta = read_meta(results, "web-xs")
    load_side = meta["load_side"]
    assert load_side["cores_given"] == 1 and not load_side["shared_with_runtime"]
    assert load_side["support_cpu_cores"] > 0.8
    assert load_side["saturated"]
    assert any("The load side was saturated" in w for w in meta["warnings"])
    assert "The load side was saturated" in (results / "summary.md").read_text()
    assert "capped by the host" in runs_by_cell(results)["web-xs"]["warnings"]
    assert containers_of(PROJECT) == []
