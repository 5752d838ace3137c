"""Every figure in the documentation comes from a file the tool wrote and that is committed.

README.md, CONTRIBUTING.md and the pages directly in docs/ (not docs/example/) hold blocks

    <!-- figures: docs/example/capacity.md -->
    ...
    <!-- /figures -->

whose content is the named file's (its path relative to the repository), verbatim, except
that a Markdown file's headings move under the section of the page that holds the block
(its `# Capacity` is a `###` under a `##`). After the path, `text` puts the file in a text
fence, and `table` keeps only the file's first Markdown table (its lines starting with
`|`). A marker inside fenced code is an example, not a block. `python
scripts/readme_figures.py` rewrites every block of every page from its file; `--check` only
says which blocks differ from their files, page by page, and exits 1 if any does.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(
    r"(?P<open>^<!-- figures: (?P<path>\S+)(?: (?P<mode>text|table))? -->\n)"
    r"(?P<body>.*?)"
    r"(?P<close><!-- /figures -->)",
    re.S | re.M,
)
HEADING = re.compile(r"^(#{1,6}) ", re.M)
FENCE = re.compile(r"^```", re.M)


def documents(root: Path = ROOT) -> list[Path]:
    """The pages that may hold blocks: README.md, CONTRIBUTING.md and docs/*.md."""
    pages = [root / "README.md", root / "CONTRIBUTING.md", *sorted((root / "docs").glob("*.md"))]
    return [page for page in pages if page.is_file()]


def section_level(page: str, position: int) -> int:
    """The level of the page's own last heading before `position`: outside fenced code
    and outside the figure blocks."""
    level, fenced, in_block = 0, False, False
    for line in page[:position].splitlines():
        if line.startswith("<!-- figures:"):
            in_block = True
        elif line.startswith("<!-- /figures -->"):
            in_block = False
        elif FENCE.match(line):
            fenced = not fenced
        elif not fenced and not in_block and (heading := HEADING.match(line)):
            level = len(heading.group(1))
    return level


def fenced_at(page: str, position: int) -> bool:
    """Whether `position` is inside fenced code of the page (a block shown as an example,
    not one to fill)."""
    fenced, in_block = False, False
    for line in page[:position].splitlines():
        if line.startswith("<!-- figures:") and not fenced:
            in_block = True
        elif line.startswith("<!-- /figures -->") and not fenced:
            in_block = False
        elif FENCE.match(line) and not in_block:
            fenced = not fenced
    return fenced


def blocks(page: str) -> list[re.Match]:
    """The page's figure blocks, leaving out those shown inside fenced code."""
    return [match for match in BLOCK.finditer(page) if not fenced_at(page, match.start())]


def first_table(content: str) -> str | None:
    """The first Markdown table of `content` outside fenced code: its consecutive lines
    starting with `|`, verbatim."""
    rows: list[str] = []
    fenced = False
    for line in content.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and line.startswith("|"):
            rows.append(line)
            continue
        if rows:
            break
    return "\n".join(rows) + "\n" if rows else None


def block_body(
    root: Path, path: str, mode: str | None, level: int = 0, page: str = "README.md"
) -> str:
    source = root / path
    if not source.is_file():
        raise SystemExit(
            f"{page} names {path} as the source of its figures, and it does not exist: "
            "generate it (docs/example/README.md has the command) or remove the block."
        )
    content = source.read_text(encoding="utf-8").rstrip("\n") + "\n"
    if mode == "text":
        return f"```text\n{content}```\n"
    if mode == "table":
        table = first_table(content)
        if table is None:
            raise SystemExit(
                f"{page} asks for the first table of {path}, and it has none: "
                "remove `table` from the block or point it at a file with a table."
            )
        return table
    return HEADING.sub(lambda h: "#" * min(6, len(h.group(1)) + level) + " ", content)


def expected(text: str, match: re.Match, root: Path, page: str = "README.md") -> str:
    """What a block should hold: its file, as the page shows it there."""
    level = section_level(text, match.start())
    return block_body(root, match["path"], match["mode"], level, page)


def synced(text: str, root: Path = ROOT, page: str = "README.md") -> str:
    def fill(match: re.Match) -> str:
        if fenced_at(text, match.start()):
            return match[0]
        return f"{match['open']}{expected(text, match, root, page)}{match['close']}"

    return BLOCK.sub(fill, text)


def stale_blocks(text: str, root: Path = ROOT, page: str = "README.md") -> list[str]:
    return [
        match["path"]
        for match in blocks(text)
        if match["body"] != expected(text, match, root, page)
    ]


def name(page: Path, root: Path) -> str:
    return page.relative_to(root).as_posix()


def stale(root: Path = ROOT) -> list[tuple[str, str]]:
    """Every block of every page that differs from its file, as (page, source path)."""
    return [
        (name(page, root), path)
        for page in documents(root)
        for path in stale_blocks(page.read_text(encoding="utf-8"), root, name(page, root))
    ]


def sync(root: Path = ROOT) -> list[str]:
    """Rewrite every page whose blocks differ from their files; the pages rewritten."""
    rewritten = []
    for page in documents(root):
        text = page.read_text(encoding="utf-8")
        new = synced(text, root, name(page, root))
        if new != text:
            partial = page.with_name(page.name + ".tmp")
            partial.write_text(new, encoding="utf-8")
            partial.replace(page)
            rewritten.append(name(page, root))
    return rewritten


def main(argv: list[str], root: Path = ROOT) -> int:
    if "--check" in argv:
        blocks = stale(root)
        for page, path in blocks:
            print(
                f"{page}: the block from {path} differs from the file; "
                "run `python scripts/readme_figures.py`",
                file=sys.stderr,
            )
        return 1 if blocks else 0
    for page in sync(root):
        print(f"readme_figures: rewrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
