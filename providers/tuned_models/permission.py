"""Sharing as code: ``TunedModelPermission`` and ``TunedModelOwner`` dynamic resources.

``TunedModelPermission`` (type ``pulumi-python:dynamic/gemini:TunedModelPermission``) grants one
grantee (a USER, a GROUP or EVERYONE) a role (READER or WRITER) on one tuned model.

    create  grant; if the grantee already has a permission on the model (an interrupted
            earlier ``up``), it is adopted and its role set.
    diff    :func:`tuned_models.model.planner.decide_grant`: another model or grantee ->
            replace; another role -> update in place.
    update  set the role.
    read    gone (or its model gone) -> removed from state; a changed role shows as drift.
    delete  revoke; gone is success.

``TunedModelOwner`` (type ``pulumi-python:dynamic/gemini:TunedModelOwner``) transfers ownership
(:func:`tuned_models.model.planner.decide_owner` decides). The service makes the previous
owner, i.e. the credentials this stack uses, a WRITER: it can still patch and share the model
but no longer delete it or transfer it again, and Pulumi cannot undo the transfer. Deleting this
resource changes nothing on the service; it only stops managing ownership.

Both work through the backend's :class:`~tuned_models.backends.base.Grants`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from tuned_models.backends.base import Grants
from tuned_models.gemini import NotFound
from tuned_models.model.grants import GRANTABLE_ROLES, Grant, GranteeType, Role
from tuned_models.model.planner import Action, Decision, decide_grant, decide_owner, grant_inputs
from tuned_models.model.spec import Email, PermissionSpec, TunedModelName, valid_email
from tuned_models.provider_base import ProviderBase
from tuned_models.pulumi_inputs import check_failures, plain, split_unknown
from tuned_models.tokens import TUNED_MODEL_OWNER_TYPE, TUNED_MODEL_PERMISSION_TYPE

__all__ = [
    "TUNED_MODEL_OWNER_TYPE",
    "TUNED_MODEL_PERMISSION_TYPE",
    "TunedModelOwner",
    "TunedModelOwnerProvider",
    "TunedModelPermission",
    "TunedModelPermissionProvider",
    "permission_args",
]

PERMISSION_OUTPUTS: tuple[str, ...] = ("name", "model", "granteeType", "emailAddress", "role")
OWNER_OUTPUTS: tuple[str, ...] = ("model", "emailAddress")


class PermissionArgs(BaseModel):
    """Inputs of a ``TunedModelPermission``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: TunedModelName
    granteeType: GranteeType
    emailAddress: str | None = None
    role: Role

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, v: Any) -> Any:
        if v not in GRANTABLE_ROLES:
            raise ValueError(
                f"role must be READER or WRITER, got {v!r}; make someone the OWNER with the model's owner key"
            )
        return v

    @model_validator(mode="after")
    def _grantee(self) -> PermissionArgs:
        if self.granteeType is GranteeType.EVERYONE:
            if self.emailAddress:
                raise ValueError("a permission for EVERYONE takes no emailAddress")
        elif not self.emailAddress:
            raise ValueError(f"a {self.granteeType.value} permission needs an emailAddress")
        else:
            valid_email(self.emailAddress)
        return self

    def grant(self) -> Grant:
        return Grant(self.granteeType, self.emailAddress, self.role)


def permission_outputs(grant: Grant, model: str) -> dict[str, Any]:
    """The outputs of a grant as the service returned it."""
    outs = {
        "name": grant.name,
        "model": model,
        "granteeType": grant.grantee_type.value if grant.grantee_type else None,
        "emailAddress": grant.email,
        "role": grant.role.value if grant.role else None,
    }
    return {k: v for k, v in outs.items() if v is not None}


def diff_result(decision: Decision) -> DiffResult:
    """The engine's form of a grant decision."""
    if decision.action is Action.REPLACE:
        return DiffResult(
            changes=True,
            replaces=list(decision.replace_fields),
            delete_before_replace=decision.delete_before_replace,
        )
    return DiffResult(changes=decision.action is not Action.NONE, replaces=[])


