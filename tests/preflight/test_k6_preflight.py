"""The k6 script is checked before any container starts, and its error is k6's own line."""

from __future__ import annotations

import pytest

from conftest import REPO
from tierbench.config.sweep import load_sweep
from tierbench.load.k6 import k6_error_messages, script_error
from tierbench.preflight.k6_script import check_k6_script


def test_a_script_with_a_syntax_error_gives_k6s_own_message(tmp_path):
    script = tmp_path / "broken.js"
    script.write_text("export default function () { http.get( }\n")
    problem = script_error(script, "http://127.0.0.1:9")
    assert problem is not None
    assert "exited with code 107" in problem
    assert f"{script}: Line 1:40 Unexpected token }}" in problem
    assert "level=error" not in problem and 'msg="' not in problem


def test_a_script_that_compiles_passes_and_gets_base_url_at_init(tmp_path):
    script = tmp_path / "needs-url.js"
    script.write_text(
        'if (!__ENV.BASE_URL) { throw new Error("BASE_URL missing"); }\n'
        "export default function () {}\n"
    )
    assert script_error(script, "http://127.0.0.1:9") is None
    assert script_error(REPO / "tests/stack/k6/hello.js", "http://127.0.0.1:9") is None


def test_k6_log_lines_are_unescaped():
    log = (
        'time="2026-01-01T00:00:00Z" level=error msg="Error: boom\\n\\tat file:///s.js:2:30(17)\\n"'
        ' hint="script exception"\n'
    )
    assert k6_error_messages(log) == "Error: boom\n\tat file:///s.js:2:30(17)"


def test_the_workflow_check_names_the_script_and_exits_without_a_traceback(tmp_path, capsys):
    script = tmp_path / "broken.js"
    script.write_text("export default function () { http.get( }\n")
    sweep = load_sweep(
        {
            "compose_file": str(REPO / "tests/stack/compose.yaml"),
            "runtimes": {"web": {"service": "web", "port": 19181, "health_path": "/healthz"}},
            "k6_script": str(script),
        }
    )
    with pytest.raises(SystemExit) as exited:
        check_k6_script(sweep)
    assert exited.value.code == 1
    message = capsys.readouterr().err
    assert f"k6 cannot run the script {script}, so no cell was started" in message
    assert "Unexpected token }" in message
    assert "Traceback" not in message
