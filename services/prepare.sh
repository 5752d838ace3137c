#!/usr/bin/env bash
# Fetch the reference services' dependencies on the host, so their images build without
# network access: the bun binary (npm package @oven/bun-linux-x64), the TypeScript agent's
# node_modules (npm ci) and the Python agent's wheels (pip download). Idempotent: what is
# already present and up to date is skipped. Everything lands in git-ignored directories.
set -euo pipefail

cd "$(dirname "$0")"
BUN_VERSION=1.4.4
PYTHON_VERSION=3.11

say() { echo "prepare: $*"; }

# --- bun ----------------------------------------------------------------------------------
fetch_bun() {
    local targets=(mock-llm/vendor/bun agent-ts/vendor/bun) missing=()
    for target in "${targets[@]}"; do
        if [ -x "$target" ] && [ "$("$target" --version 2>/dev/null)" = "$BUN_VERSION" ]; then
            say "$target: bun $BUN_VERSION present"
        else
            missing+=("$target")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return
    command -v npm >/dev/null || { echo "prepare: npm is needed to fetch bun; install Node.js/npm" >&2; exit 1; }
    local tmp
    tmp=$(mktemp -d)
    say "fetching bun $BUN_VERSION (npm pack @oven/bun-linux-x64@$BUN_VERSION)"
    (cd "$tmp" && npm pack --silent "@oven/bun-linux-x64@$BUN_VERSION" >/dev/null && tar xzf ./*.tgz package/bin/bun)
    for target in "${missing[@]}"; do
        mkdir -p "$(dirname "$target")"
        install -m 0755 "$tmp/package/bin/bun" "$target"
        say "$target: installed bun $("$target" --version)"
    done
    rm -rf "$tmp"
}

# --- agent-ts node_modules ----------------------------------------------------------------
fetch_node_modules() {
    local stamp=agent-ts/node_modules/.package-lock.json
    if [ -f "$stamp" ] && [ "$stamp" -nt agent-ts/package-lock.json ]; then
        say "agent-ts/node_modules: up to date with package-lock.json"
        return
    fi
    say "agent-ts/node_modules: npm ci"
    (cd agent-ts && npm ci --silent --no-audit --no-fund --ignore-scripts)
}

# --- agent-python wheelhouse ---------------------------------------------------------------
fetch_wheels() {
    local stamp=agent-python/wheelhouse/.requirements.txt
    if [ -f "$stamp" ] && cmp -s "$stamp" agent-python/requirements.txt; then
        say "agent-python/wheelhouse: up to date with requirements.txt"
        return
    fi
    local python
    python=$(command -v python3 || true)
    [ -x ../.venv/bin/python ] && python=../.venv/bin/python
    [ -n "$python" ] || { echo "prepare: python3 with pip is needed to fetch wheels" >&2; exit 1; }
    say "agent-python/wheelhouse: pip download for CPython $PYTHON_VERSION on x86_64 Linux"
    mkdir -p agent-python/wheelhouse
    "$python" -m pip download --quiet --disable-pip-version-check \
        --only-binary=:all: --implementation cp --python-version "$PYTHON_VERSION" \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64 \
        --dest agent-python/wheelhouse -r agent-python/requirements.txt
    cp agent-python/requirements.txt "$stamp"
    say "agent-python/wheelhouse: $(find agent-python/wheelhouse -name '*.whl' | wc -l) wheels"
}

fetch_bun
fetch_node_modules
fetch_wheels
say "done"
