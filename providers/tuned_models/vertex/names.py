"""Vertex AI hosts and resource names, and Cloud Storage locations (``gs://bucket/prefix``).

A Vertex resource lives in a location, and each location is served by its own host:

- a region (``us-central1``): ``https://us-central1-aiplatform.googleapis.com``;
- ``global``: ``https://aiplatform.googleapis.com`` (there is no ``global-aiplatform`` host);
- the multi-region locations ``us`` and ``eu``: ``https://aiplatform.us.rep.googleapis.com``,
  ``https://aiplatform.eu.rep.googleapis.com`` (where Gemini 3.x tuned endpoints are served).

A client therefore routes every call by the location in the resource's own name: a tuning job in
``us-central1`` may produce an endpoint in ``us``. An endpoint override (an emulator) replaces
every host with one base URL; the path still carries the location.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "GLOBAL_LOCATION",
    "MULTI_REGIONS",
    "GcsLocation",
    "check_location",
    "location_of",
    "resource_name",
    "service_base_url",
]

GLOBAL_LOCATION = "global"
#: Locations served by a multi-region host (``aiplatform.{location}.rep.googleapis.com``).
MULTI_REGIONS: frozenset[str] = frozenset({"us", "eu"})

# Bucket names: 3-63 characters (222 with dots), lowercase letters, digits, -, _ and dots,
# starting and ending with a letter or digit.
_BUCKET = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{1,220})[a-z0-9]$")
_LOCATION = re.compile(r"^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Resource id segments: service ids are digits, model versions add ``@N``; legacy project ids
# look like ``example.com:project``. Nothing that would change the URL's meaning (/ ? # % space).
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~:@-]*$")


def check_location(location: str) -> str:
    """Return ``location`` if it is a well-formed location id, else raise ``ValueError``.

    Only the shape is checked (lowercase letters, digits and hyphens): the service decides which
    locations exist. The shape check keeps a location from ever changing the host name.
    """
    if not isinstance(location, str) or not _LOCATION.match(location):
        raise ValueError(
            f"invalid Vertex AI location {location!r}: "
            "expected e.g. us-central1, europe-west4, global, us or eu"
        )
    return location


def service_base_url(location: str) -> str:
    """The public base URL (scheme and host, no path) serving resources in ``location``.

    Raises:
        ValueError: ``location`` is not a well-formed location id.
    """
    check_location(location)
    if location == GLOBAL_LOCATION:
        return "https://aiplatform.googleapis.com"
    if location in MULTI_REGIONS:
        return f"https://aiplatform.{location}.rep.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def _check_segment(value: str, what: str) -> str:
    if not _SEGMENT.match(value):
        raise ValueError(f"invalid {what}: {value!r}")
    return value


def location_of(name: str) -> str:
    """The location of a full resource name ``projects/P/locations/L/...``.

    Raises:
        ValueError: ``name`` does not start with ``projects/*/locations/*``.
    """
    parts = name.split("/")
    if len(parts) < 4 or parts[0] != "projects" or parts[2] != "locations":
        raise ValueError(f"not a Vertex AI resource name (projects/*/locations/*/...): {name!r}")
    return check_location(parts[3])


def resource_name(project: str, location: str, collection: str, name: str) -> str:
    """``projects/P/locations/L/{collection}/ID`` from an id or a full name.

    ``name`` is either a bare id (``"123"``; placed under ``project`` and ``location``) or a full
    name of that collection (kept as it is, so the project number the service returns and a
    location other than the client's are preserved). A model id may carry ``@version``.

    Raises:
        ValueError: an empty or malformed id, or a full name of another collection.
    """
    name = name.strip().strip("/") if isinstance(name, str) else ""
    if not name:
        raise ValueError(f"empty {collection} name")
    parts = name.split("/")
    if len(parts) == 1:
        _check_segment(project, "project")
        check_location(location)
        _check_segment(name, f"{collection} id")
        return f"projects/{project}/locations/{location}/{collection}/{name}"
    if len(parts) != 6 or parts[0] != "projects" or parts[2] != "locations" or parts[4] != collection:
        raise ValueError(f"not a {collection} name (projects/*/locations/*/{collection}/*): {name!r}")
    _check_segment(parts[1], "project")
    check_location(parts[3])
    _check_segment(parts[5], f"{collection} id")
    return name


def operation_name(name: str) -> str:
    """Check an operation name: ``projects/P/locations/L/[COLLECTION/ID/]operations/OP``.

    Raises:
        ValueError: any other shape.
    """
    name = name.strip().strip("/") if isinstance(name, str) else ""
    parts = name.split("/")
    if len(parts) not in (6, 8) or parts[-2] != "operations":
        raise ValueError(f"not an operation name (projects/*/locations/*/.../operations/*): {name!r}")
    location_of(name)
    for index, part in enumerate(parts):
        if index % 2:
            _check_segment(part, "operation name segment")
    return name


@dataclass(frozen=True)
class GcsLocation:
    """A bucket and an optional folder prefix, parsed from ``gs://bucket[/prefix]``."""

    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, uri: str) -> GcsLocation:
        """Parse ``gs://bucket`` or ``gs://bucket/some/prefix`` (a trailing ``/`` is ignored).

        Raises:
            ValueError: not a ``gs://`` URI, or an invalid bucket name or prefix.
        """
        if not isinstance(uri, str) or not uri.startswith("gs://"):
            raise ValueError(f"expected gs://BUCKET[/PREFIX], got {uri!r}")
        bucket, _, prefix = uri[len("gs://") :].partition("/")
        prefix = prefix.strip("/")
        if not _BUCKET.match(bucket) or ".." in bucket or (len(bucket) > 63 and "." not in bucket):
            raise ValueError(
                f"invalid bucket name {bucket!r} in {uri!r}: 3-63 lowercase letters, digits, "
                "'-', '_' or '.', starting and ending with a letter or digit"
            )
        if "//" in prefix or any(c in prefix for c in "\r\n#?[]*") or prefix in (".", ".."):
            raise ValueError(f"invalid object prefix {prefix!r} in {uri!r}")
        return cls(bucket, prefix)

    def object_name(self, file_name: str) -> str:
        """``prefix/file_name`` (or ``file_name`` without a prefix)."""
        return f"{self.prefix}/{file_name}" if self.prefix else file_name

    def uri(self, file_name: str) -> str:
        """``gs://bucket/prefix/file_name``."""
        return f"gs://{self.bucket}/{self.object_name(file_name)}"
