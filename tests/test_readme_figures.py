"""The README's figures are the files the tool wrote, verbatim."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import readme_figures  # noqa: E402


def test_every_figure_block_in_the_readme_matches_its_file():
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "readme_figures.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert len(list(readme_figures.BLOCK.finditer((REPO / "README.md").read_text()))) >= 10


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
