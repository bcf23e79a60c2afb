"""The Cloud Storage JSON API surface: routes, RPC names (the API's method ids,
``storage.objects.insert`` ...) and the API's error shape.

Object names are the rest of the (percent-decoded) path after ``/o/``, so names with ``/`` work.
A resumable session URI (``PUT``/``DELETE`` with ``upload_id``) needs no credentials, as on the
real service: the session id is the capability.
"""

from __future__ import annotations

from collections.abc import Mapping

from tuned_models_emulator.cloud import Method, Surface, route
from tuned_models_emulator.storage.errors import (
    invalid_credentials,
    missing_credentials,
    render_storage_error,
)
from tuned_models_emulator.storage.service import StorageService

_B = r"(?P<bucket>[^/]+)"
_O = r"(?P<object>.+)"


def _resource(params: Mapping[str, str]) -> str | None:
    if "bucket" not in params:
        return None
    if "object" in params:
        return f"b/{params['bucket']}/o/{params['object']}"
    return f"b/{params['bucket']}"


def storage_surface(service: StorageService) -> Surface:
    """The routes of the emulated Cloud Storage JSON API over ``service``."""
    s = service
    insert = "storage.objects.insert"
    routes = (
        route(
            r"/storage/v1/b",
            GET=Method("storage.buckets.list", s.list_buckets),
            POST=Method("storage.buckets.insert", s.insert_bucket),
        ),
        route(
            rf"/storage/v1/b/{_B}",
            GET=Method("storage.buckets.get", s.get_bucket),
            DELETE=Method("storage.buckets.delete", s.delete_bucket),
        ),
        route(rf"/storage/v1/b/{_B}/o", GET=Method("storage.objects.list", s.list_objects)),
        route(
            rf"/storage/v1/b/{_B}/o/{_O}",
            GET=Method("storage.objects.get", s.get_object),
            DELETE=Method("storage.objects.delete", s.delete_object),
        ),
        route(rf"/download/storage/v1/b/{_B}/o/{_O}", GET=Method("storage.objects.get", s.get_object)),
        route(
            rf"/upload/storage/v1/b/{_B}/o",
            POST=Method(insert, stream_handler=s.upload),
            PUT=Method(insert, stream_handler=s.upload_chunk, auth=False),
            DELETE=Method(insert, s.cancel_upload, auth=False),
        ),
    )
    return Surface(
        name="storage",
        prefixes=("/storage/v1", "/upload/storage/v1", "/download/storage/v1"),
        routes=routes,
        render_error=render_storage_error,
        missing_credentials=missing_credentials,
        invalid_credentials=invalid_credentials,
        api_key_refused=missing_credentials,
        resource_of=_resource,
    )
