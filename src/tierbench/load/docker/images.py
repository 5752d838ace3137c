"""Images of the services under test: built from their Compose build sections, or pulled."""

from __future__ import annotations

import json
from pathlib import Path

from python_on_whales.exceptions import DockerException

from tierbench.compose_project import compose_config
from tierbench.files import write_text
from tierbench.load.docker.compose import compose_client


class ImageError(RuntimeError):
    """A service's image could not be built or pulled."""


def ensure_image(compose_file: Path, project: str, service: str, stamp: Path, log: Path) -> str:
    """Build the service's image (or pull it when it has no build section); write its id."""
    client = compose_client([compose_file], project_name=project)
    definition = compose_config(compose_file, project)["services"][service]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as handle:
        try:
            if definition.get("build"):
                for _, line in client.compose.build([service], stream_logs=True):
                    handle.write(line.decode(errors="replace"))
            elif not client.image.exists(definition["image"]):
                client.image.pull(definition["image"], quiet=True)
        except DockerException as error:
            raise ImageError(
                f"could not build or pull the image of service {service}; see {log}:\n"
                f"{error.stderr or error}"
            ) from None
    name = definition.get("image") or f"{project}-{service}"
    image = client.image.inspect(name)
    write_text(json.dumps({"service": service, "image": name, "id": image.id}) + "\n", stamp)
    return image.id
