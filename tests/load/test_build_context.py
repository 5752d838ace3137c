"""The files that shape an image: .dockerignore read as Docker reads it, the Dockerfile
counted whatever the ignore file says, paths written as the Compose file's own path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tierbench.load.docker.build_context import (
    build_context_files,
    context_files,
    is_ignored,
    read_dockerignore,
)


@pytest.mark.parametrize(
    ("ignore", "path", "ignored"),
    [
        ("*.pyc", "a.pyc", True),
        ("*.pyc", "pkg/a.pyc", False),  # `*` stays in the top folder, as in Docker
        ("**/*.pyc", "pkg/deep/a.pyc", True),
        ("**/__pycache__", "pkg/__pycache__/a.pyc", True),  # a folder covers its files
        ("vendor", "vendor/bun", True),
        ("vendor", "pkg/vendor/bun", False),  # anchored at the context's root
        ("/dist/", "dist/app.js", True),
        ("docs/*.md", "docs/a.md", True),
        ("docs/*.md", "docs/sub/a.md", False),
        ("file?.txt", "file1.txt", True),
        ("file?.txt", "file10.txt", False),
        ("file[0-9].txt", "file7.txt", True),
        ("*.md\n!README.md", "README.md", False),
        ("*.md\n!README.md", "NOTES.md", True),
        ("*.md\n!README.md\nREADME.md", "README.md", True),  # the last match wins
        ("# a comment\n\n  Dockerfile  ", "Dockerfile", True),
        ("./build", "build/x", True),
    ],
)
def test_dockerignore_matches_as_docker_does(ignore, path, ignored):
    assert is_ignored(path, read_dockerignore(ignore)) is ignored


def make_context(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_an_ignored_folder_is_not_walked_unless_an_exception_reaches_into_it(tmp_path):
    context = make_context(
        tmp_path,
        {"app.py": "", "cache/big.bin": "", "cache/keep.txt": "", "node_modules/x/index.js": ""},
    )
    found = {p.relative_to(context).as_posix() for p in context_files(context, [])}
    assert found == {"app.py", "cache/big.bin", "cache/keep.txt"}  # node_modules: lock file
    rules = read_dockerignore("cache")
    assert {p.name for p in context_files(context, rules)} == {"app.py"}
    rules = read_dockerignore("cache\n!cache/keep.txt")
    assert {p.name for p in context_files(context, rules)} == {"app.py", "keep.txt"}


COMPOSE = """\
services:
  api:
    image: example/api:latest
    build:
      context: app
      dockerfile: {dockerfile}
  db:
    image: example/db:latest
"""


def own_project(root: Path, dockerfile: str = "Dockerfile") -> Path:
    make_context(
        root / "app",
        {
            dockerfile: "FROM scratch\nCOPY main.py /\n",
            ".dockerignore": f"{dockerfile}\n.dockerignore\n*.log\n",
            "main.py": "",
            "debug.log": "",
        },
    )
    (root / "compose.yaml").write_text(COMPOSE.format(dockerfile=dockerfile))
    return root / "compose.yaml"


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "build/Containerfile.dev"])
def test_the_dockerfile_and_dockerignore_count_even_when_ignored(tmp_path, dockerfile):
    compose_file = own_project(tmp_path, dockerfile)
    files = build_context_files(compose_file, "own", "api")
    assert files == sorted(
        str(tmp_path / "app" / name) for name in (dockerfile, ".dockerignore", "main.py")
    )
    assert build_context_files(compose_file, "own", "db") == []  # pulled, never built


def test_paths_are_relative_to_the_working_directory_when_the_compose_file_is(
    tmp_path, monkeypatch
):
    compose_file = own_project(tmp_path / "project")
    monkeypatch.chdir(tmp_path / "project")
    files = build_context_files(Path("compose.yaml"), "own", "api")
    assert files == ["app/.dockerignore", "app/Dockerfile", "app/main.py"]
    # From elsewhere, relative paths climb out, as the Compose file's path does.
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    relative = Path(os.path.relpath(compose_file))
    assert build_context_files(relative, "own", "api")[0] == "../project/app/.dockerignore"
