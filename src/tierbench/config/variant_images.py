"""The image each runtime runs: its Compose service's own, shared by its variants, except
for a variant with `build_args`, which runs an image of its own, built from the service's
`build:` section with those args over the section's, and tagged beside the service's
image so that neither replaces the other."""

from __future__ import annotations


class VariantImageError(ValueError):
    """A variant's build args cannot give it an image; the message names the key and the
    fix."""


def variant_image_name(project: str, service: str, runtime: str) -> str:
    """The tag of a variant's own image: the repository Compose names the service's built
    image after (`{project}-{service}`), tagged with the variant's runtime name
    (`tierbench-agent-python:python-slim`). Runtime names are unique in a sweep, so no two
    variants share an image, and none replaces the service's own (`:latest`, or the
    `image:` the Compose file names)."""
    return f"{project}-{service}".lower() + f":{runtime}"


def variant_key(runtime: str, row: dict) -> str:
    """The config key of a variant's build args, from its runtime row (`runtime_rows`)."""
    base = row["variant_of"]
    return f"runtimes.{base}.variants.{runtime.removeprefix(f'{base}-')}.build_args"


def check_variant_builds(rows: dict[str, dict], services: dict[str, dict], backend: str) -> None:
    """Refuse a variant with build args that cannot have an image of its own: under the
    kubernetes backend, which pulls every image and builds none, or on a Compose service
    with no `build:` section. `rows` are `runtime_rows`, `services` the Compose project's
    service definitions."""
    for runtime, row in rows.items():
        if not row.get("build_args"):
            continue
        key = variant_key(runtime, row)
        if backend == "kubernetes":
            raise VariantImageError(
                f"config key {key}: the kubernetes backend pulls each runtime's image from "
                "a registry and builds none. Build the variant's image with these args, "
                "push it where the cluster pulls from (kubernetes.image_registry), and "
                "measure it as a runtime of its own whose Compose service names that image "
                "(docs/scale-out.md); or set what differs with the variant's `environment`"
            )
        if not services[row["service"]].get("build"):
            raise VariantImageError(
                f"config key {key}: Compose service {row['service']!r} has no `build:` "
                "section, so there is no image to build with these args. Give the service "
                "a `build:` section, or set what differs with the variant's `environment`"
            )
