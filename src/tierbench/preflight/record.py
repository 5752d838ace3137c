"""results/preflight.json: the pre-flight's lines, written at the start of a sweep and read
back by each cell, whose meta repeats the warnings. Imports no engine client, so the load
stage can read it from above the backend seam."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tierbench.files import write_json

PREFLIGHT_FILE = "preflight.json"


def write_preflight(lines: list[dict[str, str]], seconds: float, destination: Path | str) -> None:
    """Every line (status, topic, message, what_to_do), when and how long it took."""
    write_json(
        {
            "checked_at": datetime.now(UTC).isoformat(),
            "duration_s": round(seconds, 3),
            "checks": lines,
        },
        destination,
    )


def warning_sentence(line: dict[str, Any]) -> str:
    """`topic: message. What to do.`"""
    what_to_do = line.get("what_to_do") or ""
    return f"{line['topic']}: {line['message']}." + (f" {what_to_do}" if what_to_do else "")


def recorded_warnings(results_dir: Path | str) -> list[str] | None:
    """The WARN lines of the sweep's pre-flight, as sentences; None where no pre-flight
    ran (no results/preflight.json), so a meta tells "none found" from "not checked"."""
    path = Path(results_dir) / PREFLIGHT_FILE
    if not path.exists():
        return None
    try:
        checks = json.loads(path.read_text())["checks"]
        return [warning_sentence(line) for line in checks if line["status"] == "WARN"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        # A cell that ran is worth keeping: say what went wrong instead of failing it.
        return [f"pre-flight: {path} cannot be read ({type(error).__name__}: {error})"]
