"""Stack files: loading ``stacks/Pulumi.<stack>.yaml`` and checking it, offline.

Modules: :mod:`.loader` (read a file, :func:`load_stack`, :func:`parse_config`),
:mod:`.checker` (the checks), :mod:`.yaml_loader` (YAML that never hangs nor crashes),
:mod:`.explain` (pydantic errors in words), :mod:`.schema` (the JSON Schema editors use),
:mod:`.loaded` (the result). The config keys and the connection they declare live in
:mod:`tuned_models.config`; problems in :mod:`tuned_models.model.problems`.

A stack file is Pulumi's own stack settings file. This tool reads the keys of its ``config``
map that live in the ``tuned-models`` namespace (other namespaces belong to other code and are
left alone)::

    tuned-models:backend              gemini (the default)
    tuned-models:endpoint             embedded | http(s) URL | absent (the public service)
    tuned-models:apiKey               a string or {secure: ...}; its value is never printed
    tuned-models:quotaProject         OAuth only: sent as x-goog-user-project
    tuned-models:emulatorStepSeconds  seconds per training step; the emulator only
    tuned-models:defaults             a partial model spec merged under every model
    tuned-models:models               resource name -> :class:`tuned_models.model.spec.ModelSpec`

Contract:

- :func:`parse_config` is pure: it turns a namespaced config map into a :class:`LoadedStack`.
  It never raises for a bad stack; every finding is a :class:`Problem` in ``problems``, and
  ``models`` holds only the models whose spec validated.
- :func:`load_stack` reads the file (YAML's safe loader), reports a syntax error, a key
  repeated in one mapping, a recursive alias or nesting deeper than :data:`MAX_YAML_DEPTH`
  with its line, and calls :func:`parse_config`. A ``config`` that is not a mapping is an error.
- Defaults are merged under every model: top-level keys, and the keys of a mapping value
  (``hyperparameters``, ``tunedModelSource``) key by key; the model's own value wins, and a
  model's ``null`` removes a default (e.g. ``baseModel: null`` for a model tuned from
  ``tunedModelSource``). Merging and null removal look two levels deep, no further, so their
  cost is linear in the size of the file even when aliases share values.
- A config key whose namespace is a near miss of ``tuned-models`` (``tuned-model:models``) is
  an error suggesting the right key.
- Dataset paths are relative to the project root and must stay inside it (after symlinks are
  resolved). Each dataset is read, streaming, and checked as the stack's backend reads it
  (:func:`tuned_models.backends.checks.check_datasets`, the check the provider's ``check``
  shares), and its scan is cached by the file's raw content hash under ``.tuned-models/cache``
  (:mod:`tuned_models.model.cache`): an unchanged dataset costs one hash.

Problem lines (:meth:`Problem.line`) are ``file:model:key: message``; an empty model or key is
left out together with its colon, so the file always comes first (``file: message`` for the
whole file, ``file:key: message`` for a top-level config key such as ``tuned-models:models``,
``file:line: message`` for a YAML syntax error or a repeated key). Warnings read ``file:model:key: warning:
message``, as compilers print them.

``python -m tuned_models.stack --write-schema`` regenerates ``stacks/tuned-models.schema.json``,
the JSON Schema editors use to complete and check stack files (see :func:`json_schema`).
"""

from __future__ import annotations

from tuned_models.model.datasets import DatasetInfo
from tuned_models.model.problems import Problem, Severity
from tuned_models.project import STACKS_DIR
from tuned_models.stack.loaded import LoadedStack
from tuned_models.stack.loader import list_stacks, load_stack, parse_config, stack_path
from tuned_models.stack.schema import SCHEMA_FILE, json_schema, schema_text
from tuned_models.stack.yaml_loader import MAX_YAML_DEPTH

__all__ = [
    "MAX_YAML_DEPTH",
    "SCHEMA_FILE",
    "STACKS_DIR",
    "DatasetInfo",
    "LoadedStack",
    "Problem",
    "Severity",
    "json_schema",
    "list_stacks",
    "load_stack",
    "parse_config",
    "schema_text",
    "stack_path",
]