class _GrantsProvider(ProviderBase):
    def grants(self) -> Grants:
        backend = self.backend()
        if backend.grants is None:
            raise RuntimeError(f"the {backend.fields.backend} backend has no per-model sharing")
        return backend.grants


class TunedModelPermissionProvider(_GrantsProvider):
    """Provider of :class:`TunedModelPermission`; holds no data (see tuned_model.py)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, check_failures(news, PermissionArgs))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        known, unknown = split_unknown(news)
        return diff_result(decide_grant(plain(olds), known, unknown))

    def create(self, props: dict[str, Any]) -> CreateResult:
        args = PermissionArgs.model_validate(plain(props))
        grants = self.grants()
        wanted = args.grant()
        existing = next((g for g in grants.list(args.model) if g.key == wanted.key), None)
        if existing is not None and existing.name is not None:
            if existing.role is not args.role:
                existing = grants.set_role(existing.name, args.role)
            pulumi.log.info(f"{args.model}: adopted the existing permission {existing.name}")
            grant = existing
        else:
            grant = grants.create(args.model, wanted)
        return CreateResult(str(grant.name), permission_outputs(grant, args.model))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        args = PermissionArgs.model_validate(plain(news))
        grant = self.grants().set_role(str(olds["name"]), args.role)
        return UpdateResult(permission_outputs(grant, args.model))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        grant = self.grants().get(str(props.get("name") or id_))
        if grant is None:
            return ReadResult("", {})
        return ReadResult(id_, permission_outputs(grant, str(props.get("model"))))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self.grants().delete(str(props.get("name") or id_))


class OwnerArgs(BaseModel):
    """Inputs of a ``TunedModelOwner``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    emailAddress: Email


def owner_of(grants: list[Grant]) -> str | None:
    """The owner's email among a model's grants."""
    return next((g.email for g in grants if g.role is Role.OWNER and g.email), None)


class TunedModelOwnerProvider(_GrantsProvider):
    """Provider of :class:`TunedModelOwner`; holds no data."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, check_failures(news, OwnerArgs))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        known, unknown = split_unknown(news)
        return diff_result(decide_owner(plain(olds), known, unknown))

    def _transfer(self, args: OwnerArgs) -> None:
        grants = self.grants()
        owner = owner_of(grants.list(args.model))
        if (
            decide_owner({"model": args.model, "emailAddress": owner}, args.model_dump()).action
            is Action.NONE
        ):
            return
        grants.transfer(args.model, args.emailAddress)
        pulumi.log.warn(
            f"{args.model}: ownership transferred to {args.emailAddress}; this stack's "
            "credentials are now a WRITER and cannot delete the model"
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        args = OwnerArgs.model_validate(plain(props))
        self._transfer(args)
        return CreateResult(f"{args.model}/owner", args.model_dump())

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        args = OwnerArgs.model_validate(plain(news))
        self._transfer(args)
        return UpdateResult(args.model_dump())

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        try:
            owner = owner_of(self.grants().list(str(props["model"])))
        except NotFound:
            return ReadResult("", {})
        if owner is None:
            return ReadResult("", {})
        return ReadResult(id_, {"model": props["model"], "emailAddress": owner})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        pulumi.log.info(
            f"{props.get('model')}: ownership is no longer managed; the service keeps "
            f"{props.get('emailAddress')} as the owner"
        )


class TunedModelPermission(Resource, module="gemini", name="TunedModelPermission"):
    """One grant on a tuned model (inputs: model, granteeType, emailAddress, role)."""

    def __init__(
        self, resource_name: str, args: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {k: None for k in PERMISSION_OUTPUTS}
        props.update({k: v for k, v in args.items() if v is not None})
        super().__init__(TunedModelPermissionProvider(), resource_name, props, opts)


class TunedModelOwner(Resource, module="gemini", name="TunedModelOwner"):
    """The owner of a tuned model, set with ``transferOwnership`` (inputs: model, emailAddress)."""

    def __init__(
        self, resource_name: str, args: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TunedModelOwnerProvider(), resource_name, dict(args), opts)


def permission_args(model: Any, spec: PermissionSpec) -> dict[str, Any]:
    """The inputs of a TunedModelPermission for one entry of a model's ``permissions`` list."""
    return grant_inputs(model, spec.grant())
