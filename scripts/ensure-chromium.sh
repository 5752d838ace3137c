#!/usr/bin/env bash
# Make sure a headless Chromium exists (the HTML report tests and chart export use it).
set -euo pipefail
for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then
        echo "tierbench: $candidate present"
        exit 0
    fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tierbench: installing chromium from the Debian archive"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    exit 0
fi
echo "tierbench: no Chromium found: install chromium (Debian/Ubuntu: apt-get install chromium) and run this again" >&2
exit 1
