"""Images of the services under test: built from their Compose build sections, or pulled;
and the images of a runtime's variants with build args, built from the same sections."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException

from tierbench.compose_project import compose_config
from tierbench.files import write_text
from tierbench.load.docker.compose import compose_client
from tierbench.load.docker.containers import write_override


class ImageError(RuntimeError):
    """A service's image could not be built or pulled."""


def ensure_image(compose_file: Path, project: str, service: str, stamp: Path, log: Path) -> str:
    """Build the service's image (or pull it when it has no build section); write its id."""
    client = compose_client([compose_file], project_name=project)
    definition = compose_config(compose_file, project)["services"][service]
    with _logged(log, f"could not build or pull the image of service {service}") as handle:
        if definition.get("build"):
            _build(client, service, handle)
        elif not client.image.exists(definition["image"]):
            client.image.pull(definition["image"], quiet=True)
    name = definition.get("image") or f"{project}-{service}"
    return _stamp(client, name, {"service": service}, stamp)


def variant_build_override(definition: dict, service: str, image: str, build_args: dict) -> dict:
    """A Compose override that builds `service` as a variant's own image: tagged `image`,
    with `build_args` over the build args of the service's own section (`definition`,
    as Compose resolves it)."""
    args = dict(definition["build"].get("args") or {}) | build_args
    return {"services": {service: {"image": image, "build": {"args": args}}}}


def ensure_variant_image(
    compose_file: Path,
    project: str,
    build: dict,
    stamp: Path,
    log: Path,
) -> str:
    """Build a variant's own image (`build`: its `service`, `image` tag and `build_args`)
    from its service's build section, through an override beside the log; the service's
    own image is left as it is. Write the image's id, and the args it was built with."""
    service, image = build["service"], build["image"]
    definition = compose_config(compose_file, project)["services"][service]
    override = write_override(
        log.with_suffix(".override.yaml"),
        variant_build_override(definition, service, image, build["build_args"]),
    )
    client = compose_client([compose_file, override], project_name=project)
    with _logged(log, f"could not build image {image} of service {service}") as handle:
        _build(client, service, handle)
    return _stamp(client, image, {"service": service, "build_args": build["build_args"]}, stamp)


def _build(client: DockerClient, service: str, log: TextIO) -> None:
    """Build the service as the client's Compose files define it, into the log."""
    for _, line in client.compose.build([service], stream_logs=True):
        log.write(line.decode(errors="replace"))


@contextmanager
def _logged(log: Path, failure: str) -> Iterator[TextIO]:
    """The log, open for Docker's output; ImageError with `failure` when Docker fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as handle:
        try:
            yield handle
        except DockerException as error:
            raise ImageError(f"{failure}; see {log}:\n{error.stderr or error}") from None


def _stamp(client: DockerClient, name: str, what: dict, stamp: Path) -> str:
    """Write the stamp of image `name` (`what` it is, its name and id); return its id."""
    image = client.image.inspect(name)
    write_text(json.dumps(what | {"image": name, "id": image.id}) + "\n", stamp)
    return image.id
