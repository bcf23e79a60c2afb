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

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    UpdateResult,
)

from tuned_models.backends import checks_for, fields_for
from tuned_models.backends.checks import DatasetRole, ModelCheck, check_model, inputs_problems
from tuned_models.config import DEFAULT_BACKEND, Connection
from tuned_models.lifecycle import ModelLifecycle
from tuned_models.model.cache import project_cache
from tuned_models.model.datasets import DatasetInfo
from tuned_models.model.desired import ModelInputs, model_inputs, source_of
from tuned_models.model.planner import Action
from tuned_models.model.spec import TunedModelArgs
from tuned_models.permission import TunedModelOwner, TunedModelPermission, permission_args
from tuned_models.project import find_project_root
from tuned_models.provider_base import ProviderBase, PulumiLog
from tuned_models.pulumi_inputs import check_failures, plain, split_unknown
from tuned_models.runtime import stack_connection
from tuned_models.tokens import TUNED_MODEL_TYPE
from tuned_models.worker_limit import raise_worker_limit

__all__ = ["TUNED_MODEL_TYPE", "TunedModel", "TunedModelProvider"]


class TunedModelProvider(ProviderBase):
    """The dynamic provider behind :class:`TunedModel`. Holds no data (see the module doc)."""

    def configure(self, req: ConfigureRequest) -> None:
        super().configure(req)
        if not raise_worker_limit():
            PulumiLog().warn(
                "tuned-models: could not lift the provider server's 4-call limit; "
                "models will tune at most 4 at a time"
            )

    def _lifecycle(self) -> ModelLifecycle:
        return ModelLifecycle(self.backend, self.root(), PulumiLog())

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Pydantic's rules, then (every input known) the backend's own rules and datasets and
        the quality gate's examples, read from the project (cached by content), and their
        digests: what ``tuned-models validate`` rejects is rejected here, with no call to the
        service (:func:`tuned_models.backends.checks.inputs_problems`)."""
        failures = check_failures(news, ModelInputs)
        known, unknown = split_unknown(news)
        if failures or unknown:
            return CheckResult(news, failures)
        inputs = ModelInputs.model_validate(known)
        connection = getattr(self, "_connection", None) or Connection()
        root = self.root()
        found = inputs_problems(inputs, checks_for(inputs.backend), connection, root, project_cache(root))
        # As pydantic's failures read: the key path, then the reason.
        failures = [
            CheckFailure(p.key or "inputs", f"{p.key}: {p.message}" if p.key else p.message) for p in found
        ]
        return CheckResult(news, failures)

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


#: Stands for a source model's name that is known only once it exists (the inputs carry its output).
_PENDING_SOURCE = "tunedModels/pending-source"


class TunedModel(Resource, module="gemini", name="TunedModel"):
    """A tuned model (type :data:`~tuned_models.tokens.TUNED_MODEL_TYPE`), with its grants.

    ``args`` is either

    - :class:`~tuned_models.model.spec.TunedModelArgs` (the library API): the model's inputs are
      built with :func:`~tuned_models.model.desired.model_inputs` for this Pulumi project and
      stack (``dataset`` and ``validation``: the datasets' info when the caller has it, else the
      spec is checked by its backend and its datasets read under the project root;
      ``evaluation``: likewise for the examples of its quality gate; ``backend``: else
      ``tuned-models:backend``; ``source``: the TunedModel a ``tunedModelSource: {model: ...}``
      names, which this one then follows and depends on), and
      each of its ``permissions`` and its ``owner`` become child resources
      (:class:`~tuned_models.permission.TunedModelPermission` named ``<model>:<grantee key>``,
      :class:`~tuned_models.permission.TunedModelOwner` named ``<model>:owner``);
    - the resource inputs themselves (:class:`~tuned_models.model.desired.ModelInputs` or its
      camelCase mapping), with no child resources.

    Outputs are the backend's output fields, readable as attributes (``model.name``,
    ``model.state``, ``model.totalSteps`` ...). Raises ValueError (naming the file or field)
    when ``args`` cannot train.
    """

    name: pulumi.Output[str]
    state: pulumi.Output[str]
    permissions: list[TunedModelPermission]
    owner: TunedModelOwner | None

    def __init__(
        self,
        resource_name: str,
        args: TunedModelArgs | ModelInputs | Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
        *,
        dataset: DatasetInfo | None = None,
        backend: str | None = None,
        validation: DatasetInfo | None = None,
        evaluation: DatasetInfo | None = None,
        source: TunedModel | None = None,
    ) -> None:
        spec = args if isinstance(args, TunedModelArgs) else None
        source_name: Any = None
        if spec is not None:
            if source_of(spec) is not None:
                if source is None:
                    raise ValueError(
                        f"{resource_name}: tunedModelSource.model names {source_of(spec)!r}: "
                        "pass that TunedModel as source=..."
                    )
                # A name the backend knows before the model exists is passed as a plain value,
                # so a preview shows the cascade exactly; otherwise the source's output name.
                source_name = source.known_name or source.name
            connection = stack_connection()
            name = backend or connection.backend
            if dataset is None or (evaluation is None and spec.evaluation is not None):
                checked = _checked(resource_name, spec, name, connection)
                if dataset is None:
                    dataset = checked.datasets.get(DatasetRole.TRAINING)
                    validation = checked.datasets.get(DatasetRole.VALIDATION)
                if evaluation is None:
                    evaluation = checked.evaluation
            args = model_inputs(
                pulumi.get_project(),
                pulumi.get_stack(),
                resource_name,
                spec,
                dataset,
                backend=name,
                validation=validation,
                evaluation=evaluation,
                source_name=source_name if isinstance(source_name, str) else _PENDING_SOURCE,
            )
        inputs = args.to_inputs() if isinstance(args, ModelInputs) else dict(args)
        if source_name is not None and not isinstance(source_name, str):
            inputs["tunedModelSource"] = {"tunedModel": source_name}
        outputs = fields_for(str(inputs.get("backend") or DEFAULT_BACKEND)).outputs
        props: dict[str, Any] = {k: None for k in outputs}
        props.update({k: v for k, v in inputs.items() if v is not None})
        if source is not None:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[source]))
        super().__init__(TunedModelProvider(), resource_name, props, opts)
        self.known_name: str | None = args.desired().name if isinstance(args, ModelInputs) else None
        self.permissions = []
        self.owner = None
        if spec is not None and isinstance(args, ModelInputs):
            self._declare_sharing(resource_name, spec, args)

    def _declare_sharing(self, resource_name: str, spec: TunedModelArgs, inputs: ModelInputs) -> None:
        # The model's name is known before it exists when the backend lets the client choose
        # the id (or the model is adopted): passing it as a plain value keeps a preview of an
        # in-place update from showing every grant as replaced, as an unknown name would.
        known_name: Any = inputs.desired().name or self.name
        child = pulumi.ResourceOptions(parent=self, depends_on=[self])
        self.permissions = [
            TunedModelPermission(f"{resource_name}:{p.key}", permission_args(known_name, p), child)
            for p in spec.permissions
        ]
        if spec.owner:
            self.owner = TunedModelOwner(
                f"{resource_name}:owner",
                {"model": known_name, "emailAddress": spec.owner},
                pulumi.ResourceOptions(parent=self, depends_on=[self, *self.permissions]),
            )


def _checked(resource_name: str, spec: TunedModelArgs, backend: str, connection: Connection) -> ModelCheck:
    """A library spec checked by its backend: its datasets as the backend reads them and its
    gate's examples (read under the project root, through the scan cache).

    Raises ValueError listing what the backend rejects (``resource:key: message``)."""
    root = find_project_root()
    checked = check_model(
        spec, fields_for(backend), checks_for(backend), connection, root, project_cache(root)
    )
    if checked.errors:
        raise ValueError("\n".join(f"{resource_name}:{p.key}: {p.message}" for p in checked.errors))
    return checked
