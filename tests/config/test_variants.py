"""A runtime's variants: the same service run another way, each a row of its own in every
table and chart, with its environment on the service's container."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from conftest import REPO, Workdir, containers_of, planned_cells, run_snakemake
from tierbench.compose_project import read_compose_project
from tierbench.config.limits import LimitSet
from tierbench.config.sweep import ConfigError, load_sweep
from tierbench.load.docker.containers import limits_override
from tierbench.load.kubernetes.manifests import pair_for, runtime_pod

PROJECT = "tierbench-test"


def with_variants(workdir: Workdir, variants: dict, **runtime) -> dict:
    config = workdir.config
    config["runtimes"] = {"web": config["runtimes"]["web"] | runtime | {"variants": variants}}
    return config


def test_a_variant_is_a_runtime_of_its_own_right_after_its_runtime(workdir: Workdir):
    config = with_variants(
        workdir,
        {"slow": {"environment": {"COST_MS": 8}}, "quick": {"environment": {"COST_MS": "1"}}},
        environment={"COST_MS": "2", "HEALTHY": "1"},
    )
    sweep = load_sweep(config, base_dir=workdir.path)
    assert list(sweep.runtimes) == ["web", "web-slow", "web-quick"]
    web, slow = sweep.runtimes["web"], sweep.runtimes["web-slow"]
    assert (slow.service, slow.port, slow.health_path) == (web.service, web.port, web.health_path)
    # The variant's environment over its runtime's, numbers as the service reads them.
    assert web.environment == (("COST_MS", "2"), ("HEALTHY", "1"))
    assert slow.environment == (("COST_MS", "8"), ("HEALTHY", "1"))
    assert [cell.name for cell in sweep.cells] == [
        "web-xs", "web-slow-xs", "web-quick-xs", "web-s", "web-slow-s", "web-quick-s"
    ]  # fmt: skip
    assert sweep.runtime_settings["web-slow"]["variant_of"] == "web"


def test_the_plan_has_a_load_per_variant_cell(workdir: Workdir):
    workdir.write_config(with_variants(workdir, {"slow": {"environment": {"COST_MS": "8"}}}))
    result = workdir.snakemake("-n", "sweep")
    assert result.returncode == 0, result.stderr[-2000:]
    assert planned_cells(result.stdout) == {"web-xs", "web-slow-xs", "web-s", "web-slow-s"}
    # One image for the runtime and its variants, which share its service.
    assert result.stdout.count("results/images/web.json") >= 1
    assert "results/images/web-slow" not in result.stdout


def test_adding_a_variant_leaves_its_runtimes_cells_as_they_were(workdir: Workdir):
    def hashes(config: dict) -> dict[str, str]:
        sweep = load_sweep(config, base_dir=workdir.path)
        return {cell.name: sweep.cell_config_hash(cell) for cell in sweep.cells}

    before = hashes(workdir.config | {"runtimes": {"web": workdir.config["runtimes"]["web"]}})
    after = hashes(with_variants(workdir, {"slow": {"environment": {"COST_MS": "8"}}}))
    assert {name: after[name] for name in before} == before
    changed = hashes(with_variants(workdir, {"slow": {"environment": {"COST_MS": "9"}}}))
    assert changed["web-slow-s"] != after["web-slow-s"]
    assert changed["web-s"] == after["web-s"]


def test_the_reference_variants_config_plans_its_rows_in_a_directory_of_its_own():
    """`make variants`: config/variants.yaml, run in variants/ (`-d variants`, so its
    results are variants/results/), plans the Python runtime's three variants beside
    python and ts at every tier, each with its switches."""
    directory = REPO / "variants"
    config_file = REPO / "config" / "variants.yaml"
    result = run_snakemake(directory, "-n", "sweep", "--configfile", str(config_file))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = ["ts", "python", "python-httpx", "python-fastapi_telemetry", "python-default"]
    assert planned_cells(result.stdout) == {
        f"{row}-{tier}" for row in rows for tier in ["xs", "s", "m", "l"]
    }
    sweep = load_sweep(yaml.safe_load(config_file.read_text()), base_dir=directory)
    assert list(sweep.runtimes) == rows
    assert sweep.compose_file.resolve() == REPO / "config" / "compose.yaml"
    environments = {row: dict(sweep.runtimes[row].environment) for row in rows}
    assert environments == {
        "ts": {},
        "python": {},
        "python-httpx": {"LLM_CLIENT": "httpx"},
        "python-fastapi_telemetry": {"FASTAPI_TELEMETRY": "on"},
        "python-default": {"LLM_CLIENT": "httpx", "FASTAPI_TELEMETRY": "on"},
    }


@pytest.mark.parametrize(
    ("variants", "expected"),
    [
        ({"slow": {"environment": {"TRACING": False}}}, "quote words YAML reads as booleans"),
        ({"slow": {"environment": {"BAD-NAME": "1"}}}, "runtimes.web.variants.slow.environment"),
        ({"slow": {}}, "'environment' is a required property"),
        ({"slow-er": {"environment": {"A": "1"}}}, "runtimes.web.variants"),
    ],
)
def test_a_bad_variant_names_its_key(workdir: Workdir, variants: dict, expected: str):
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(")):
        load_sweep(with_variants(workdir, variants), base_dir=workdir.path)


def test_two_cells_with_one_name_are_refused(workdir: Workdir):
    """web's variant `xs` at tier r2 and web's second repeat at tier xs would share the
    file names of web-xs-r2."""
    config = with_variants(workdir, {"xs": {"environment": {"A": "1"}}})
    config["tiers"] = {"xs": {"cpus": 0.25, "memory": "256MB"}, "r2": {"cpus": 1, "memory": "1GB"}}
    config["repeats"] = 2
    with pytest.raises(ConfigError, match="both named 'web-xs-r2'"):
        load_sweep(config, base_dir=workdir.path)


def test_the_override_sets_the_runtimes_environment_beside_its_limits():
    requested = LimitSet(cpus=0.5, memory_bytes=2**29, memswap_bytes=2**29, cpuset="0")
    override = limits_override("web", requested, [], ["support"], "1", {"COST_MS": "8"})
    assert override["services"]["web"]["environment"] == {"COST_MS": "8"}
    assert "environment" not in override["services"]["support"]
    assert "environment" not in limits_override("web", requested, [], [], "")["services"]["web"]


def test_a_variants_environment_goes_into_its_runtime_pod_over_the_clusters(monkeypatch):
    monkeypatch.chdir(REPO)  # Compose resolves build contexts relative to where it runs
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["backend"] = "kubernetes"
    config["runtimes"]["python"]["variants"] = {
        "notrace": {"environment": {"TRACING": "off", "LLM_BASE_URL": "http://llm:9/v1"}}
    }
    sweep = load_sweep(config, REPO)
    services = read_compose_project(sweep.compose_file, sweep.project).services
    cell = next(cell for cell in sweep.cells if cell.name == "python-notrace-m")
    pod = runtime_pod(
        sweep, cell, services["agent-python"], pair_for(0, sweep.kubernetes), sweep.kubernetes
    )
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    # The variant's own over the cluster's override (http://mock-llm:8090/v1 in the config).
    assert env["TRACING"] == "off" and env["LLM_BASE_URL"] == "http://llm:9/v1"
    assert env["HOST"] == "0.0.0.0"  # the cluster's override, kept
    assert env["SESSION_MAX"] == "10000"  # the Compose file's own, kept


@pytest.mark.docker
@pytest.mark.chromium
def test_a_variants_environment_reaches_its_container_and_its_rows_every_output(
    workdir: Workdir,
):
    """The variant spends 30 ms of CPU per request (COST_MS) where its runtime spends 2,
    through its environment alone: under a quarter of a CPU it serves a fraction of the
    runtime's requests, and it is a row of its own in the summary, the charts and the
    report. The config is one of the user's own, outside the repository (the workdir is a
    temporary directory)."""
    config = with_variants(workdir, {"slow": {"environment": {"COST_MS": "30"}}})
    config["tiers"] = {"xs": config["tiers"]["xs"]}
    config["support_services"] = []
    config["k6_script"] = "k6/work.js"
    config["charts"] = {"length_s": 3, "width": 480, "height": 270, "fps": 10}
    workdir.write_config(config)
    result = workdir.snakemake(timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    results = workdir.path / "results"
    meta = json.loads((results / "meta" / "web-slow-xs.json").read_text())
    assert (meta["environment"], meta["variant_of"]) == ({"COST_MS": "30"}, "web")
    base = json.loads((results / "meta" / "web-xs.json").read_text())
    assert (base["environment"], base["variant_of"]) == ({}, None)
    with open(results / "summary.csv") as handle:
        rows = {row["runtime"]: row for row in csv.DictReader(handle)}
    assert list(rows) == ["web", "web-slow"]
    assert float(rows["web-slow"]["rps"]) < 0.5 * float(rows["web"]["rps"]), rows
    assert "web-slow" in (results / "summary.md").read_text()
    assert "web-slow" in (results / "charts" / "report.html").read_text()
    assert (results / "charts" / "comparison.gif").stat().st_size > 0
    assert containers_of(PROJECT) == []
