"""The Pulumi project on disk: where it is, what it is called, where local state lives."""

from __future__ import annotations

from pathlib import Path

import yaml

#: The folder, under the project root, holding local state (the embedded emulator's).
STATE_DIR_NAME = ".tuned-models"
#: Where stack files live, relative to the project root (``stackConfigDir`` in Pulumi.yaml).
STACKS_DIR = "stacks"


def find_project_root(start: Path | None = None) -> Path:
    """The nearest directory from ``start`` (default: the cwd) upwards that holds ``Pulumi.yaml``;
    ``start`` itself when there is none."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    return here


def project_name(project_root: Path) -> str:
    """The Pulumi project's name, from ``Pulumi.yaml`` (part of every model's id).

    Raises OSError when the file cannot be read, KeyError or TypeError when it names no project.
    """
    document = yaml.safe_load((project_root / "Pulumi.yaml").read_text(encoding="utf-8"))
    return str(document["name"])
