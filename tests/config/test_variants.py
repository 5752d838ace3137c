"""A runtime's variants: the same service run another way, each a row of its own in every
table and chart, with its environment on the service's container and its build args in an
image of its own."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from conftest import DATA, REPO, Workdir, containers_of, planned_cells, planned_jobs, run_snakemake
from tierbench.cell_meta import CellMeta
from tierbench.compose_project import read_compose_project
from tierbench.config.limits import LimitSet
from tierbench.config.sweep import ConfigError, load_sweep
from tierbench.load.docker.containers import limits_override
from tierbench.load.docker.images import variant_build_override
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
        ({"slow": {}}, "should be non-empty (One variant: `environment`, `build_args` or both"),
        ({"slow": {"build_args": {}}}, "runtimes.web.variants.slow.build_args"),
        ({"slow": {"build_args": {"A": True}}}, "quote words YAML reads as booleans"),
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


def test_a_variant_with_build_args_has_an_image_of_its_own(workdir: Workdir):
    config = with_variants(
        workdir,
        {
            "big": {"build_args": {"GREETING": "bonjour", "SIZE": 3}},
            "both": {"environment": {"COST_MS": "8"}, "build_args": {"GREETING": "hallo"}},
            "slow": {"environment": {"COST_MS": "8"}},
        },
        environment={"COST_MS": "2"},
    )
    sweep = load_sweep(config, base_dir=workdir.path)
    web, big, both, slow = (sweep.runtimes[r] for r in ["web", "web-big", "web-both", "web-slow"])
    # Build args as the builder reads them; the runtime's environment, kept or overridden.
    assert big.build_args == (("GREETING", "bonjour"), ("SIZE", "3"))
    assert big.environment == (("COST_MS", "2"),)
    assert both.environment == (("COST_MS", "8"),)
    # Tagged beside the service's image, after the runtime row: no two rows share one.
    assert big.image == f"{PROJECT}-web:web-big"
    assert both.image == f"{PROJECT}-web:web-both"
    assert web.image is None and slow.image is None and slow.build_args == ()
    assert (big.service, big.port) == (web.service, web.port)
    assert sweep.runtime_settings["web-big"]["build_args"] == {"GREETING": "bonjour", "SIZE": 3}
    # A variant without build args has the settings, and so the cells, it had before.
    assert "build_args" not in sweep.runtime_settings["web-slow"]
    assert "build_args" not in sweep.cell_config(sweep.cells[0])["runtime"]


def test_changing_a_variants_build_args_reruns_its_cells_only(workdir: Workdir):
    def hashes(build_args: dict) -> dict[str, str]:
        variants = {"big": {"build_args": build_args}, "slow": {"environment": {"A": "1"}}}
        sweep = load_sweep(with_variants(workdir, variants), base_dir=workdir.path)
        return {cell.name: sweep.cell_config_hash(cell) for cell in sweep.cells}

    before, after = hashes({"GREETING": "bonjour"}), hashes({"GREETING": "hallo"})
    assert [name for name in before if before[name] != after[name]] == ["web-big-xs", "web-big-s"]


def test_a_variant_with_build_args_needs_a_service_with_a_build_section(workdir: Workdir):
    with open(workdir.path / "compose.yaml", "a") as compose:
        compose.write("  pulled:\n    image: python:3.11-slim-bookworm\n    network_mode: host\n")
    config = workdir.config
    config["runtimes"] = {
        "pulled": {"service": "pulled", "port": 19199, "health_path": "/healthz"}
        | {"variants": {"big": {"build_args": {"GREETING": "bonjour"}}}}
    }
    with pytest.raises(ConfigError) as refused:
        load_sweep(config, base_dir=workdir.path)
    message = str(refused.value)
    assert message.startswith("config key runtimes.pulled.variants.big.build_args:")
    assert "'pulled' has no `build:` section" in message and "`environment`" in message


def test_a_cluster_refuses_a_variant_with_build_args(workdir: Workdir):
    config = with_variants(workdir, {"big": {"build_args": {"GREETING": "bonjour"}}})
    config["backend"] = "kubernetes"
    with pytest.raises(ConfigError) as refused:
        load_sweep(config, base_dir=workdir.path)
    message = str(refused.value)
    assert message.startswith("config key runtimes.web.variants.big.build_args:")
    assert "builds none" in message and "push it" in message and "runtime of its own" in message
    # The same variant set by its environment alone is measured on a cluster.
    config = with_variants(workdir, {"big": {"environment": {"GREETING": "bonjour"}}})
    config["backend"] = "kubernetes"
    assert load_sweep(config, base_dir=workdir.path).runtimes["web-big"].image is None


def test_the_variants_image_is_built_with_its_args_over_the_services():
    definition = {"build": {"context": "/stack/app", "args": {"BASE_IMAGE": "b", "GREETING": "hi"}}}
    override = variant_build_override(
        definition, "web", f"{PROJECT}-web:web-big", {"GREETING": "bonjour"}
    )
    assert override == {
        "services": {
            "web": {
                "image": f"{PROJECT}-web:web-big",
                "build": {"args": {"BASE_IMAGE": "b", "GREETING": "bonjour"}},
            }
        }
    }
    # A section without args of its own gets the variant's alone.
    bare = variant_build_override({"build": {"context": "/app"}}, "web", "i:t", {"A": "1"})
    assert bare["services"]["web"]["build"] == {"args": {"A": "1"}}


def test_the_override_runs_a_variants_own_image_never_pulled_or_built():
    requested = LimitSet(cpus=0.5, memory_bytes=2**29, memswap_bytes=2**29, cpuset="0")
    image = f"{PROJECT}-web:web-big"
    override = limits_override("web", requested, [], ["support"], "1", {}, image)
    assert override["services"]["web"]["image"] == image
    assert override["services"]["web"]["pull_policy"] == "never"
    assert "image" not in override["services"]["support"]
    shared = limits_override("web", requested, [], [], "", {"A": "1"})["services"]["web"]
    assert "image" not in shared and "pull_policy" not in shared


def test_the_plan_builds_a_variants_own_image_for_its_cells_only(workdir: Workdir):
    variants = {"big": {"build_args": {"GREETING": "bonjour"}}, "slow": {"environment": {"A": "1"}}}
    workdir.write_config(with_variants(workdir, variants))
    result = workdir.snakemake("-n", "--forceall", "results/meta/web-big-xs.json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert planned_jobs(result.stdout) == {"variant_image": 1, "image": 1, "load": 1}
    assert "results/images/variants/web-big.json" in result.stdout
    assert "results/images/web.json" not in result.stdout  # only the support service's
    shared = workdir.snakemake("-n", "--forceall", "results/meta/web-slow-xs.json")
    assert shared.returncode == 0, shared.stderr[-2000:]
    assert "results/images/web.json" in shared.stdout
    assert "results/images/variants" not in shared.stdout


def test_a_records_identity_says_its_build_args_and_reads_without_them():
    record = json.loads((DATA / "cells" / "sweep" / "meta" / "python-xs.json").read_text())
    assert "build_args" not in record  # written before variants had build args
    meta = CellMeta.from_json(record)
    assert meta.build_args == {}
    keys = list(meta.to_json())
    assert keys[keys.index("environment") :][:3] == ["environment", "build_args", "variant_of"]


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
