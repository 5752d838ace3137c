"""Every figure in README.md comes from a file the tool wrote and that is committed.

README.md holds blocks

    <!-- figures: docs/example/capacity.md -->
    ...
    <!-- /figures -->

whose content is the named file's, verbatim (`text` after the path puts it in a text
fence), except that a Markdown file's headings move under the README section that holds
the block (its `# Capacity` is a `####` under a `###`). `python scripts/readme_figures.py`
rewrites every block from its file; `--check` only says which blocks differ from their
files and exits 1 if any does.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(
    r"(<!-- figures: (?P<path>\S+)(?P<text> text)? -->\n)(?P<body>.*?)(<!-- /figures -->)",
    re.S,
)
HEADING = re.compile(r"^(#{1,6}) ", re.M)
FENCE = re.compile(r"^```", re.M)


def section_level(readme: str, position: int) -> int:
    """The level of the README's own last heading before `position`: outside fenced code
    and outside the figure blocks."""
    level, fenced, in_block = 0, False, False
    for line in readme[:position].splitlines():
        if line.startswith("<!-- figures:"):
            in_block = True
        elif line.startswith("<!-- /figures -->"):
            in_block = False
        elif FENCE.match(line):
            fenced = not fenced
        elif not fenced and not in_block and (heading := HEADING.match(line)):
            level = len(heading.group(1))
    return level


def block_body(root: Path, path: str, text: bool, level: int = 0) -> str:
    source = root / path
    if not source.is_file():
        raise SystemExit(
            f"README.md names {path} as the source of its figures, and it does not exist: "
            "generate it (docs/example/README.md has the command) or remove the block."
        )
    content = source.read_text(encoding="utf-8").rstrip("\n") + "\n"
    if text:
        return f"```text\n{content}```\n"
    return HEADING.sub(lambda h: "#" * min(6, len(h.group(1)) + level) + " ", content)


def expected(readme: str, match: re.Match, root: Path) -> str:
    """What a block should hold: its file, as the README shows it there."""
    level = section_level(readme, match.start())
    return block_body(root, match["path"], bool(match["text"]), level)


def synced(readme: str, root: Path = ROOT) -> str:
    def fill(match: re.Match) -> str:
        return f"{match.group(1)}{expected(readme, match, root)}{match.group(5)}"

    return BLOCK.sub(fill, readme)


def stale_blocks(readme: str, root: Path = ROOT) -> list[str]:
    return [
        match["path"]
        for match in BLOCK.finditer(readme)
        if match["body"] != expected(readme, match, root)
    ]


def main(argv: list[str]) -> int:
    readme = README.read_text(encoding="utf-8")
    if "--check" in argv:
        stale = stale_blocks(readme)
        for path in stale:
            print(
                f"README.md: the block from {path} differs from the file; "
                "run `python scripts/readme_figures.py`",
                file=sys.stderr,
            )
        return 1 if stale else 0
    partial = README.with_name(README.name + ".tmp")
    partial.write_text(synced(readme), encoding="utf-8")
    partial.replace(README)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
