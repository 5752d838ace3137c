"""The documentation's relative links lead somewhere, and the `make` targets it names exist.

The pages are README.md, CONTRIBUTING.md and docs/*.md (docs/example/ holds results, not
pages). A relative link, `[text](path)` or `![alt](path)`, must name a file or directory of
the repository; `path#anchor` into a Markdown file must also name one of its headings, by
GitHub's slugs. Every `make TARGET` in code, inline or fenced, must be a Makefile target.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from conftest import REPO

PAGES = [
    REPO / "README.md",
    REPO / "CONTRIBUTING.md",
    *sorted((REPO / "docs").glob("*.md")),
]
FENCE = re.compile(r"^\s{0,3}(```|~~~)")
INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
# [text](target) and ![alt](target), the text allowing one level of nested brackets, the
# target optionally in <...> and followed by a "title".
LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(?:<([^>]*)>|([^)\s]+))(?:\s+\"[^\"]*\")?\s*\)"
)
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
HEADING = re.compile(r"^\s{0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)
MAKE = re.compile(r"(?<![\w./$-])make[ \t]+([^\n]*)")
TARGET = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
MAKEFILE_RULE = re.compile(r"^([^\s:=#][^:=#]*?)[ \t]*::?(?!=)")


def name(page: Path) -> str:
    return page.relative_to(REPO).as_posix()


def split(text: str) -> tuple[str, list[str]]:
    """A page's prose, with its inline code blanked out, and its code: every fenced line
    and every inline code span."""
    prose, code, paragraph = [], [], []
    fenced = False

    def close_paragraph() -> None:
        chunk = "\n".join(paragraph)
        code.extend(span[2].replace("\n", " ") for span in INLINE_CODE.finditer(chunk))
        prose.append(INLINE_CODE.sub("code", chunk))
        paragraph.clear()

    for line in text.splitlines():
        if FENCE.match(line):
            close_paragraph()
            fenced = not fenced
        elif fenced:
            code.append(line)
        elif not line.strip():
            close_paragraph()
        else:
            paragraph.append(line)
    close_paragraph()
    return "\n\n".join(prose), code


def links(text: str) -> list[str]:
    prose, _ = split(text)
    found = [match[1] if match[1] is not None else match[2] for match in LINK.finditer(prose)]
    return found + REFERENCE.findall(prose)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text (a link's text, no markup) lower-cased,
    punctuation dropped except hyphens and underscores, each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of a page's headings, outside fenced code; a repeated heading gets
    `-1`, `-2`, ... as GitHub gives it."""
    seen: dict[str, int] = {}
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (heading := HEADING.match(line)):
            base = slug(heading[2])
            count = seen.get(base, 0)
            seen[base] = count + 1
            if count:
                seen.setdefault(f"{base}-{count}", 1)
    return set(seen)


def make_targets_named(text: str) -> set[str]:
    """The targets of every `make ...` in the page's code: the words after `make` up to
    the first that is not a target (a VAR=value, a comment, a redirection)."""
    _, code = split(text)
    targets = set()
    for snippet in code:
        for command in MAKE.finditer(snippet):
            for word in command[1].split():
                if not TARGET.fullmatch(word):
                    break
                targets.add(word)
    return targets


def makefile_targets() -> set[str]:
    targets = set()
    for line in (REPO / "Makefile").read_text().splitlines():
        if line.startswith("\t") or not (rule := MAKEFILE_RULE.match(line)):
            continue
        targets.update(word for word in rule[1].split() if not word.startswith((".", "$")))
    return targets


def broken_links(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    broken = []
    for link in links(text):
        if EXTERNAL.match(link):
            continue  # http(s), mailto and the like: not a file of this repository
        path, _, anchor = unquote(link).partition("#")
        if not path:
            if anchor not in anchors(text):
                broken.append(f"{link}: no heading of {name(page)} has this anchor")
            continue
        target = (page.parent / path).resolve()
        if not target.is_relative_to(REPO):
            broken.append(f"{link}: outside the repository")
        elif not target.exists():
            broken.append(f"{link}: {target.relative_to(REPO)} does not exist")
        elif anchor and target.suffix == ".md":
            if anchor not in anchors(target.read_text(encoding="utf-8")):
                broken.append(f"{link}: no heading of {name(target)} has the anchor #{anchor}")
    return broken


def test_the_pages_are_the_front_door_the_contributors_guide_and_docs():
    names = [name(page) for page in PAGES]
    assert names[:2] == ["README.md", "CONTRIBUTING.md"]
    assert {"docs/capacity.md", "docs/configuration.md", "docs/scale-out.md"} <= set(names)
    assert all(page.is_file() for page in PAGES)


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_every_docs_page_is_linked_from_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    linked = {(REPO / unquote(link).partition("#")[0]).resolve() for link in links(readme)}
    unlinked = [name(page) for page in PAGES[1:] if page.resolve() not in linked]
    assert unlinked == []


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_every_make_target_named_in_code_exists(page):
    named = make_targets_named(page.read_text(encoding="utf-8"))
    assert sorted(named - makefile_targets()) == []


def test_the_readme_names_its_two_commands_and_the_makefile_has_them():
    named = make_targets_named((REPO / "README.md").read_text(encoding="utf-8"))
    assert {"bench", "test", "capacity", "doctor"} <= named <= makefile_targets()


def test_the_checks_themselves():
    """The parsing the tests above rely on, on a page whose answers are known."""
    page = (
        "# Top\n\n## From k6 JSON to numbers you can trust\n\n## `results/meta/{cell}.json`\n\n"
        "## Top\n\nSee [a `code` link](#from-k6-json-to-numbers-you-can-trust), "
        "![img](pic.png), [x](https://example.com/a), [mail](mailto:a@b.c) and "
        "[dup](#top-1).\n\nRun `make bench` or `make setup\nchromium`, "
        "`make test PYTEST_ARGS=-q`.\n\n```sh\nmake capacity  # the search\n"
        "[not a link](nowhere.md)\n$ make bench: 13 min\n```\n"
    )
    assert links(page) == [
        "#from-k6-json-to-numbers-you-can-trust",
        "pic.png",
        "https://example.com/a",
        "mailto:a@b.c",
        "#top-1",
    ]
    assert anchors(page) == {
        "top",
        "top-1",
        "from-k6-json-to-numbers-you-can-trust",
        "resultsmetacelljson",
    }
    assert make_targets_named(page) == {"bench", "setup", "chromium", "test", "capacity"}
    assert slug("k6's raw results on disk") == "k6s-raw-results-on-disk"
    assert slug("What `make` sets up") == "what-make-sets-up"
    assert {"bench", "test", "capacity", "doctor", "lint"} <= makefile_targets()
    assert not {"PHONY", ".PHONY", "$(STAMP)"} & makefile_targets()
