"""`tierbench k8s manifests [--configfile FILE] [--out DIR]`: every Kubernetes object a
sweep would apply, as YAML files to read or to apply by hand; no cluster needed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from tierbench.commands.declare import Command, configfile, error, out_dir
from tierbench.compose_project import read_compose_project
from tierbench.config.sweep import ConfigError, load_sweep
from tierbench.files import write_text
from tierbench.load.kubernetes.manifests import (
    ManifestError,
    loopback_addresses,
    sweep_manifests,
    to_yaml,
)


def run_manifests(args: argparse.Namespace) -> int:
    try:
        config = yaml.safe_load(args.configfile.read_text()) or {}
        sweep = load_sweep(config)
        services = read_compose_project(sweep.compose_file, sweep.project).services
        files = sweep_manifests(sweep, services, sweep.k6_script.read_text())
    except (OSError, ConfigError, ManifestError) as problem:
        return error("k8s manifests", problem)
    for name, objects in files.items():
        write_text(to_yaml(objects), args.out / name)
    count = sum(len(objects) for objects in files.values())
    print(
        f"wrote {count} objects in {len(files)} files to {args.out}/ (namespace "
        f"{sweep.kubernetes.namespace}, {len(sweep.kubernetes.node_pairs)} node pair(s))"
    )
    if sweep.backend != "kubernetes":
        print(f"note: the config's backend is {sweep.backend}; these are for backend: kubernetes")
    for problem in loopback_addresses([o for objects in files.values() for o in objects]):
        print(
            f"warning: {problem}: in a pod this is the pod itself; override it under "
            "kubernetes.environment (docs/scale-out.md)",
            file=sys.stderr,
        )
    return 0


MANIFESTS = Command(
    name="manifests",
    help="write every manifest a sweep would apply, one YAML file per cell",
    description=(
        "Write rbac.yaml (the namespace, ServiceAccount, Role and bindings tierbench "
        "needs), support.yaml (the support services) and one file per cell (the k6 "
        "script's ConfigMap, the runtime's Service and Pod, k6's Job or TestRun). No "
        "cluster is contacted; the Compose file is read with the Compose binary."
    ),
    arguments=(
        configfile(
            "the sweep's config (default: config/config.yaml; paths relative to the "
            "current directory, as for snakemake)",
            "--config",
        ),
        out_dir("where the YAML files go (default: results/k8s)", Path("results/k8s")),
    ),
    run=run_manifests,
)
COMMAND = Command(
    name="k8s",
    help="Kubernetes helpers: write the manifests a sweep applies",
    description="Kubernetes helpers for `backend: kubernetes` (docs/scale-out.md).",
    actions=(MANIFESTS,),
)
