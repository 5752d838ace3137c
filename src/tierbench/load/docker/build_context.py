"""The files that shape a service's image, so the workflow rebuilds it when one changes.

That is the Dockerfile, whatever its name and whether or not `.dockerignore` lists it (the
builder reads it either way), the `.dockerignore` itself, and every file of the build
context the ignore file lets through, matched as Docker matches it: patterns in order, the
last match wins, `!` lets a file back in, a pattern that matches a folder covers what is
inside, `*` and `?` stay within one folder and `**` spans any number.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from tierbench.compose_project import compose_config

# Folders that never count: version control and caches, and node_modules, which is derived
# from the lock file beside it (counted instead) and would cost a walk of thousands of files.
SKIPPED_FOLDERS = frozenset({".git", "__pycache__", ".pytest_cache", "node_modules"})


@dataclass(frozen=True)
class IgnoreRule:
    pattern: str
    regex: re.Pattern[str]
    exception: bool  # a `!pattern` line: lets matching files back in

    def matches(self, relative: str) -> bool:
        """The path, or any folder above it, matches the pattern."""
        if self.regex.match(relative):
            return True
        parts = relative.split("/")[:-1]
        return any(self.regex.match("/".join(parts[: i + 1])) for i in range(len(parts)))


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regular expression over '/'-separated relative paths."""
    out, i = "^", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*" and pattern[i + 1 : i + 2] == "*":
            i += 1
            if pattern[i + 1 : i + 2] == "/":
                i += 1
            out += ".*" if i + 1 >= len(pattern) else "(.*/)?"
        elif char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        elif char == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            out += "[" + pattern[i + 1 : end] + "]"
            i = end
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out + "$")


def read_dockerignore(text: str) -> list[IgnoreRule]:
    """The rules of a .dockerignore file, cleaned as Docker cleans them."""
    rules = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        pattern = line.strip()
        exception = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip()
        if not pattern:
            continue
        pattern = posixpath.normpath(pattern)
        if len(pattern) > 1:
            pattern = pattern.removeprefix("/")
        rules.append(IgnoreRule(pattern, pattern_regex(pattern), exception))
    return rules


def is_ignored(relative: str, rules: list[IgnoreRule]) -> bool:
    """Whether Docker leaves `relative` (a '/'-separated path in the context) out."""
    ignored = False
    for rule in rules:
        # A pattern can only change the verdict: exclude what is in, or let in what is out.
        if rule.exception != ignored:
            continue
        if rule.matches(relative):
            ignored = not rule.exception
    return ignored


def context_files(context: Path, rules: list[IgnoreRule]) -> list[Path]:
    """The files of a build context that reach the builder."""
    prune = not any(rule.exception for rule in rules)
    found = []
    for folder, folders, files in os.walk(context):
        base = Path(folder).relative_to(context)
        kept = []
        for name in sorted(folders):
            relative = (base / name).as_posix()
            # An ignored folder can hold nothing that counts unless a `!` line lets it in.
            if name in SKIPPED_FOLDERS or (prune and is_ignored(relative, rules)):
                continue
            kept.append(name)
        folders[:] = kept
        for name in files:
            if not is_ignored((base / name).as_posix(), rules):
                found.append(Path(folder) / name)
    return found


def build_context_files(compose_file: Path, project: str, service: str) -> list[str]:
    """Every file that shapes a service's image; none for a service with no build section.

    The paths are written as the Compose file's own path is: relative to the working
    directory when it is relative, so a project that moves, with its results, keeps the
    same inputs and reruns nothing; absolute when it is absolute. Either way they are
    resolved, so a directory reached through a symlink names them alike.
    """
    build = compose_config(compose_file, project)["services"][service].get("build")
    if not build:
        return []
    context = Path(build["context"])
    ignore_file = context / ".dockerignore"
    rules = read_dockerignore(ignore_file.read_text()) if ignore_file.is_file() else []
    files = set(context_files(context, rules))
    if build.get("dockerfile"):
        files.add(context / build["dockerfile"])
    if ignore_file.is_file():
        files.add(ignore_file)
    # One way to name a path, however the directory was reached: Compose writes the
    # context under the working directory as the shell named it (a symlink, say), Python
    # under its real path; resolved, a sweep reached through a link plans nothing new.
    files = {path.resolve() for path in files if path.is_file()}
    if compose_file.is_absolute():
        return sorted(str(path) for path in files)
    here = Path.cwd().resolve()
    return sorted(os.path.relpath(path, here) for path in files)
