"""`tierbench doctor`: the pre-flight on its own, before committing to a long sweep."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from tierbench.commands.declare import Command, arg, configfile
from tierbench.config.sweep import ConfigError, load_sweep
from tierbench.load.machinery import preflight_gatherer
from tierbench.preflight.checks import Check
from tierbench.preflight.facts import SweepShape
from tierbench.preflight.run import render, run_preflight


def configuration(configfile: Path) -> tuple[SweepShape | None, Check]:
    """The sweep the config describes, and the line that says whether it loaded."""
    try:
        sweep = load_sweep(yaml.safe_load(configfile.read_text()) or {})
    except OSError as error:
        return None, Check(
            "FAIL",
            "configuration",
            f"{configfile} cannot be read ({error.strerror or error})",
            "Run from the checkout's top directory, or pass your config with --configfile.",
        )
    except (ConfigError, yaml.YAMLError) as error:
        return None, Check(
            "FAIL",
            "configuration",
            f"{configfile}: {error}",
            "Fix it; the checks of tiers, memory and disk need a valid config.",
        )
    shape = SweepShape.of(sweep)
    repeats = f"{sweep.repeats} repeat" + ("s" if sweep.repeats != 1 else "")
    return shape, Check(
        "OK",
        "configuration",
        f"{configfile}: {len(sweep.tiers)} tiers x {len(sweep.runtimes)} runtimes x {repeats} "
        f"= {shape.cells} cells, profile {sweep.profile_name} ({shape.load_duration_s:g} s of "
        "load per cell)",
    )


def run(args: argparse.Namespace) -> int:
    shape, loaded = configuration(args.configfile)
    preflight = run_preflight(shape, args.results, preflight_gatherer(), extra=[loaded])
    print(render(preflight))
    return 1 if preflight.failed else 0


COMMAND = Command(
    name="doctor",
    help="say what this host can and cannot measure well, before a sweep",
    description=(
        "Check the Docker engine, Compose, host networking, cgroups, cores and the pinning "
        "of each tier, memory, disk for the raw k6 data, k6 and Chromium, as the sweep's "
        "start does. Each line says OK, WARN or FAIL, with what to do; exits 1 on a FAIL. "
        "Starts no container. Paths in the config are relative to the current directory, "
        "as for snakemake."
    ),
    arguments=(
        configfile("the sweep's configuration (default: config/config.yaml)"),
        arg(
            "--results",
            type=Path,
            default=Path("results"),
            metavar="DIR",
            help="where the sweep writes, for the free disk (default: results)",
        ),
    ),
    run=run,
)
