"""`tierbench doctor`: the pre-flight on its own, before committing to a long sweep."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from tierbench.capacity.record import measured_load_sides
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


def _span(values: list[float], digits: int, unit: str = "") -> str:
    low, high = min(values), max(values)
    if f"{low:,.{digits}f}" == f"{high:,.{digits}f}":
        return f"{low:,.{digits}f}{unit}"
    return f"{low:,.{digits}f}–{high:,.{digits}f}{unit}"


def load_side_check(results: Path) -> Check:
    """The load side's ceiling as the last capacity searches in `results` measured it on
    the sweep's own k6 script, or that none has yet."""
    measured = [side for _, side in measured_load_sides(results)]
    if not measured:
        return Check(
            "OK",
            "load side",
            f"not measured yet: no capacity search in {results}/capacity/ (each search "
            "measures what k6 and the support services spend per request on your script, "
            "and states the ceiling in capacity.md)",
        )
    own = [side for side in measured if not side.shared] or measured
    cores = sorted({side.cores for side in own})
    message = (
        f"its cores would be full at {_span([s.ceiling_rps or 0.0 for s in own], 0, ' req/s')} "
        f"(k6 {_span([s.k6.ms_per_request for s in own], 2, ' ms')} and the support services "
        f"{_span([s.support.ms_per_request for s in own], 2, ' ms')} of CPU per request, on "
        f"{'/'.join(map(str, cores))} core(s)), by {len(own)} capacity "
        f"search{'es' if len(own) != 1 else ''} in "
        f"{results}/capacity/"
    )
    shared = len(measured) - len(own)
    if shared:
        message += f"; {shared} contended tier(s) share those cores with the runtime"
    return Check("OK", "load side", message + ": a capacity near it is a lower bound")


def run(args: argparse.Namespace) -> int:
    shape, loaded = configuration(args.configfile)
    preflight = run_preflight(
        shape, args.results, preflight_gatherer(), extra=[loaded, load_side_check(args.results)]
    )
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
