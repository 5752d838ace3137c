"""The documentation's figures are the files the tool wrote, verbatim."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import readme_figures  # noqa: E402


def test_every_figure_block_in_the_documentation_matches_its_file():
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "readme_figures.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    pages = {page.relative_to(REPO).as_posix() for page in readme_figures.documents()}
    assert {"README.md", "CONTRIBUTING.md", "docs/capacity.md"} <= pages
    assert not any(page.startswith("docs/example/") for page in pages)
    counts = {
        page: len(readme_figures.blocks((REPO / page).read_text(encoding="utf-8")))
        for page in pages
    }
    assert sum(counts.values()) >= 10
    assert counts["README.md"] >= 1


def test_a_block_that_differs_from_its_file_is_named_and_then_synced(tmp_path):
    (tmp_path / "t.md").write_text("| a | 1 |\n")
    (tmp_path / "b.txt").write_text("x 2.0 s\n")
    readme = (
        "intro\n<!-- figures: t.md -->\n| a | 9 |\n<!-- /figures -->\n"
        "<!-- figures: b.txt text -->\n```text\nx 2.0 s\n```\n<!-- /figures -->\nend\n"
    )
    assert readme_figures.stale_blocks(readme, tmp_path) == ["t.md"]
    synced = readme_figures.synced(readme, tmp_path)
    assert "| a | 1 |" in synced and "| a | 9 |" not in synced and synced.endswith("end\n")
    assert readme_figures.stale_blocks(synced, tmp_path) == []


def test_a_markdown_files_headings_move_under_the_section_that_holds_it(tmp_path):
    (tmp_path / "t.md").write_text("# Table\n\n## Why\n\ntext\n")
    readme = (
        "## Part\n\n```sh\n# a shell comment, not a heading\n```\n\n### Section\n\n"
        "<!-- figures: t.md -->\n<!-- /figures -->\n\n<!-- figures: t.md -->\n<!-- /figures -->\n"
    )
    synced = readme_figures.synced(readme, tmp_path)
    # Both blocks sit under "### Section": the first block's own headings do not count.
    assert synced.count("#### Table\n\n##### Why\n") == 2
    assert readme_figures.stale_blocks(synced, tmp_path) == []


def test_the_table_selector_keeps_only_the_files_first_table(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.md").write_text(
        "# Capacity\n\nWhat the table says, with a | in the prose.\n\n"
        "```text\n| a table in a fence, not the first table |\n```\n\n"
        "| x | y |\n| --- | --- |\n| 1 | ≥ 2 |\n\n## Why\n\n| another | table |\n| --- | --- |\n"
    )
    page = "## Answer\n\n<!-- figures: data/t.md table -->\n<!-- /figures -->\nend\n"
    assert readme_figures.stale_blocks(page, tmp_path) == ["data/t.md"]
    synced = readme_figures.synced(page, tmp_path)
    assert synced == (
        "## Answer\n\n<!-- figures: data/t.md table -->\n"
        "| x | y |\n| --- | --- |\n| 1 | ≥ 2 |\n<!-- /figures -->\nend\n"
    )
    assert readme_figures.stale_blocks(synced, tmp_path) == []
    # Whatever the columns: a file whose table changed makes the block stale.
    (tmp_path / "data" / "t.md").write_text("| z |\n| --- |\n| 3 |\n")
    assert readme_figures.stale_blocks(synced, tmp_path) == ["data/t.md"]
    assert "| z |\n| --- |\n| 3 |\n<!-- /figures -->" in readme_figures.synced(synced, tmp_path)


def test_a_table_block_names_a_file_without_a_table(tmp_path):
    (tmp_path / "t.md").write_text("# No table\n\ntext\n")
    page = "<!-- figures: t.md table -->\n<!-- /figures -->\n"
    try:
        readme_figures.synced(page, tmp_path, "docs/page.md")
    except SystemExit as error:
        assert "docs/page.md" in str(error) and "t.md" in str(error)
    else:
        raise AssertionError("a table block on a file without a table was accepted")


def test_a_block_in_a_docs_page_is_checked_with_its_page_and_synced(tmp_path, capsys):
    (tmp_path / "docs" / "example").mkdir(parents=True)
    (tmp_path / "docs" / "example" / "t.md").write_text("# Table\n\n| a | 1 |\n")
    block = "<!-- figures: docs/example/t.md -->\n# Table\n\n| a | 9 |\n<!-- /figures -->\n"
    (tmp_path / "README.md").write_text("# Front\n\nno blocks\n")
    (tmp_path / "docs" / "page.md").write_text("# Page\n\n## Part\n\n" + block)
    # docs/example/ holds the sources, not pages: its blocks are never read.
    (tmp_path / "docs" / "example" / "README.md").write_text(block)

    assert readme_figures.main(["--check"], tmp_path) == 1
    error = capsys.readouterr().err
    assert "docs/page.md: the block from docs/example/t.md differs" in error
    assert [line.split(":")[0] for line in error.splitlines()] == ["docs/page.md"]
    assert readme_figures.stale(tmp_path) == [("docs/page.md", "docs/example/t.md")]

    assert readme_figures.main([], tmp_path) == 0
    # Its headings move under the page's own section ("## Part"), not the README's.
    assert "### Table\n\n| a | 1 |\n" in (tmp_path / "docs" / "page.md").read_text()
    assert (tmp_path / "docs" / "example" / "README.md").read_text() == block
    assert readme_figures.main(["--check"], tmp_path) == 0


def test_each_page_relevels_headings_by_its_own_sections(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "t.md").write_text("# Table\n")
    (tmp_path / "README.md").write_text(
        "## A\n\n### B\n\n<!-- figures: t.md -->\n<!-- /figures -->\n"
    )
    (tmp_path / "CONTRIBUTING.md").write_text("# C\n\n<!-- figures: t.md -->\n<!-- /figures -->\n")
    (tmp_path / "docs" / "p.md").write_text("<!-- figures: t.md -->\n<!-- /figures -->\n")
    readme_figures.sync(tmp_path)
    assert "#### Table\n" in (tmp_path / "README.md").read_text()
    assert "## Table\n" in (tmp_path / "CONTRIBUTING.md").read_text()
    assert "\n# Table\n" in (tmp_path / "docs" / "p.md").read_text()
    assert readme_figures.stale(tmp_path) == []


def test_a_marker_shown_in_fenced_code_is_an_example_not_a_block(tmp_path):
    (tmp_path / "b.txt").write_text("x\n")
    page = (
        "How to write one:\n\n```markdown\n<!-- figures: b.txt text -->\n...\n"
        "<!-- /figures -->\n```\n\n<!-- figures: b.txt text -->\n<!-- /figures -->\n"
    )
    assert readme_figures.stale_blocks(page, tmp_path) == ["b.txt"]
    synced = readme_figures.synced(page, tmp_path)
    assert "```markdown\n<!-- figures: b.txt text -->\n...\n<!-- /figures -->\n```" in synced
    assert synced.endswith("<!-- figures: b.txt text -->\n```text\nx\n```\n<!-- /figures -->\n")
    assert readme_figures.stale_blocks(synced, tmp_path) == []
