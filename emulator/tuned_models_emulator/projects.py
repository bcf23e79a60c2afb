"""Google Cloud projects as the emulated Cloud APIs answer them: by number.

Resource names carry the project *number* whatever the request used (a project id or the
number); the emulator derives a stable 12-digit number from an id.
"""

from __future__ import annotations

import hashlib
import re

_PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")


def project_number(project: str) -> str | None:
    """The number of a project id (stable, 12 digits) or of a number (itself); None when
    ``project`` is neither a project id (6-30 lowercase letters, digits and hyphens, starting
    with a letter) nor a number."""
    if project.isdigit() and len(project) <= 20:
        return str(int(project))
    if not _PROJECT_ID.fullmatch(project):
        return None
    digest = hashlib.sha256(project.encode("utf-8")).digest()
    return str(100_000_000_000 + int.from_bytes(digest[:8], "big") % 900_000_000_000)
