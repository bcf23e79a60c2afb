"""The Gemini API's tuning service: its route table and every rule of its 18 RPCs.

The HTTP layer (:mod:`tuned_models_emulator.app`) only parses and renders; everything the
service decides is decided here, inside one store transaction per request. Records are in
:mod:`~tuned_models_emulator.records`, training in :mod:`~tuned_models_emulator.training`, JSON in
:mod:`~tuned_models_emulator.render`, callers and roles in :mod:`~tuned_models_emulator.auth`.
"""

from __future__ import annotations

import hashlib
import random
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from tuned_models_emulator.auth import require, role_of
from tuned_models_emulator.codec import decode
from tuned_models_emulator.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from tuned_models_emulator.faults import forced_failure
from tuned_models_emulator.generation import content_response, most_similar, prompt_of, text_response
from tuned_models_emulator.paging import page, paged_response
from tuned_models_emulator.records import (
    BASE_MODELS,
    NS,
    BaseModel,
    Caller,
    GranteeType,
    PermissionRecord,
    Role,
    State,
    TunedModelRecord,
    base_models,
)
from tuned_models_emulator.render import (
    render_base_model,
    render_created,
    render_operation,
    render_permission,
    render_tuned_model,
)
from tuned_models_emulator.routes import Body, Call, Endpoint, Service
from tuned_models_emulator.store import Tx
from tuned_models_emulator.training import progress, total_steps
from tuned_models_emulator.validation import (
    MAX_DISPLAY_NAME,
    MUTABLE_FIELDS,
    TUNED_MODEL_ID,
    TuningRequest,
    check_sampling,
    parse_sampling,
    prepare_create,
    slug,
    update_paths,
)
from tuned_models_emulator.wire import camel, int32_value, normalize

_ALNUM = string.ascii_lowercase + string.digits


_ID = r"(?P<id>[^/:]+)"
_PERM = r"(?P<perm>[^/:]+)"
_OP = r"(?P<op>[^/:]+)"
_V_CRUD = r"(?P<v>v1beta|v1alpha|v1beta3)"
_V_ALL = r"(?P<v>v1|v1beta|v1alpha|v1beta3)"
_MODELS = rf"/{_V_CRUD}/tunedModels"
_MODEL = rf"{_MODELS}/{_ID}"
_GENERATE = rf"/(?P<v>v1|v1beta|v1alpha)/tunedModels/{_ID}"
_PALM = rf"/(?P<v>v1beta|v1beta3)/tunedModels/{_ID}"
_OPERATIONS = rf"/{_V_ALL}/tunedModels/{_ID}/operations"
_V1_OPERATIONS = rf"/(?P<v>v1)/tunedModels/{_ID}/operations"
_JOURNAL = {"id": "tunedModelId"}
#: RPCs whose cost grows with the stored data: never served on the event loop.
_HEAVY = frozenset({"ListTunedModels", "ListOperations", "GenerateContent", "GenerateText"})
#: CreateTunedModel's largest body: the 4 MB limit of a tuning dataset file.
CREATE_BODY_LIMIT = 4 * 1024 * 1024


def _random_id(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(length))


