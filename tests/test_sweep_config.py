"""Bad configuration fails before any job, with one error naming the key."""

import pytest

from conftest import REPO, planned_jobs, run_snakemake


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
def test_bad_config_names_the_key_before_any_job(workdir, change, expected):
    config = workdir.config
    change(config)
    workdir.write_config(config)
    result = workdir.snakemake("-n")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "invalid configuration" in output
    assert expected in output
    assert not (workdir.path / "results").exists()


def test_no_docker_engine_stops_before_any_job_saying_what_to_do(workdir, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{workdir.path}/no-engine.sock")
    result = workdir.snakemake("sweep")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "no Docker engine answers" in output
    assert "make bench" in output
    assert not (workdir.path / "results").exists()
