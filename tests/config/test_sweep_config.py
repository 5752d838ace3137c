"""Bad configuration fails before any job, with one error naming the key; a config of
your own is complete on its own; the workflow profile applies to a bare `snakemake`."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, planned_cells, planned_jobs, run_snakemake
from tierbench.config.sweep import ConfigError, load_sweep, schema_defaults


def test_default_config_plans_one_load_per_cell():
    result = run_snakemake(REPO, "-n", "--forceall")
    assert result.returncode == 0, result.stderr
    assert planned_jobs(result.stdout)["load"] == 8


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c.update(colour="blue"), "unknown config key 'colour'"),
        (lambda c: c["tiers"]["xs"].update(cpus=0), "tiers.xs.cpus"),
        (lambda c: c["tiers"]["xs"].update(cpus=-1), "tiers.xs.cpus"),
        (lambda c: c["tiers"]["xs"].update(cpus="lots"), "tiers.xs.cpus"),
        (lambda c: c["tiers"]["s"].update(memory="12XB"), "tiers.s: memory '12XB' is not a size"),
        (lambda c: c["tiers"]["s"].update(speed=3), "unknown config key 'speed' under tiers.s"),
        (lambda c: c["runtimes"]["web"].update(service="nginx"), "runtimes.web.service"),
        (lambda c: c.update(k6_script="k6/missing.js"), "k6_script: k6/missing.js does not exist"),
        (lambda c: c.update(profile="soak"), "profile: 'soak' is not a profile"),
        (lambda c: c["runtimes"]["web"].update(port="http"), "runtimes.web.port"),
    ],
)
def test_bad_config_names_the_key(workdir, monkeypatch, change, expected):
    monkeypatch.chdir(workdir.path)  # where the workflow runs: paths as the user wrote them
    config = workdir.config
    change(config)
    with pytest.raises(ConfigError) as raised:
        load_sweep(config)
    assert expected in str(raised.value)


def test_a_bad_config_stops_the_workflow_before_any_job(workdir):
    """The workflow reads the config as load_sweep does: the same error, before any job."""
    config = workdir.config
    config["tiers"]["s"]["memory"] = "12XB"
    workdir.write_config(config)
    result = workdir.snakemake("-n")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "invalid configuration" in output
    assert "tiers.s: memory '12XB' is not a size" in output
    assert not (workdir.path / "results").exists()


def test_no_docker_engine_stops_before_any_job_saying_what_to_do(workdir, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{workdir.path}/no-engine.sock")
    result = workdir.snakemake("sweep")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "no Docker engine answers" in output
    assert "make bench" in output
    assert not (workdir.path / "results").exists()


def bare_snakemake(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """snakemake as the README runs it: from the repository, no -s, no profile flag."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True
    )


def test_a_bare_snakemake_uses_the_workflow_profile():
    result = bare_snakemake("-n")
    assert result.returncode == 0, result.stderr
    assert (
        "Using workflow specific profile profiles/default for setting default command line "
        "arguments." in result.stderr
    )


