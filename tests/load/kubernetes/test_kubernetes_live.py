"""The smoke sweep on a real cluster: whatever cluster KUBECONFIG names, with the reference
stack's images pushed where TIERBENCH_K8S_REGISTRY says (docs/scale-out.md). Selected
only with `pytest -m kubernetes`; the default run deselects it, since no cluster is
reachable where this suite is built and tested."""

import json
import os

import pytest
import yaml

from conftest import REPO, run_snakemake
from tierbench.config.sweep import load_sweep
from tierbench.load.kubernetes.cluster import connect

pytestmark = pytest.mark.kubernetes


def test_the_smoke_sweep_runs_on_the_cluster_and_leaves_nothing_behind(tmp_path):
    if not os.environ.get("KUBECONFIG"):
        pytest.fail("set KUBECONFIG to the cluster to test against (docs/scale-out.md)")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config |= {
        "backend": "kubernetes",
        "profile": "smoke",
        "compose_file": str(REPO / "config" / "compose.yaml"),
        "k6_script": str(REPO / "k6" / "agent-flow.js"),
    }
    config["kubernetes"]["image_registry"] = os.environ.get("TIERBENCH_K8S_REGISTRY", "")
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    result = run_snakemake(tmp_path, "--configfile", str(configfile), "--", "sweep", timeout=1800)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    sweep = load_sweep(config, REPO)
    for cell in sweep.cells:
        meta = json.loads((tmp_path / "results" / "meta" / f"{cell.name}.json").read_text())
        assert meta["backend"] == "kubernetes"
        assert meta["limits"]["verified"], meta["limits"]["problems"]
        assert meta["window"]["clock"].startswith("k6 summary")
        assert (tmp_path / "results" / "k6" / f"{cell.name}.json").stat().st_size > 0
        assert meta["resources"]["samples"] >= 1
    clients = connect(sweep.kubernetes.context)
    left = clients.core.list_namespaced_pod(
        sweep.kubernetes.namespace, label_selector="app.kubernetes.io/managed-by=tierbench"
    )
    assert [pod.metadata.name for pod in left.items] == []
