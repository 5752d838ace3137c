"""Without any cluster, the workflow plans a kubernetes sweep: no image builds (the
cluster pulls from a registry), one load per cell, and as many loads at once as node
pairs."""

import os
import subprocess
import sys

import yaml

from conftest import REPO, planned_jobs, run_snakemake


def test_a_kubernetes_sweep_plans_without_a_cluster():
    result = run_snakemake(REPO, "-n", "--forceall", "--config", "backend=kubernetes")
    assert result.returncode == 0, result.stderr
    jobs = planned_jobs(result.stdout)
    assert jobs["load"] == 8 and "image" not in jobs


def test_a_docker_sweep_still_builds_its_images():
    result = run_snakemake(REPO, "-n", "--forceall")
    assert result.returncode == 0, result.stderr
    assert planned_jobs(result.stdout)["image"] == 3


def test_load_slot_equals_the_node_pairs_and_no_cluster_stops_before_any_job(tmp_path):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config |= {
        "backend": "kubernetes",
        "compose_file": str(REPO / "config" / "compose.yaml"),
        "k6_script": str(REPO / "k6" / "agent-flow.js"),
    }
    config["kubernetes"]["node_pairs"] = [
        {"runtime": {"pool": f"runtime-{i}"}, "load": {"pool": f"load-{i}"}} for i in range(3)
    ]
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(REPO / "Snakefile"),
            "-d",
            str(tmp_path),
            "--cores",
            "8",
            "--configfile",
            str(configfile),
            "--",
            "sweep",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"KUBECONFIG": str(tmp_path / "no-such-kubeconfig")},
    )
    output = result.stdout + result.stderr
    assert 'load_slot=Resource("load_slot", 3)' in output
    assert result.returncode != 0
    assert "no Kubernetes cluster answers" in output and "deploy/kubernetes/rbac.yaml" in output
    assert not (tmp_path / "results").exists()
