#!/usr/bin/env bash
# Make sure the base images of the reference stack exist. Where the public base image can
# be pulled, use it; where no registry answers, build a Debian 12 base image locally the
# way Debian's official images are made (debootstrap, then docker import) and point the
# Compose build arguments at it through config/.env.
set -euo pipefail

cd "$(dirname "$0")/.."
env_file=config/.env
local_image=tierbench/base:bookworm
python_default=python:3.11-slim-bookworm
debian_default=debian:bookworm-slim

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

if have_image "$python_default" && have_image "$debian_default"; then
    echo "tierbench: public base images present"
    rm -f "$env_file"
    exit 0
fi
if timeout 60 docker pull -q "$python_default" >/dev/null 2>&1 &&
   timeout 60 docker pull -q "$debian_default" >/dev/null 2>&1; then
    echo "tierbench: pulled $python_default and $debian_default"
    rm -f "$env_file"
    exit 0
fi

if have_image "$local_image"; then
    echo "tierbench: local base image $local_image present"
else
    echo "tierbench: no registry answers for $python_default; building $local_image with debootstrap"
    if ! command -v debootstrap >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
        else
            echo "tierbench: cannot pull $python_default and debootstrap is missing: install debootstrap (as root) or make a registry reachable" >&2
            exit 1
        fi
    fi
    rootfs=$(mktemp -d /tmp/tierbench-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$rootfs" >/tmp/tierbench-debootstrap.log 2>&1 || {
        echo "tierbench: debootstrap failed; last lines of /tmp/tierbench-debootstrap.log:" >&2
        tail -n 20 /tmp/tierbench-debootstrap.log >&2
        exit 1
    }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'CMD ["/bin/bash"]' - "$local_image" >/dev/null
    echo "tierbench: built $local_image ($(docker image inspect -f '{{.Size}}' "$local_image" | numfmt --to=iec))"
fi

tmp=$(mktemp "$env_file.XXXXXX")
cat >"$tmp" <<ENV
# Written by scripts/ensure-base-images.sh: no registry answered, so the reference images
# build on a local Debian 12 base image. Delete this file to use the public base images.
TIERBENCH_PYTHON_BASE=$local_image
TIERBENCH_DEBIAN_BASE=$local_image
ENV
mv "$tmp" "$env_file"
echo "tierbench: reference images will build FROM $local_image (see $env_file)"
