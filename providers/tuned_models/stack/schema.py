"""The JSON Schema of stack files, generated from the spec and the backend's field table.

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
    NAMESPACE,
)
from tuned_models.model.fields import FieldRule
from tuned_models.model.spec import MAX_RESOURCE_NAME, RESOURCE_NAME_PATTERN, ModelSpec
from tuned_models.project import STACKS_DIR

#: The checked-in JSON Schema of stack files, relative to the project root.
SCHEMA_FILE = f"{STACKS_DIR}/tuned-models.schema.json"


def describe_field(rule: FieldRule) -> str:
    """A model key's description: what it is, and what a change to it does."""
    on_change = rule.on_change
    return rule.doc if on_change == "-" else f"{rule.doc} On change: {on_change}."


#: A positive decimal number as text ("0.5", "2", "1e-3"); zero passes the pattern, not the code.
_POSITIVE_NUMBER_TEXT = r"^\s*\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a stack file, generated from :class:`ModelSpec`.

    Draft-07, the draft editors' YAML and JSON language servers support best.

    Every model key also accepts ``null`` (a model's null removes a default), and
    ``tuned-models:emulatorStepSeconds`` a numeric string (what ``pulumi config set`` writes),
    so the schema accepts what :func:`parse_config` accepts.

    The file's ``config`` accepts the ``tuned-models:*`` keys of :data:`CONFIG_KEYS` and any key
    of another namespace; ``tuned-models:models`` maps resource names to model specs, and
    ``tuned-models:defaults`` is a model spec (every key optional, as in a model).
    """
    spec = ModelSpec.model_json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Any] = spec.pop("$defs", {})
    spec["description"] = (
        "One tuned model. Keys mirror the Gemini API's JSON names; tuned-models:defaults is merged under it."
    )
    props: dict[str, Any] = spec["properties"]
    # parse_duration accepts a number of seconds or a string such as "4h".
    props["timeout"] = {
        "anyOf": [
            {"type": "number", "exclusiveMinimum": 0},
            {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(s|m|h)?\s*$"},
        ],
        "default": props["timeout"].get("default", 7200.0),
    }
    fields = fields_for(DEFAULT_BACKEND)
    for key in props:
        props[key]["description"] = describe_field(fields[key])
        props[key].pop("title", None)
    # A model's null removes a default (and a null default is no default): every key takes null.
    for key, prop in list(props.items()):
        options: list[Any] | None = prop.get("anyOf")
        if options is None:
            core = {k: v for k, v in prop.items() if k not in ("default", "description")}
            props[key] = {
                "anyOf": [core, {"type": "null"}],
                **{k: prop[k] for k in ("default", "description") if k in prop},
            }
        elif {"type": "null"} not in options:
            options.append({"type": "null"})
    defs["ModelSpec"] = spec
    config: dict[str, Any] = {
        "type": "object",
        "description": "Stack configuration. Keys of other namespaces are allowed.",
        "properties": {
            KEY_BACKEND: {
                "description": "The service that tunes the models (default: gemini, the Gemini API).",
                "enum": list(BACKENDS),
            },
            KEY_ENDPOINT: {
                "description": "embedded (the in-process emulator), an http(s) URL, "
                "or absent for the public Gemini API.",
                "anyOf": [{"const": EMBEDDED}, {"type": "string", "pattern": "^https?://"}],
            },
            KEY_API_KEY: {
                "description": "API key; set it with `pulumi config set --secret "
                "tuned-models:apiKey`. Else GOOGLE_API_KEY / GEMINI_API_KEY, "
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
            KEY_DEFAULTS: {
                "$ref": "#/$defs/ModelSpec",
                "description": "Merged under every model (a model's own value wins; null removes a default).",
            },
            KEY_MODELS: {
                "description": "Resource name -> tuned model.",
                "type": "object",
                "propertyNames": {"pattern": RESOURCE_NAME_PATTERN.pattern, "maxLength": MAX_RESOURCE_NAME},
                "additionalProperties": {"$ref": "#/$defs/ModelSpec"},
            },
        },
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
