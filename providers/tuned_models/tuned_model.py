"""``TunedModel``: a tuned model as a Pulumi dynamic resource.

Schema
    Inputs (:class:`tuned_models.model.desired.ModelInputs`, camelCase like the API):
    ``project``, ``stack``, ``resourceName``, ``backend``, and the fields of the backend's
    field table (:mod:`tuned_models.backends.gemini.fields` for the Gemini API): create-only
    fields retrain, updatable ones are patched in place, the tool's own settings (``timeout``,
    ``wait``, ``adopt``) steer the provider. Outputs: the table's outputs (see
    :mod:`tuned_models.lifecycle`). Never examples, never credentials.

Lifecycle
    :class:`TunedModelProvider` hands each engine call to
    :class:`tuned_models.lifecycle.ModelLifecycle` (written once over the backend seam) and
    wraps the result. ``check`` is pydantic validation, one CheckFailure per bad property;
    unknowns pass (preview).

The provider object is pickled into Pulumi state by reference to this module and holds no
data: its backends and credentials are built in :meth:`TunedModelProvider.configure`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from tuned_models.backends import connect_backend, fields_for
from tuned_models.backends.base import Backend
from tuned_models.config import CONNECTION_KEYS, DEFAULT_BACKEND, Connection, read_connection
from tuned_models.lifecycle import ModelLifecycle
from tuned_models.model.desired import ModelInputs
from tuned_models.model.planner import Action
from tuned_models.project import find_project_root
from tuned_models.pulumi_inputs import check_failures, plain, split_unknown
from tuned_models.worker_limit import raise_worker_limit

#: The type token of a tuned model resource.
TUNED_MODEL_TYPE = "pulumi-python:dynamic/gemini:TunedModel"


class PulumiLog:
    """:class:`tuned_models.backends.base.Log` onto ``pulumi up``'s output."""

    def info(self, message: str) -> None:
        pulumi.log.info(message)

    def warn(self, message: str) -> None:
        pulumi.log.warn(message)


def connection_from_engine(get: Any) -> Connection:
    """The connection the engine's provider config (``key -> value`` getter) declares.

    Raises ValueError listing the bad keys (never a value); the program's stack check reports
    the same findings before any resource is declared.
    """
    connection, findings = read_connection({k: v for k in CONNECTION_KEYS if (v := get(k)) is not None})
    errors = [f"{f.key}: {f.message}" for f in findings if not f.warning]
    if errors:
        raise ValueError("tuned-models: the provider config is not valid: " + "; ".join(errors))
    return connection


class ProviderBase(ResourceProvider):
    """What every provider here shares: the connection from ``configure`` and its backends."""

    serialize_as_secret_always = False

    def __init__(self) -> None:
        super().__init__()

    def configure(self, req: ConfigureRequest) -> None:
        self._connection = connection_from_engine(req.config.get)
        self._root = find_project_root()

    def backend(self, name: str | None = None) -> Backend:
        """The connected backend ``name`` (default: the stack's)."""
        connection: Connection = getattr(self, "_connection", None) or Connection()
        if name is not None and name != connection.backend:
            connection = dataclasses.replace(connection, backend=name)
        return connect_backend(connection, self.root())

    def root(self) -> Path:
        root: Path | None = getattr(self, "_root", None)
        return root or Path.cwd()


class TunedModelProvider(ProviderBase):
    """The dynamic provider behind :class:`TunedModel`. Holds no data (see the module doc)."""

    def configure(self, req: ConfigureRequest) -> None:
        super().configure(req)
        if not raise_worker_limit():
            pulumi.log.warn(
                "tuned-models: could not lift the provider server's 4-call limit; "
                "models will tune at most 4 at a time"
            )

    def _lifecycle(self) -> ModelLifecycle:
        return ModelLifecycle(self.backend, self.root(), PulumiLog())

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, check_failures(news, ModelInputs))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        known, unknown = split_unknown(news)
        decision = ModelLifecycle.diff(plain(olds), known, unknown)
        if decision.action is Action.NONE:
            return DiffResult(changes=False)
        if decision.action is Action.REPLACE:
            return DiffResult(
                changes=True,
                replaces=list(decision.replace_fields) or ["tunedModelId"],
                delete_before_replace=decision.delete_before_replace,
            )
        return DiffResult(changes=True, replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        id_, outs = self._lifecycle().create(plain(props))
        return CreateResult(id_, outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._lifecycle().update(_id, plain(olds), plain(news)))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        outs = self._lifecycle().read(id_, plain(props))
        return ReadResult("", {}) if outs is None else ReadResult(id_, outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self._lifecycle().delete(_id, plain(props))


class TunedModel(Resource, module="gemini", name="TunedModel"):
    """A tuned model (type ``pulumi-python:dynamic/gemini:TunedModel``).

    ``args`` are the resource inputs (:class:`ModelInputs` or its camelCase mapping); outputs
    are the backend's output fields, readable as attributes (``model.name``, ``model.state`` ...).
    """

    name: pulumi.Output[str]
    state: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: ModelInputs | Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        inputs = args.to_inputs() if isinstance(args, ModelInputs) else dict(args)
        outputs = fields_for(str(inputs.get("backend") or DEFAULT_BACKEND)).outputs
        props: dict[str, Any] = {k: None for k in outputs}
        props.update({k: v for k, v in inputs.items() if v is not None})
        super().__init__(TunedModelProvider(), resource_name, props, opts)
