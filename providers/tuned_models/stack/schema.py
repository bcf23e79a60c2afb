"""The JSON Schema of stack files, generated from the spec and each backend's field table.

``python -m tuned_models.stack --write-schema`` regenerates :data:`SCHEMA_FILE`, the schema
editors use to complete and check stack files; ``--check-schema`` exits 1 when it is stale.
Each model key's description is its field rule's ``doc`` and what a change to it does.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tuned_models.backends import fields_for
from tuned_models.config import (
    BACKENDS,
    DEFAULT_BACKEND,
    EMBEDDED,
    KEY_API_KEY,
    KEY_BACKEND,
    KEY_DEFAULTS,
    KEY_ENDPOINT,
    KEY_MODELS,
    KEY_QUOTA_PROJECT,
    KEY_STEP_SECONDS,
    KEY_VERTEX,
    LOCATION_ENV_VAR,
    NAMESPACE,
    PROJECT_ENV_VAR,
)
from tuned_models.model.fields import FieldRule
from tuned_models.model.spec import ADAPTER_SIZES, MAX_RESOURCE_NAME, RESOURCE_NAME_PATTERN, ModelSpec
from tuned_models.project import STACKS_DIR

#: The checked-in JSON Schema of stack files, relative to the project root.
SCHEMA_FILE = f"{STACKS_DIR}/tuned-models.schema.json"


def describe_field(rule: FieldRule) -> str:
    """A model key's description: what it is, and what a change to it does."""
    on_change = rule.on_change
    return rule.doc if on_change == "-" else f"{rule.doc} On change: {on_change}."


#: A positive decimal number as text ("0.5", "2", "1e-3"); zero passes the pattern, not the code.
_POSITIVE_NUMBER_TEXT = r"^\s*\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"


#: Per backend: extra JSON Schema rules on a model's keys, beyond the spec's own.
_KEY_RULES: dict[str, dict[str, dict[str, Any]]] = {
    "gemini": {
        "baseModel": {"pattern": r"^models/[a-z0-9][a-z0-9.\-]*$"},
        "displayName": {"maxLength": 40},
    },
    "vertex": {
        "baseModel": {"pattern": r"^(publishers/google/models/)?[a-z0-9][a-z0-9.\-]*$"},
        "hyperparameters.adapterSize": {"enum": list(ADAPTER_SIZES)},
    },
}


def _def_name(backend: str, name: str) -> str:
    return f"{backend.capitalize()}{name}"


