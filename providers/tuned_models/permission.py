"""Sharing as code: ``TunedModelPermission`` and ``TunedModelOwner`` dynamic resources.

``TunedModelPermission`` (type ``pulumi-python:dynamic/gemini:TunedModelPermission``) grants one
grantee (a USER, a GROUP or EVERYONE) a role (READER or WRITER) on one tuned model.

    create  ``permissions.create``; if the grantee already has a permission on the model (an
            interrupted earlier ``up``), it is adopted and its role set.
    diff    another model or grantee -> replace; another role -> update in place.
    update  ``permissions.patch`` with ``updateMask=role``.
    read    gone (or its model gone) -> removed from state; a changed role shows as drift.
    delete  ``permissions.delete``; 404 is success.

``TunedModelOwner`` (type ``pulumi-python:dynamic/gemini:TunedModelOwner``) calls
``transferOwnership``. The service makes the previous owner, i.e. the credentials this stack
uses, a WRITER: it can still patch and share the model but no longer delete it or transfer it
again, and Pulumi cannot undo the transfer. Deleting this resource changes nothing on the
service; it only stops managing ownership.
"""

from __future__ import annotations

from collections.abc import Mapping
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
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from tuned_models.gemini import GeminiClient, NotFound
from tuned_models.gemini.types import Permission
from tuned_models.inputs import check_failures, plain
from tuned_models.settings import Settings, client_for
from tuned_models.spec import EMAIL_PATTERN, TUNED_MODEL_NAME_PATTERN, GranteeType, PermissionSpec

PERMISSION_OUTPUTS: tuple[str, ...] = ("name", "model", "granteeType", "emailAddress", "role")
OWNER_OUTPUTS: tuple[str, ...] = ("model", "emailAddress")


def _unknown(v: Any) -> bool:
    return isinstance(v, pulumi.output.Unknown)


def _key(v: Any) -> str | None:
    """A grantee field as the service compares it (emails are case-insensitive)."""
    return str(v).lower() if v else None


class PermissionArgs(BaseModel):
    """Inputs of a ``TunedModelPermission``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    granteeType: GranteeType
    emailAddress: str | None = None
    role: str

    @field_validator("model")
    @classmethod
    def _model(cls, v: str) -> str:
        if not TUNED_MODEL_NAME_PATTERN.match(v):
            raise ValueError(f"expected tunedModels/<id>, got {v!r}")
        return v

    @field_validator("role")
    @classmethod
    def _role(cls, v: str) -> str:
        if v not in ("READER", "WRITER"):
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
        elif not EMAIL_PATTERN.match(self.emailAddress):
            raise ValueError(f"{self.emailAddress!r} is not an email address")
        return self

    def same_grantee(self, p: Permission) -> bool:
        kind = p.granteeType.value if p.granteeType else None
        return (
            kind == self.granteeType.value
            and (p.emailAddress or "").lower() == (self.emailAddress or "").lower()
        )


def permission_outputs(p: Permission, model: str) -> dict[str, Any]:
    outs = {
        "name": p.name,
        "model": model,
        "granteeType": p.granteeType.value if p.granteeType else None,
        "emailAddress": p.emailAddress,
        "role": p.role.value if p.role else None,
    }
    return {k: v for k, v in outs.items() if v is not None}


class _Base(ResourceProvider):
    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        self._settings = Settings.from_config(req.config.get)

    def _client(self) -> GeminiClient:
        return client_for(getattr(self, "_settings", None) or Settings())


class TunedModelPermissionProvider(_Base):
    """Provider of :class:`TunedModelPermission`; holds no data (see tuned_model.py)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, check_failures(news, PermissionArgs))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [
            k
            for k in ("model", "granteeType", "emailAddress")
            if _unknown(news.get(k)) or _key(olds.get(k)) != _key(news.get(k))
        ]
        if replaces:
            # A new grantee on the same model: revoke first, so that create can never adopt
            # the very permission the replacement is about to delete.
            return DiffResult(changes=True, replaces=replaces, delete_before_replace="model" not in replaces)
        if _unknown(news.get("role")) or olds.get("role") != news.get("role"):
            return DiffResult(changes=True, replaces=[])
        return DiffResult(changes=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        args = PermissionArgs.model_validate(plain(props))
        client = self._client()
        existing = next((p for p in client.list_permissions(args.model) if args.same_grantee(p)), None)
        if existing is not None:
            if existing.role is None or existing.role.value != args.role:
                existing = client.update_permission(existing.name, args.role)
            pulumi.log.info(f"{args.model}: adopted the existing permission {existing.name}")
            perm = existing
        else:
            perm = client.create_permission(
                args.model,
                grantee_type=args.granteeType.value,
                email_address=args.emailAddress,
                role=args.role,
            )
        return CreateResult(perm.name, permission_outputs(perm, args.model))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        args = PermissionArgs.model_validate(plain(news))
        perm = self._client().update_permission(str(olds["name"]), args.role)
        return UpdateResult(permission_outputs(perm, args.model))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        try:
            perm = self._client().get_permission(str(props.get("name") or id_))
        except NotFound:
            return ReadResult("", {})
        return ReadResult(id_, permission_outputs(perm, str(props.get("model"))))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        try:
            self._client().delete_permission(str(props.get("name") or id_))
        except NotFound:
            return


class OwnerArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    emailAddress: str

    @field_validator("emailAddress")
    @classmethod
    def _email(cls, v: str) -> str:
        if not EMAIL_PATTERN.match(v):
            raise ValueError(f"{v!r} is not an email address")
        return v


class TunedModelOwnerProvider(_Base):
    """Provider of :class:`TunedModelOwner`; holds no data."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, check_failures(news, OwnerArgs))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if _unknown(news.get("model")) or olds.get("model") != news.get("model"):
            return DiffResult(changes=True, replaces=["model"], delete_before_replace=True)
        if olds.get("emailAddress", "").lower() != str(news.get("emailAddress", "")).lower():
            return DiffResult(changes=True, replaces=[])
        return DiffResult(changes=False)

    def _transfer(self, args: OwnerArgs) -> None:
        client = self._client()
        owner = _owner(client.list_permissions(args.model))
        if owner is not None and owner.lower() == args.emailAddress.lower():
            return
        client.transfer_ownership(args.model, args.emailAddress)
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
            owner = _owner(self._client().list_permissions(str(props["model"])))
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


def _owner(perms: list[Permission]) -> str | None:
    return next(
        (p.emailAddress for p in perms if p.role is not None and p.role.value == "OWNER" and p.emailAddress),
        None,
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
    return {
        "model": model,
        "granteeType": spec.grantee_type.value,
        "emailAddress": spec.email,
        "role": spec.role,
    }