def test_your_own_config_is_complete_on_its_own(workdir):
    """Run from the repository, as the README says: the reference stack's config/config.yaml
    is not merged into yours, and --config still overrides."""
    own = {
        "compose_file": str(workdir.path / "compose.yaml"),
        "runtimes": {"web2": {"service": "web2", "port": 19182, "health_path": "/healthz"}},
        "tiers": {"s": {"cpus": 0.5, "memory": "512MB"}, "m": {"cpus": 1, "memory": "1GB"}},
        "k6_script": str(workdir.path / "k6" / "hello.js"),
    }
    config_file = workdir.path / "my-config.yaml"
    config_file.write_text(yaml.safe_dump(own))
    result = bare_snakemake("-n", "sweep", "--configfile", str(config_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert planned_cells(result.stdout) == {"web2-s", "web2-m"}
    assert planned_jobs(result.stdout) == {"image": 1, "load": 2, "sweep": 1}
    result = bare_snakemake(
        "-n", "sweep", "--configfile", str(config_file), "--config", "repeats=2"
    )
    assert planned_cells(result.stdout) == {"web2-s", "web2-m", "web2-s-r2", "web2-m-r2"}


def test_keys_a_config_omits_take_the_schema_defaults(workdir):
    sweep = load_sweep(
        {
            "compose_file": "compose.yaml",
            "runtimes": {"web": {"service": "web", "port": 19181, "health_path": "/healthz"}},
            "k6_script": "k6/hello.js",
        },
        base_dir=workdir.path,
    )
    assert list(sweep.tiers) == ["xs", "s", "m", "l"]
    assert sweep.profile_name == "seed" and sweep.load_duration_s == 90 and sweep.warmup_s == 10
    assert set(sweep.config["profiles"]) == {"seed", "smoke"}
    assert sweep.support == [] and sweep.repeats == 1 and sweep.health_timeout_s == 60
    assert sweep.config["keep_k6_json"] is True and sweep.cpu_pinning == "auto"
    # The Compose project is named as Compose names it: here after its directory.
    assert sweep.project == "stack"


def test_profiles_of_your_own_replace_the_built_in_ones(workdir):
    config = {
        "compose_file": "compose.yaml",
        "runtimes": {"web": {"service": "web", "port": 19181, "health_path": "/healthz"}},
        "k6_script": "k6/hello.js",
        "profiles": {"soak": {"stages": [{"duration": "10m", "target": 50}], "warmup": 60}},
    }
    expected = "profile: 'seed' is not a profile; defined profiles: soak"
    with pytest.raises(ConfigError, match=expected):
        load_sweep(config, base_dir=workdir.path)
    assert load_sweep(config | {"profile": "soak"}, base_dir=workdir.path).load_duration_s == 600


@pytest.mark.parametrize(
    ("directory", "name_line", "project"),
    [("My Service.v2", "", "myservicev2"), ("api", "name: Shop_API\n", "shop_api")],
)
def test_compose_project_defaults_to_the_name_compose_gives_your_project(
    tmp_path, directory, name_line, project
):
    root = tmp_path / directory
    shutil.copytree(REPO / "tests" / "stack", root)
    compose = root / "compose.yaml"
    compose.write_text(name_line + compose.read_text())
    config = {
        "compose_file": str(compose),
        "runtimes": {"web": {"service": "web", "port": 19181, "health_path": "/healthz"}},
        "k6_script": str(root / "k6" / "hello.js"),
    }
    assert load_sweep(config).project == project
    assert load_sweep(config | {"compose_project": "mine"}).project == "mine"


def test_the_schemas_default_tiers_and_profiles_are_the_reference_configs():
    reference = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    defaults = schema_defaults()
    assert defaults["tiers"] == reference["tiers"]
    assert defaults["profiles"] == reference["profiles"]
    assert defaults["profile"] == reference["profile"]


def test_a_comparison_sweep_never_plans_capacity_searches(workdir):
    """With a capacity sweep's results present (so the summary image shows a capacity
    panel) but not their inputs, `snakemake` plans the comparison sweep and its charts,
    not the capacity searches: those run only when asked for."""
    recorded = REPO / "tests" / "data" / "capacity"
    results = workdir.path / "results"
    shutil.copytree(recorded / "capacity", results / "capacity")
    shutil.copy(recorded / "capacity.parquet", results / "capacity.parquet")
    result = workdir.snakemake("-n")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = planned_jobs(result.stdout)
    assert jobs["load"] == 4 and jobs["summary_chart"] == 1 and jobs["html_report"] == 1
    assert "capacity_search" not in jobs and "capacity_table" not in jobs
    asked = workdir.snakemake("-n", "capacity")
    assert planned_jobs(asked.stdout)["capacity_search"] == 4, asked.stdout[-3000:]
