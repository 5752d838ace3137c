"""The conda environment matches pyproject's pins; the code and workflow are lint-clean."""

import subprocess
import sys
import tomllib

import yaml

from conftest import REPO


def pyproject_pins() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {dep.replace(" ", "") for dep in project["dependencies"]}


def test_conda_environment_pins_match_pyproject():
    environment = yaml.safe_load((REPO / "envs" / "tierbench.yaml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    conda_pins = {line for line in pip_section if "==" in line}
    assert conda_pins == pyproject_pins()
    assert all("==" in pin for pin in pyproject_pins()), "every dependency is pinned"


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True)


def test_ruff_is_clean():
    result = run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout


def test_snakefmt_and_snakemake_lint_are_clean():
    snakefmt = run(sys.executable, "-m", "snakefmt", "--check", "Snakefile", "workflow/rules")
    assert snakefmt.returncode == 0, snakefmt.stderr
    lint = run(sys.executable, "-m", "snakemake", "--lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