def _model_spec(backend: str, spec: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The model spec as ``backend`` takes it: its keys only, each described by its table."""
    fields = fields_for(backend)
    spec = json.loads(json.dumps(spec))
    spec["description"] = (
        f"One tuned model ({backend} backend). Keys mirror the service's JSON names; "
        "tuned-models:defaults is merged under it."
    )
    props: dict[str, Any] = {k: v for k, v in spec["properties"].items() if k in fields.accepted}
    # parse_duration accepts a number of seconds or a string such as "4h".
    props["timeout"] = {
        "anyOf": [
            {"type": "number", "exclusiveMinimum": 0},
            {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(s|m|h)?\s*$"},
        ],
        "default": props["timeout"].get("default", 7200.0),
    }
    hyper = fields["hyperparameters"]
    if hyper.keys:
        base = json.loads(json.dumps(defs["Hyperparameters"]))
        base["properties"] = {k: v for k, v in base["properties"].items() if k in hyper.keys}
        defs[_def_name(backend, "Hyperparameters")] = base
        props["hyperparameters"] = {"$ref": f"#/$defs/{_def_name(backend, 'Hyperparameters')}"}
    for path, extra in _KEY_RULES.get(backend, {}).items():
        parent, _, key = path.rpartition(".")
        if parent == "hyperparameters" and hyper.keys:
            props_of = defs[_def_name(backend, "Hyperparameters")]["properties"]
        elif parent:
            continue
        else:
            props_of = props
        if key in props_of:
            options = props_of[key].get("anyOf")
            target = (
                next((o for o in options if o.get("type") in ("string", "integer")), None)
                if options
                else props_of[key]
            )
            if target is not None:
                target.update(extra)
    for key in props:
        props[key]["description"] = describe_field(fields[key])
        props[key].pop("title", None)
    # A model's null removes a default (and a null default is no default): every key takes null.
    for key, prop in list(props.items()):
        options = prop.get("anyOf")
        if options is None:
            core = {k: v for k, v in prop.items() if k not in ("default", "description")}
            props[key] = {
                "anyOf": [core, {"type": "null"}],
                **{k: prop[k] for k in ("default", "description") if k in prop},
            }
        elif {"type": "null"} not in options:
            options.append({"type": "null"})
    spec["properties"] = props
    spec.pop("title", None)
    return spec


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a stack file, generated from :class:`ModelSpec` and each backend's
    field table.

    Draft-07, the draft editors' YAML and JSON language servers support best.

    A model takes the keys of its stack's backend (``tuned-models:backend``; ``if``/``then``/
    ``else`` on it): ``$defs/GeminiModelSpec`` or ``$defs/VertexModelSpec``, each with its own
    descriptions, hyperparameters and rules (the Gemini API's 40-character display names and
    ``models/`` base models; Vertex AI's model ids). Every model key also accepts ``null`` (a
    model's null removes a default), and ``tuned-models:emulatorStepSeconds`` a numeric string
    (what ``pulumi config set`` writes), so the schema accepts what :func:`parse_config` accepts.

    The file's ``config`` accepts the ``tuned-models:*`` keys of :data:`CONFIG_KEYS` and any key
    of another namespace; ``tuned-models:models`` maps resource names to model specs, and
    ``tuned-models:defaults`` is a model spec (every key optional, as in a model).
    """
    spec = ModelSpec.model_json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Any] = spec.pop("$defs", {})
    specs = {backend: _model_spec(backend, spec, defs) for backend in BACKENDS}
    del defs["Hyperparameters"]
    for backend, model in specs.items():
        defs[_def_name(backend, "ModelSpec")] = model

    def models_as(backend: str) -> dict[str, Any]:
        ref = {"$ref": f"#/$defs/{_def_name(backend, 'ModelSpec')}"}
        return {"properties": {KEY_MODELS: {"additionalProperties": ref}, KEY_DEFAULTS: ref}}

    vertex_only = {"properties": {KEY_VERTEX: False}}
    # Under vertex: no API key, and a bucket (it has no fallback).
    gemini_only = {
        "properties": {KEY_API_KEY: False, KEY_VERTEX: {"required": ["bucket"]}},
        "required": [KEY_VERTEX],
    }
    config: dict[str, Any] = {
        "type": "object",
        "description": "Stack configuration. Keys of other namespaces are allowed.",
        "properties": {
            KEY_BACKEND: {
                "description": "The service that tunes the models: gemini (the default, the Gemini API) "
                "or vertex (Vertex AI tuning jobs).",
                "enum": list(BACKENDS),
            },
            KEY_ENDPOINT: {
                "description": "embedded (the in-process emulator), an http(s) URL, "
                "or absent for Google's services.",
                "anyOf": [{"const": EMBEDDED}, {"type": "string", "pattern": "^https?://"}],
            },
            KEY_API_KEY: {
                "description": "Gemini API key (gemini backend only); set it with `pulumi config set "
                "--secret tuned-models:apiKey`. Else GOOGLE_API_KEY / GEMINI_API_KEY, "
                "else Application Default Credentials.",
                "anyOf": [
                    {"type": "string", "minLength": 1},
                    {
                        "type": "object",
                        "properties": {"secure": {"type": "string"}},
                        "required": ["secure"],
                        "additionalProperties": False,
                    },
                ],
            },
            KEY_QUOTA_PROJECT: {
                "type": "string",
                "minLength": 1,
                "description": "OAuth only: sent as x-goog-user-project.",
            },
            KEY_STEP_SECONDS: {
                "description": "Emulator only: seconds per training step (a number, or the "
                "numeric string `pulumi config set` writes).",
                "anyOf": [
                    {"type": "number", "exclusiveMinimum": 0},
                    {"type": "string", "pattern": _POSITIVE_NUMBER_TEXT},
                ],
            },
            KEY_VERTEX: {
                "description": "Vertex AI (vertex backend only): the project and location tuning "
                f"jobs run in (else {PROJECT_ENV_VAR} / {LOCATION_ENV_VAR}), and the Cloud Storage "
                "bucket datasets are uploaded to, named by their digest.",
                "type": "object",
                "properties": {
                    "project": {"type": "string", "minLength": 1, "description": "e.g. my-project"},
                    "location": {
                        "type": "string",
                        "pattern": "^[a-z][a-z0-9-]*[a-z0-9]$",
                        "description": "A region, e.g. us-central1",
                    },
                    "bucket": {
                        "type": "string",
                        "pattern": "^gs://[a-z0-9][a-z0-9._-]+[a-z0-9](/.*)?$",
                        "description": "gs://BUCKET[/PREFIX]",
                    },
                },
                "additionalProperties": False,
            },
            KEY_DEFAULTS: {
                "type": "object",
                "description": "Merged under every model (a model's own value wins; null removes a default).",
            },
            KEY_MODELS: {
                "description": "Resource name -> tuned model.",
                "type": "object",
                "propertyNames": {"pattern": RESOURCE_NAME_PATTERN.pattern, "maxLength": MAX_RESOURCE_NAME},
            },
        },
        "if": {"properties": {KEY_BACKEND: {"const": "vertex"}}, "required": [KEY_BACKEND]},
        "then": {"allOf": [models_as("vertex"), gemini_only]},
        "else": {"allOf": [models_as(DEFAULT_BACKEND), vertex_only]},
        "patternProperties": {f"^(?!{NAMESPACE}:)[^:]+:.+$": {}},
        "additionalProperties": False,
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "tuned-models stack file (stacks/Pulumi.<stack>.yaml)",
        "description": "Pulumi stack settings declaring fine-tuned Gemini models. "
        "Generated by `python -m tuned_models.stack --write-schema`; do not edit.",
        "type": "object",
        "properties": {
            "config": config,
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "environment": {},
        },
        "additionalProperties": False,
        "$defs": dict(sorted(defs.items())),
    }


def schema_text() -> str:
    """The checked-in form of :func:`json_schema`: indented JSON with a final newline."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tuned_models.stack",
        description=f"Write or check the stack file JSON Schema ({SCHEMA_FILE}).",
    )
    parser.add_argument("--write-schema", action="store_true", help="write the schema file")
    parser.add_argument("--check-schema", action="store_true", help="exit 1 when the schema file is stale")
    parser.add_argument("--project-root", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    target = args.project_root / SCHEMA_FILE
    if args.write_schema:
        target.write_text(schema_text(), encoding="utf-8")
        print(f"wrote {SCHEMA_FILE}")
        return 0
    if args.check_schema:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != schema_text():
            print(f"{SCHEMA_FILE} is stale: run python -m tuned_models.stack --write-schema")
            return 1
        print(f"{SCHEMA_FILE} is up to date")
        return 0
    parser.print_help()
    return 2