class GeminiApi(Service):
    """The ``tunedModels`` surface of the Gemini API (and its ``models`` list).

    Handlers take the open transaction, the authenticated caller and the parsed call, and return
    the JSON body of a 200 response; they raise :class:`~tuned_models_emulator.errors.ApiError`
    otherwise.
    """

    def endpoints(self) -> Sequence[Endpoint]:
        """The route table (``{v}`` = the API versions that bind each RPC, as the real service)."""

        def route(
            method: str, pattern: str, rpc: str, handler: Callable[[Tx, Caller, Call], Body]
        ) -> Endpoint:
            journal = _JOURNAL if "(?P<id>" in pattern else {}
            return Endpoint(method, pattern, rpc, handler, journal, inline=rpc not in _HEAVY)

        return (
            route("GET", rf"/{_V_ALL}/models", "ListModels", self.list_models),
            route("GET", rf"/{_V_ALL}/models/(?P<model>[^/:]+)", "GetModel", self.get_model),
            route("GET", _MODELS, "ListTunedModels", self.list_tuned_models),
            Endpoint(
                "POST",
                _MODELS,
                "CreateTunedModel",
                self.create_tuned_model,
                max_body=CREATE_BODY_LIMIT,
                prepare=prepare_create,
            ),
            route("GET", _MODEL, "GetTunedModel", self.get_tuned_model),
            route("PATCH", _MODEL, "UpdateTunedModel", self.update_tuned_model),
            route("DELETE", _MODEL, "DeleteTunedModel", self.delete_tuned_model),
            route("POST", f"{_GENERATE}:generateContent", "GenerateContent", self.generate_content),
            route("POST", f"{_PALM}:generateText", "GenerateText", self.generate_text),
            route("POST", f"{_MODEL}:transferOwnership", "TransferOwnership", self.transfer_ownership),
            route("GET", r"/(?P<v>v1)/operations", "ListOperations", self.list_operations),
            route("GET", _OPERATIONS, "ListOperations", self.list_operations),
            route("GET", f"{_OPERATIONS}/{_OP}", "GetOperation", self.get_operation),
            route("POST", f"{_V1_OPERATIONS}/{_OP}:cancel", "CancelOperation", self.cancel_operation),
            route("GET", f"{_MODEL}/permissions", "ListPermissions", self.list_permissions),
            route("POST", f"{_MODEL}/permissions", "CreatePermission", self.create_permission),
            route("GET", f"{_MODEL}/permissions/{_PERM}", "GetPermission", self.get_permission),
            route("PATCH", f"{_MODEL}/permissions/{_PERM}", "UpdatePermission", self.update_permission),
            route("DELETE", f"{_MODEL}/permissions/{_PERM}", "DeletePermission", self.delete_permission),
        )

    # ---------------------------------------------------------------- base models
    def list_models(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """ListModels: the foundation models of this API version (default 50, max 1000)."""
        models = [render_base_model(m) for m in base_models(call.version)]
        chunk, token = page(
            models, call.query, default=50, maximum=1000, fingerprint=f"models:{call.version}"
        )
        return paged_response("models", chunk, token)

    def get_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GetModel."""
        model_id = call.params["model"]
        for model in base_models(call.version):
            if model.id == model_id:
                return render_base_model(model)
        raise NotFound(
            f"models/{model_id} is not found for API version {call.version}, or is not supported "
            "for getModel. Call ListModels to see the list of available models and their "
            "supported methods."
        )

    # ---------------------------------------------------------------- tuned models
    def create_tuned_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """CreateTunedModel (body checked by :func:`prepare_create`): store in CREATING, return the
        Operation."""
        request: TuningRequest = call.body
        body, display_name, hyper = request.body, request.display_name, request.hyperparameters
        version = call.version
        requested_id = call.query.get("tunedModelId") or None
        if requested_id is not None:
            if not TUNED_MODEL_ID.fullmatch(requested_id):
                raise InvalidArgument(
                    f"tunedModelId {requested_id!r} is invalid: it must match "
                    "[a-z]([a-z0-9-]{0,38}[a-z0-9])? (up to 40 characters, starting with a "
                    "letter and ending with a letter or a number)."
                )
            if tx.model(requested_id) is not None:
                raise AlreadyExists(f"Tuned model tunedModels/{requested_id} already exists.")
        base, source_model = self._source(tx, caller, body, version)
        sampling = parse_sampling(body, base)

        runtime = self.runtime
        rng = runtime.rng(tx)
        model_id = requested_id or _new_id(tx, display_name, rng)
        now = runtime.now_ns(tx)
        now -= now % 1_000
        step_ns = max(1, round(runtime.step_seconds(tx) * NS))
        offset = min(rng.randrange(80_000_000, 400_000_000), max(1, step_ns // 4))
        offset = offset - offset % 1000 + rng.randrange(1, 1000)
        total = total_steps(request.n_examples, hyper.epoch_count, hyper.batch_size)
        fail_at, fail_message = forced_failure(tx, model_id, display_name, total)
        record = TunedModelRecord(
            id=model_id,
            api_version=version,
            base_model=f"models/{base.id}",
            source_tuned_model=source_model,
            display_name=display_name,
            description=str(body.get("description") or ""),
            temperature=sampling[0],
            top_p=sampling[1],
            top_k=sampling[2],
            reader_project_numbers=tuple(body.get("readerProjectNumbers") or ()),
            create_ns=now,
            update_ns=now,
            start_ns=now + offset,
            step_ns=step_ns,
            total_steps=total,
            n_examples=request.n_examples,
            epoch_count=hyper.epoch_count,
            batch_size=hyper.batch_size,
            learning_rate=hyper.learning_rate,
            learning_rate_multiplier=hyper.learning_rate_multiplier,
            operation_id=_random_id(rng, 12),
            loss_seed=rng.getrandbits(63),
            fail_at_step=fail_at,
            fail_message=fail_message,
        )
        tx.insert_model(model_id, record.to_dict(), request.examples_json)
        owner = PermissionRecord(_random_id(rng, 16), GranteeType.USER, caller.email, Role.OWNER)
        tx.put_permission(model_id, owner.id, owner.to_dict())
        return render_created(record, version)

    def _source(
        self, tx: Tx, caller: Caller, body: Mapping[str, Any], version: str
    ) -> tuple[BaseModel, str | None]:
        """The tunable base model of a new model, and the tuned model it starts from (if any)."""
        base_name = body.get("baseModel")
        source_model = (body.get("tunedModelSource") or {}).get("tunedModel")
        if base_name and source_model:
            raise InvalidArgument(
                "Only one of base_model and tuned_model_source may be set (oneof source_model)."
            )
        if not base_name and not source_model:
            raise InvalidArgument("base_model or tuned_model_source.tuned_model is required.")
        source: str | None = None
        if source_model:
            parent, _ = require(tx, caller, str(source_model).removeprefix("tunedModels/"), Role.READER)
            if progress(parent, self.runtime.now_ns(tx)).state is not State.ACTIVE:
                raise FailedPrecondition(f"Tuned model {parent.name} is not ACTIVE.")
            base_name, source = parent.base_model, parent.name
        model_id = str(base_name).removeprefix("models/")
        for model in base_models(version):
            if model.id == model_id and model.tunable:
                return model, source
        raise NotFound(
            f"models/{model_id} is not found for API version {version}, or is not supported for "
            "createTunedModel. Call ListModels to see the list of available models and their "
            "supported methods."
        )

    def get_tuned_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GetTunedModel (READER)."""
        model, _ = require(tx, caller, call.params["id"], Role.READER)
        prog = progress(model, self.runtime.now_ns(tx))
        return lambda: render_tuned_model(model, prog, enum_int=call.enum_int)

    def list_tuned_models(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """ListTunedModels: the caller's models (owned or shared), filtered, paged (10/1000)."""
        terms = (call.query.get("filter") or "").split()
        flags = {t.lower() for t in terms if ":" in t}
        words = [t.casefold() for t in terms if ":" not in t]
        unknown = flags - {"owner:me", "writers:me", "readers:me", "readers:everyone"}
        if unknown:
            raise InvalidArgument(f"Invalid filter: {sorted(unknown)[0]}")
        everyone = "readers:everyone" in flags
        all_perms = tx.all_permissions()
        now = self.runtime.now_ns(tx)
        visible: list[TunedModelRecord] = []
        for data in tx.models():
            model = TunedModelRecord.from_dict(data)
            perms = [PermissionRecord.from_dict(p) for p in all_perms.get(model.id, [])]
            direct = role_of(caller, model, perms, include_everyone=False)
            if everyone:
                if not any(p.grantee_type is GranteeType.EVERYONE for p in perms):
                    continue
            elif direct is None:
                continue
            if "owner:me" in flags and direct is not Role.OWNER:
                continue
            if "writers:me" in flags and (direct is None or direct.rank < Role.WRITER.rank):
                continue
            if "readers:me" in flags and direct is None:
                continue
            text = f"{model.display_name}\n{model.description}".casefold()
            if any(w not in text for w in words):
                continue
            visible.append(model)
        # The token is bound to the filter, not to the credential: the official list sample sends
        # the second page with an API key after listing the first with OAuth.
        fingerprint = hashlib.sha256((call.query.get("filter") or "").encode()).hexdigest()[:16]
        chunk, token = page(visible, call.query, default=10, maximum=1000, fingerprint=fingerprint)
        shown = [(m, progress(m, now)) for m in chunk]
        return lambda: paged_response(
            "tunedModels", [render_tuned_model(m, p, enum_int=call.enum_int) for m, p in shown], token
        )

    def update_tuned_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """UpdateTunedModel (WRITER): only masked mutable fields change; updateTime moves."""
        model, _ = require(tx, caller, call.params["id"], Role.WRITER)
        body = normalize("TunedModel", call.body, "tuned_model")
        paths = update_paths(call, body)
        base = next((m for m in BASE_MODELS if f"models/{m.id}" == model.base_model), None)
        check_sampling({p: body.get(p) for p in paths}, (base.max_temperature if base else None) or 1.0)
        changes: dict[str, Any] = {}
        for path in paths:
            field_name, convert = MUTABLE_FIELDS[path]
            changes[field_name] = convert(body.get(path))
        if len(changes.get("display_name") or "") > MAX_DISPLAY_NAME:
            raise InvalidArgument(f"display_name must be at most {MAX_DISPLAY_NAME} characters.")
        now = self.runtime.now_ns(tx)
        updated = replace(model, **changes, update_ns=max(now - now % 1_000, model.update_ns))
        tx.update_model(model.id, updated.to_dict())
        prog = progress(updated, now)
        return lambda: render_tuned_model(updated, prog, enum_int=call.enum_int)

    def delete_tuned_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """DeleteTunedModel (OWNER), in any state; returns Empty."""
        model, _ = require(tx, caller, call.params["id"], Role.OWNER)
        tx.delete_model(model.id)
        return {}

    # ---------------------------------------------------------------- operations
    def _operation_model(self, tx: Tx, caller: Caller, call: Call, need: Role) -> TunedModelRecord:
        model, _ = require(tx, caller, call.params["id"], need)
        if call.params["op"] != model.operation_id:
            raise NotFound(f"Operation {model.name}/operations/{call.params['op']} does not exist.")
        return model

    def get_operation(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GetOperation (READER on the model): progress, snapshots, then done + response/error."""
        model = self._operation_model(tx, caller, call, Role.READER)
        prog = progress(model, self.runtime.now_ns(tx))
        return lambda: render_operation(model, prog, call.version, enum_int=call.enum_int)

    def list_operations(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """ListOperations of one tuned model, or (``/v1/operations``) of every visible model."""
        now = self.runtime.now_ns(tx)
        if "id" in call.params:
            models = [require(tx, caller, call.params["id"], Role.READER)[0]]
        else:
            all_perms = tx.all_permissions()
            models = []
            for data in tx.models():
                model = TunedModelRecord.from_dict(data)
                perms = [PermissionRecord.from_dict(p) for p in all_perms.get(model.id, [])]
                if role_of(caller, model, perms, include_everyone=False) is not None:
                    models.append(model)
        fingerprint = f"ops:{call.params.get('id', '')}"
        chunk, token = page(models, call.query, default=10, maximum=1000, fingerprint=fingerprint)
        shown = [(m, progress(m, now)) for m in chunk]
        return lambda: paged_response(
            "operations",
            [render_operation(m, p, call.version, enum_int=call.enum_int) for m, p in shown],
            token,
        )

    def cancel_operation(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """CancelOperation (WRITER): a running job stops and its model ends FAILED; else no-op."""
        model = self._operation_model(tx, caller, call, Role.WRITER)
        now = self.runtime.now_ns(tx)
        if progress(model, now).state is State.CREATING:
            now -= now % 1_000
            cancelled = replace(model, cancel_ns=now, update_ns=max(now, model.update_ns))
            tx.update_model(model.id, cancelled.to_dict())
        return {}

    # ---------------------------------------------------------------- generation
    def _active(self, tx: Tx, caller: Caller, call: Call) -> TunedModelRecord:
        model, _ = require(tx, caller, call.params["id"], Role.READER)
        state = progress(model, self.runtime.now_ns(tx)).state
        if state is not State.ACTIVE:
            raise FailedPrecondition(
                f"Tuned model {model.name} is not ready for inference: its state is {state} "
                "(only ACTIVE tuned models can generate content)."
            )
        return model

    def generate_content(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GenerateContent (READER, ACTIVE): the output of the most similar training example."""
        body = normalize("GenerateContentRequest", call.body, "")
        contents = body.get("contents")
        if not contents:
            raise InvalidArgument("* GenerateContentRequest.contents: contents is not specified\n")
        model = self._active(tx, caller, call)
        config = body.get("generationConfig") or {}
        count = 1
        if isinstance(config, dict):
            raw = config.get("candidateCount", config.get("candidate_count", 1))
            count = max(1, min(8, int32_value("generation_config.candidate_count", raw or 1)))
        examples, prompt = tx.examples_json(model.id), prompt_of(contents)
        return lambda: content_response(most_similar(decode(examples), prompt, count))

    def generate_text(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GenerateText (PaLM): ``prompt.text`` -> ``candidates[].output``."""
        body = normalize("GenerateTextRequest", call.body, "")
        prompt = (body.get("prompt") or {}).get("text")
        if prompt is None:
            raise InvalidArgument("prompt is required.")
        model = self._active(tx, caller, call)
        count = max(1, min(8, int32_value("candidate_count", body.get("candidateCount") or 1)))
        examples = tx.examples_json(model.id)
        return lambda: text_response(most_similar(decode(examples), str(prompt), count))

    # ---------------------------------------------------------------- permissions
    def create_permission(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """CreatePermission (WRITER): grant USER/GROUP/EVERYONE a READER or WRITER role."""
        model, perms = require(tx, caller, call.params["id"], Role.WRITER)
        body = normalize("Permission", call.body, "permission")
        role = _role(body)
        if role is Role.OWNER:
            raise InvalidArgument("A permission cannot be created with role OWNER; use transferOwnership.")
        email = body.get("emailAddress") or None
        grantee_name = body.get("granteeType")
        if not grantee_name or grantee_name == "GRANTEE_TYPE_UNSPECIFIED":
            if email is None:
                raise InvalidArgument("permission.grantee_type is required.")
            grantee_name = "GROUP" if email.lower().endswith("googlegroups.com") else "USER"
        grantee = GranteeType(grantee_name)
        if grantee is GranteeType.EVERYONE and email:
            raise InvalidArgument("permission.email_address must not be set for EVERYONE.")
        if grantee is not GranteeType.EVERYONE and not email:
            raise InvalidArgument(f"permission.email_address is required for {grantee}.")
        for perm in perms:
            same = perm.grantee_type is grantee and (
                grantee is GranteeType.EVERYONE or (perm.email or "").casefold() == (email or "").casefold()
            )
            if same:
                raise AlreadyExists(
                    f"Permission for {email or 'everyone'} already exists on {model.name}: "
                    f"{model.name}/permissions/{perm.id}."
                )
        perm = PermissionRecord(_random_id(self.runtime.rng(tx), 16), grantee, email, role)
        tx.put_permission(model.id, perm.id, perm.to_dict())
        return render_permission(model.id, perm, enum_int=call.enum_int)

    def get_permission(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GetPermission (WRITER)."""
        model, perms = require(tx, caller, call.params["id"], Role.WRITER)
        return render_permission(
            model.id, _permission(perms, model, call.params["perm"]), enum_int=call.enum_int
        )

    def list_permissions(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """ListPermissions (WRITER), paged (10/1000)."""
        model, perms = require(tx, caller, call.params["id"], Role.WRITER)
        rendered = [render_permission(model.id, p, enum_int=call.enum_int) for p in perms]
        chunk, token = page(rendered, call.query, default=10, maximum=1000, fingerprint=f"perms:{model.id}")
        return paged_response("permissions", chunk, token)

    def update_permission(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """UpdatePermission (WRITER): ``updateMask=role`` only; OWNER changes via transfer."""
        model, perms = require(tx, caller, call.params["id"], Role.WRITER)
        perm = _permission(perms, model, call.params["perm"])
        body = normalize("Permission", call.body, "permission")
        mask = [p.strip() for p in (call.query.get("updateMask") or "").split(",") if p.strip()]
        if not mask:
            raise InvalidArgument("update_mask is required. Accepted paths: role.")
        for path in mask:
            if camel(path) != "role":
                raise InvalidArgument(
                    f"Invalid update mask path: {path!r} cannot be updated. Accepted paths: role."
                )
        role = _role(body)
        if role is Role.OWNER or perm.role is Role.OWNER:
            raise InvalidArgument("The OWNER role can only change through transferOwnership.")
        updated = replace(perm, role=role)
        tx.put_permission(model.id, perm.id, updated.to_dict())
        return render_permission(model.id, updated, enum_int=call.enum_int)

    def delete_permission(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """DeletePermission (WRITER); the OWNER permission cannot be deleted."""
        model, perms = require(tx, caller, call.params["id"], Role.WRITER)
        perm = _permission(perms, model, call.params["perm"])
        if perm.role is Role.OWNER:
            raise InvalidArgument("The OWNER permission cannot be deleted; use transferOwnership.")
        tx.delete_permission(model.id, perm.id)
        return {}

    def transfer_ownership(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """TransferOwnership (OWNER): the new owner gets OWNER, the old owner becomes WRITER."""
        model, perms = require(tx, caller, call.params["id"], Role.OWNER)
        body = normalize("TransferOwnershipRequest", call.body, "")
        email = body.get("emailAddress")
        if not email:
            raise InvalidArgument("email_address is required.")
        target = next(
            (
                p
                for p in perms
                if p.grantee_type is GranteeType.USER and (p.email or "").casefold() == email.casefold()
            ),
            None,
        )
        for perm in perms:
            if perm.role is Role.OWNER and perm is not target:
                tx.put_permission(model.id, perm.id, replace(perm, role=Role.WRITER).to_dict())
        if target is None:
            target = PermissionRecord(
                _random_id(self.runtime.rng(tx), 16), GranteeType.USER, email, Role.OWNER
            )
        else:
            target = replace(target, role=Role.OWNER)
        tx.put_permission(model.id, target.id, target.to_dict())
        return {}


def _new_id(tx: Tx, display_name: str, rng: random.Random) -> str:
    prefix = slug(display_name)
    while True:
        if prefix:
            candidate = f"{prefix}-{_random_id(rng, 12)}"
        else:
            length = rng.choice((11, 12))
            candidate = rng.choice(string.ascii_lowercase) + _random_id(rng, length - 1)
        if tx.model(candidate) is None:
            return candidate


def _role(body: Mapping[str, Any]) -> Role:
    role_name = body.get("role")
    if not role_name or role_name == "ROLE_UNSPECIFIED":
        raise InvalidArgument("permission.role is required.")
    return Role(role_name)


def _permission(perms: list[PermissionRecord], model: TunedModelRecord, perm_id: str) -> PermissionRecord:
    for perm in perms:
        if perm.id == perm_id:
            return perm
    raise NotFound(f"Permission {model.name}/permissions/{perm_id} does not exist.")
