"""Stack files: loading ``stacks/Pulumi.<stack>.yaml`` and checking it, offline.

A stack file is Pulumi's own stack settings file. This tool reads the keys of its ``config``
map that live in the ``tuned-models`` namespace (other namespaces belong to other code and are
left alone)::

    tuned-models:endpoint             embedded | http(s) URL | absent (the public service)
    tuned-models:apiKey               a string or {secure: ...}; its value is never printed
    tuned-models:quotaProject         OAuth only: sent as x-goog-user-project
    tuned-models:emulatorStepSeconds  seconds per training step; the emulator only
    tuned-models:defaults             a partial model spec merged under every model
    tuned-models:models               resource name -> :class:`tuned_models.spec.ModelSpec`

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
  resolved). Each dataset is read with
  :func:`tuned_models.datasets.read_examples` and checked with
  :func:`tuned_models.datasets.dataset_problems`; the digest is
  :func:`tuned_models.datasets.examples_digest`.

Problem lines (:meth:`Problem.line`) are ``file:model:key: message``; an empty model or key is
left out together with its colon, so the file always comes first (``file: message`` for the
whole file, ``file:key: message`` for a top-level config key such as ``tuned-models:models``,
``file:line: message`` for a YAML syntax error or a repeated key). Warnings read ``file:model:key: warning:
message``, as compilers print them.

``python -m tuned_models.stack --write-schema`` regenerates ``stacks/tuned-models.schema.json``,
the JSON Schema editors use to complete and check stack files (see :func:`json_schema`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError, model_validator

from tuned_models.datasets import (
    DatasetError,
    dataset_problems,
    examples_digest,
    read_examples,
)
from tuned_models.spec import (
    HYPERPARAMETER_KEYS,
    MAX_RESOURCE_NAME,
    MODEL_KEYS,
    PERMISSION_KEYS,
    RESOURCE_NAME_PATTERN,
    Example,
    ModelSpec,
    text_problem,
)

__all__ = [
    "CONFIG_KEYS",
    "KEY_API_KEY",
    "KEY_DEFAULTS",
    "KEY_ENDPOINT",
    "KEY_MODELS",
    "KEY_QUOTA_PROJECT",
    "KEY_STEP_SECONDS",
    "MAX_YAML_DEPTH",
    "NAMESPACE",
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

#: Where stack files live, relative to the project root (``stackConfigDir`` in Pulumi.yaml).
STACKS_DIR = "stacks"
#: The checked-in JSON Schema of stack files, relative to the project root.
SCHEMA_FILE = f"{STACKS_DIR}/tuned-models.schema.json"
#: The Pulumi project name, which namespaces this tool's config keys.
NAMESPACE = "tuned-models"

KEY_ENDPOINT = f"{NAMESPACE}:endpoint"
KEY_API_KEY = f"{NAMESPACE}:apiKey"
KEY_QUOTA_PROJECT = f"{NAMESPACE}:quotaProject"
KEY_STEP_SECONDS = f"{NAMESPACE}:emulatorStepSeconds"
KEY_DEFAULTS = f"{NAMESPACE}:defaults"
KEY_MODELS = f"{NAMESPACE}:models"
#: Every config key this tool reads; any other ``tuned-models:*`` key is an error.
CONFIG_KEYS: tuple[str, ...] = (
    KEY_ENDPOINT,
    KEY_API_KEY,
    KEY_QUOTA_PROJECT,
    KEY_STEP_SECONDS,
    KEY_DEFAULTS,
    KEY_MODELS,
)
#: How deeply a stack file may nest mappings and lists (a model spec needs about six levels).
MAX_YAML_DEPTH = 64
#: Top-level keys of a Pulumi stack settings file.
_STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
_EMBEDDED = "embedded"

# Valid keys per mapping of a model spec, for "did you mean" suggestions (by the parent key).
_KEYS_BY_PARENT: dict[str, tuple[str, ...]] = {
    "": MODEL_KEYS,
    "hyperparameters": HYPERPARAMETER_KEYS,
    "permissions": PERMISSION_KEYS,
    "tunedModelSource": ("tunedModel",),
    "examples": tuple(Example.model_fields),
}

_RESOURCE_NAME_CHARS = (
    "use lowercase letters, digits and hyphens, starting with a letter and ending with a letter or digit"
)
_RESOURCE_NAME_LENGTH = (
    f"the limit is {MAX_RESOURCE_NAME}, so that the tunedModelId (the name, "
    "a stack tag and a digest) fits the service's 40"
)


class Severity(StrEnum):
    """How bad a :class:`Problem` is: errors fail ``validate`` (exit 1), warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding about a stack file.

    ``file`` is the display path of the stack file; ``model`` the resource name (empty for the
    file or a top-level config key); ``key`` the key path inside the model (``hyperparameters.
    batchSize``, ``permissions[0].role``) or the config key; ``line_number`` a line of the stack
    file when one is known (YAML syntax errors, repeated keys). ``severity`` is a str enum, so it
    compares equal to ``"error"`` / ``"warning"``.
    """

    severity: Severity
    file: str
    model: str
    key: str
    message: str
    line_number: int | None = None

    def line(self) -> str:
        """``file:model:key: message`` (empty parts and their colons left out; see module doc)."""
        parts = [self.file]
        if self.line_number is not None:
            parts.append(str(self.line_number))
        parts.extend(p for p in (self.model, self.key) if p)
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        return f"{':'.join(parts)}: {prefix}{self.message}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping: severity, file, model, key, line (or null), message."""
        return {
            "severity": self.severity.value,
            "file": self.file,
            "model": self.model,
            "key": self.key,
            "line": self.line_number,
            "message": self.message,
        }


@dataclass(frozen=True)
class DatasetInfo:
    """The examples one model trains on: ``path`` (None for inline ``examples``), digest, count."""

    path: str | None
    digest: str
    count: int


@dataclass(frozen=True)
class LoadedStack:
    """A stack file, parsed and checked.

    ``models`` holds the models whose spec validated (in file order); ``model_names`` every
    declared resource name. ``datasets`` has an entry for every valid model whose examples could
    be read (content problems such as empty inputs are still listed in ``problems``). The stack
    is usable only when :attr:`ok` (no errors).
    """

    name: str
    path: str
    endpoint: str | None
    has_api_key: bool
    quota_project: str | None
    emulator_step_seconds: float | None
    models: dict[str, ModelSpec]
    problems: list[Problem]
    datasets: dict[str, DatasetInfo] = field(default_factory=dict)
    model_names: tuple[str, ...] = ()

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors


def stack_path(project_root: Path, stack_name: str) -> Path:
    """The stack file of ``stack_name``: ``<project_root>/stacks/Pulumi.<stack>.yaml``."""
    return project_root / STACKS_DIR / f"Pulumi.{stack_name}.yaml"


def list_stacks(project_root: Path) -> list[str]:
    """The names of the stacks with a file in ``<project_root>/stacks``, sorted."""
    return sorted(
        p.name[len("Pulumi.") : -len(".yaml")]
        for p in (project_root / STACKS_DIR).glob("Pulumi.*.yaml")
        if p.is_file()
    )


def load_stack(project_root: Path, stack_name: str) -> LoadedStack:
    """Read and check ``stacks/Pulumi.<stack_name>.yaml`` under ``project_root``.

    Never raises for a bad or missing file: the finding is a :class:`Problem` (a YAML syntax
    error carries its line). ``path`` in the result is relative to ``project_root``.
    """
    path = stack_path(project_root, stack_name)
    display = f"{STACKS_DIR}/{path.name}"

    def failed(message: str, line: int | None = None) -> LoadedStack:
        problem = Problem(Severity.ERROR, display, "", "", message, line)
        return _empty_stack(stack_name, display, [problem])

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        known = ", ".join(list_stacks(project_root)) or "none"
        return failed(f"no such stack file (stacks: {known})")
    except (OSError, UnicodeDecodeError) as e:
        return failed(f"cannot read the stack file ({e})")
    loader = _StrictLoader(text)
    try:
        document = loader.get_single_data()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(e, "problem", None) or str(e).splitlines()[0]
        return failed(f"invalid YAML: {reason}", line)
    except RecursionError:  # a backstop: the loader stops at MAX_YAML_DEPTH levels
        return failed(f"invalid YAML: nested more than {MAX_YAML_DEPTH} levels deep")
    finally:
        loader.dispose()

    if document is None:
        document = {}
    if not isinstance(document, dict):
        return failed(f"expected a mapping with a config key, got {_describe(document)}")
    problems = [
        Problem(
            Severity.ERROR,
            display,
            "",
            "",
            f"duplicate key {key!r}; YAML keeps only the last one, so the earlier one would be ignored",
            line,
        )
        for key, line in loader.duplicates
    ]
    for key in document:
        if key not in _STACK_FILE_KEYS:
            hint = _suggest(str(key), _STACK_FILE_KEYS)
            problems.append(Problem(Severity.ERROR, display, "", str(key), f"unknown stack file key{hint}"))
    config = document.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        problems.append(
            Problem(
                Severity.ERROR,
                display,
                "",
                "config",
                f"expected a mapping of config keys, got {_describe(config)}",
            )
        )
        return _empty_stack(stack_name, display, problems)
    if isinstance(config.get(KEY_API_KEY), str):
        problems.append(
            Problem(
                Severity.WARNING,
                display,
                "",
                KEY_API_KEY,
                "the API key is stored in plain text; set it with `pulumi config "
                "set --secret tuned-models:apiKey` or GOOGLE_API_KEY instead",
            )
        )
    loaded = parse_config(config, source=display, project_root=project_root, name=stack_name)
    return dataclasses.replace(loaded, problems=problems + loaded.problems)


def parse_config(
    config: Mapping[str, Any],
    *,
    source: str,
    project_root: Path,
    name: str | None = None,
) -> LoadedStack:
    """Check a namespaced config map (the ``config`` of a stack file) and build a LoadedStack.

    ``source`` is the display path used in problem lines; ``name`` the stack name (default: taken
    from a ``Pulumi.<stack>.yaml`` source, else empty). Values may be parsed YAML or, as the
    Pulumi runtime hands structured config to a program, JSON text. Datasets are read from
    ``project_root``. Keys of other namespaces are ignored. Never raises for bad input.
    """
    if name is None:
        m = re.search(r"Pulumi\.(.+)\.yaml$", source)
        name = m.group(1) if m else ""
    checker = _Checker(source, project_root)
    return checker.run(config, name)


class _Checker:
    """Accumulates the problems of one stack while it is parsed."""

    def __init__(self, source: str, project_root: Path) -> None:
        self.source = source
        self.root = project_root
        self.problems: list[Problem] = []
        self._read_cache: dict[str, list[Example] | str] = {}
        # Model names YAML read as booleans, numbers or null (already reported).
        self._unnamed: set[str] = set()

    def error(self, model: str, key: str, message: str) -> None:
        self.problems.append(Problem(Severity.ERROR, self.source, model, key, message))

    def warning(self, model: str, key: str, message: str) -> None:
        self.problems.append(Problem(Severity.WARNING, self.source, model, key, message))

    # -- top level ---------------------------------------------------------------------------

    def run(self, config: Mapping[str, Any], name: str) -> LoadedStack:
        misspelled_models = False
        for key in config:
            key = str(key)
            namespace, _, rest = key.partition(":")
            if key.startswith(f"{NAMESPACE}:"):
                if key not in CONFIG_KEYS:
                    self.error("", key, "unknown config key" + _suggest(key, CONFIG_KEYS))
            elif rest and _near_namespace(namespace):
                meant = f"{NAMESPACE}:{rest}"
                if meant not in CONFIG_KEYS:
                    close = difflib.get_close_matches(meant, CONFIG_KEYS, n=1, cutoff=0.6)
                    meant = close[0] if close else meant
                misspelled_models = misspelled_models or meant == KEY_MODELS
                self.error(
                    "",
                    key,
                    f"unknown namespace {namespace!r}; this tool reads "
                    f"'{NAMESPACE}:*' keys only: did you mean '{meant}'?",
                )
            elif ":" not in key:
                self.error(
                    "",
                    key,
                    f"config keys are namespaced: did you mean '{NAMESPACE}:{key}'?"
                    if f"{NAMESPACE}:{key}" in CONFIG_KEYS
                    else "config keys are namespaced (<namespace>:<key>)",
                )

        endpoint = self._endpoint(config.get(KEY_ENDPOINT))
        has_api_key = self._api_key(config.get(KEY_API_KEY))
        quota_project = self._string(KEY_QUOTA_PROJECT, config.get(KEY_QUOTA_PROJECT))
        step = self._step_seconds(config.get(KEY_STEP_SECONDS), endpoint)
        defaults = self._defaults(_from_json_text(config.get(KEY_DEFAULTS)))
        raw_models = self._models_map(_from_json_text(config.get(KEY_MODELS)), quiet=misspelled_models)

        models: dict[str, ModelSpec] = {}
        datasets: dict[str, DatasetInfo] = {}
        for model_name, raw in raw_models.items():
            spec, merged = self._model(model_name, raw, defaults)
            examples = self._examples(model_name, merged, spec)
            if spec is not None:
                models[model_name] = spec
                if examples is not None:
                    datasets[model_name] = DatasetInfo(
                        path=spec.dataset if spec.examples is None else None,
                        digest=examples_digest(examples),
                        count=len(examples),
                    )
        self._depends_on(raw_models, models)
        return LoadedStack(
            name=name,
            path=self.source,
            endpoint=endpoint,
            has_api_key=has_api_key,
            quota_project=quota_project,
            emulator_step_seconds=step,
            models=models,
            problems=self.problems,
            datasets=datasets,
            model_names=tuple(raw_models),
        )

    def _endpoint(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.error("", KEY_ENDPOINT, f"expected 'embedded' or an http(s) URL, got {_describe(value)}")
            return None
        if value == _EMBEDDED or re.match(r"^https?://[^\s/]+", value):
            return value
        hint = _suggest(value, (_EMBEDDED,))
        self.error("", KEY_ENDPOINT, f"expected 'embedded' or an http(s) URL, got {value!r}{hint}")
        return None

    def _api_key(self, value: Any) -> bool:
        # The value is a secret: messages describe its shape, never its content.
        if value is None:
            return False
        if isinstance(value, str) and value:
            return True
        if isinstance(value, dict) and set(value) == {"secure"}:
            return isinstance(value["secure"], str) or self._bad_api_key()
        return self._bad_api_key()

    def _bad_api_key(self) -> bool:
        self.error(
            "",
            KEY_API_KEY,
            "expected a string or {secure: ...} "
            "(set it with `pulumi config set --secret tuned-models:apiKey`)",
        )
        return False

    def _string(self, key: str, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.error("", key, f"expected a non-empty string, got {_describe(value)}")
            return None
        return value

    def _step_seconds(self, value: Any, endpoint: str | None) -> float | None:
        if value is None:
            return None
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            self.error("", KEY_STEP_SECONDS, f"expected a positive number of seconds, got {_describe(value)}")
            return None
        if endpoint is None:
            self.warning("", KEY_STEP_SECONDS, "applies to the emulator only; the public service ignores it")
        return float(value)

    def _defaults(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error("", KEY_DEFAULTS, f"expected a mapping of model keys, got {_describe(value)}")
            return {}
        cleaned = _strip_nulls(value)
        try:
            _DefaultsSpec.model_validate(cleaned)
        except ValidationError as e:
            bad: set[str] = set()
            for err in e.errors(include_url=False):
                key, message = _explain(err)
                self.error("", f"{KEY_DEFAULTS}.{key}" if key else KEY_DEFAULTS, message)
                if err["loc"]:
                    bad.add(str(err["loc"][0]))
            # Report a bad default once, here, rather than once per model.
            cleaned = {k: v for k, v in cleaned.items() if k not in bad}
        return cleaned

    def _models_map(self, value: Any, *, quiet: bool = False) -> dict[str, Any]:
        """The models by resource name. ``quiet``: a misspelled models key was reported, so
        "no models declared" would only repeat it. A name YAML read as something else than a
        string but a boolean or null (``yes:`` is the boolean true) is reported here and its
        model not checked; other scalars (``123:``) are checked as names, as text."""
        if value is None:
            if not quiet:
                self.warning("", KEY_MODELS, "no models declared")
            return {}
        if not isinstance(value, dict):
            self.error(
                "", KEY_MODELS, f"expected a mapping of resource name to model spec, got {_describe(value)}"
            )
            return {}
        if not value:
            self.warning("", KEY_MODELS, "no models declared")
        models: dict[str, Any] = {}
        for k, v in value.items():
            if isinstance(k, bool) or k is None:
                name = "null" if k is None else _describe(k)
                spellings = "null or ~" if k is None else "yes, no, on, off, true or false"
                self.error(
                    name,
                    "",
                    f"YAML reads an unquoted {spellings} as "
                    f"{'null' if k is None else 'a boolean'}, not as a name: quote the "
                    f"resource name (e.g. '{'null' if k is None else 'yes'}':)",
                )
                self._unnamed.add(name)
                models[name] = v
            else:
                models[str(k)] = v
        return models

    # -- one model ---------------------------------------------------------------------------

    def _model(
        self, name: str, raw: Any, defaults: Mapping[str, Any]
    ) -> tuple[ModelSpec | None, dict[str, Any]]:
        """Validate one model (defaults merged under it); returns the spec (or None) and the
        merged mapping."""
        if name in self._unnamed:
            return None, {}
        valid_name = bool(RESOURCE_NAME_PATTERN.match(name))
        if not valid_name:
            if len(name) > MAX_RESOURCE_NAME:
                self.error(name, "", f"the resource name has {len(name)} characters; {_RESOURCE_NAME_LENGTH}")
            else:
                self.error(name, "", f"invalid resource name: {_RESOURCE_NAME_CHARS}")
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            self.error(name, "", f"expected a mapping of model keys, got {_describe(raw)}")
            return None, {}
        merged = _strip_nulls(_deep_merge(defaults, raw))
        try:
            spec = ModelSpec.model_validate(merged)
        except ValidationError as e:
            for err in e.errors(include_url=False):
                key, message = _explain(err)
                if err["type"] == "value_error":
                    message += _default_hint(tuple(err["loc"]), message, raw, defaults)
                self.error(name, key, message)
            return None, merged
        return (spec if valid_name else None), merged

    def _examples(self, name: str, merged: Mapping[str, Any], spec: ModelSpec | None) -> list[Example] | None:
        """Read and check the model's examples; None when they cannot be read."""
        if spec is not None and spec.examples is not None:
            self._report_examples(name, "examples", "", spec.examples)
            return spec.examples
        dataset = merged.get("dataset")
        if not isinstance(dataset, str):
            return None
        examples = self._read(name, dataset)
        if examples is not None:
            self._report_examples(name, "dataset", f"{dataset}: ", examples)
        return examples

    def _read(self, name: str, dataset: str) -> list[Example] | None:
        cached = self._read_cache.get(dataset)
        if cached is None:
            cached = self._read_uncached(dataset)
            self._read_cache[dataset] = cached
        if isinstance(cached, str):
            self.error(name, "dataset", cached)
            return None
        return cached

    def _read_uncached(self, dataset: str) -> list[Example] | str:
        """The examples of a dataset file, or the message saying why they cannot be read."""
        if not dataset.strip():
            return "expected a path relative to the project root, got an empty string"
        if "\0" in dataset or text_problem(dataset):
            return f"{dataset!r}: not a usable file name (a NUL or a lone surrogate character)"
        if Path(dataset).is_absolute():
            return f"{dataset}: a dataset path is relative to the project root"
        full = self.root / dataset
        try:
            inside = full.resolve().is_relative_to(self.root.resolve())
        except RuntimeError:  # pathlib's "Symlink loop"
            return f"{dataset}: cannot read (a symbolic link loop)"
        except OSError as e:
            return f"{dataset}: cannot read ({e.strerror or e})"
        if not inside:
            return (
                f"{dataset}: outside the project (after resolving .. and symlinks); "
                "keep datasets under the project root, e.g. in stacks/datasets/"
            )
        try:
            return read_examples(full)
        except DatasetError as e:
            message = str(e)
            prefix = str(full)
            if message.startswith(prefix):
                message = dataset + message[len(prefix) :]
            return message
        except OSError as e:
            return f"{dataset}: cannot read ({e.strerror or e})"

    def _report_examples(self, name: str, key: str, prefix: str, examples: Sequence[Example]) -> None:
        for p in dataset_problems(examples):
            where = f"{p.where}: " if p.where else ""
            message = f"{prefix}{where}{p.message}"
            if p.severity == Severity.WARNING:
                self.warning(name, key, message)
            else:
                self.error(name, key, message)

    # -- across models -----------------------------------------------------------------------

    def _depends_on(self, raw_models: Mapping[str, Any], models: Mapping[str, ModelSpec]) -> None:
        declared = set(raw_models)
        for name, spec in models.items():
            for i, dep in enumerate(spec.dependsOn):
                if dep == name:
                    self.error(name, f"dependsOn[{i}]", "a model cannot depend on itself")
                elif dep not in declared:
                    self.error(
                        name,
                        f"dependsOn[{i}]",
                        f"no model named {dep!r} in this stack" + _suggest(dep, sorted(declared - {name})),
                    )
        # Cycles among valid models, each reported once, on its first model in file order.
        graph = {n: [d for d in s.dependsOn if d in models and d != n] for n, s in models.items()}
        reported: set[frozenset[str]] = set()
        for start in graph:
            cycle = _find_cycle(graph, start)
            if cycle and frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                self.error(cycle[0], "dependsOn", "dependency cycle: " + " -> ".join([*cycle, cycle[0]]))


class _StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load`` that also records keys repeated in one mapping (YAML keeps the last,
    silently; Pulumi rejects the file), and raises a :class:`yaml.YAMLError` with the line for
    an alias used inside the value it names (a value that contains itself) and for nesting
    deeper than :data:`MAX_YAML_DEPTH`. So what it returns is a finite tree (shared values
    allowed), and composing it never exhausts Python's stack."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []
        self._open_anchors: list[str] = []
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"recursive alias *{event.anchor}: it is used inside the value "
                    f"&{event.anchor} names, so that value would contain itself",
                    mark,
                )
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested more than {MAX_YAML_DEPTH} levels deep", mark
            )
        anchor: str | None = getattr(event, "anchor", None)
        if anchor is not None:
            self._open_anchors.append(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.pop()

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        # Checked as written, before merge keys (<<) add entries to the node.
        node: yaml.MappingNode = super().compose_mapping_node(anchor)
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    self.duplicates.append((key_node.value, key_node.start_mark.line + 1))
                seen.add(key_node.value)
        return node

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        # PyYAML's merge (<<) keeps every merged entry, later ones winning, so a chain of
        # mappings each merging the previous one twice doubles at every link. Keep only the
        # winning entry of each key: the same mapping, linear in size.
        # (A key keeps the position of its first entry, as when the dict is built.)
        super().flatten_mapping(node)
        winners: dict[Any, tuple[Any, Any]] = {}
        for pair in node.value:
            key_node = pair[0]
            ident = (key_node.tag, key_node.value) if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            winners[ident] = pair
        if len(winners) < len(node.value):
            node.value = list(winners.values())


class _DefaultsSpec(ModelSpec):
    """``tuned-models:defaults``: a ModelSpec whose cross-field rules are checked per model."""

    @model_validator(mode="after")
    def _sources(self) -> _DefaultsSpec:
        return self


def _find_cycle(graph: Mapping[str, list[str]], start: str) -> list[str] | None:
    """A dependency cycle through ``start`` (as a path starting there), or None."""
    path: list[str] = [start]
    seen: set[str] = set()

    def visit(node: str) -> list[str] | None:
        for nxt in graph.get(node, []):
            if nxt == start:
                return list(path)
            if nxt in seen:
                continue
            seen.add(nxt)
            path.append(nxt)
            found = visit(nxt)
            if found:
                return found
            path.pop()
        return None

    return visit(start)


def _empty_stack(name: str, path: str, problems: list[Problem]) -> LoadedStack:
    return LoadedStack(
        name=name,
        path=path,
        endpoint=None,
        has_api_key=False,
        quota_project=None,
        emulator_step_seconds=None,
        models={},
        problems=problems,
    )


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``, two levels deep: where both values of a key are mappings
    (``hyperparameters``) they are merged key by key, the override's value winning; anything
    else is replaced. Values below the second level are taken whole, never walked, so the cost
    is linear in the number of keys even when YAML aliases share values."""
    out = dict(base)
    for key, value in override.items():
        below = out.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            out[key] = {**below, **value}
        else:
            out[key] = value
    return out


def _strip_nulls(value: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping without its null values, at its own level and in its mapping values (the
    levels of a model spec: ``hyperparameters.learningRate: null``): null means "not set".
    Deeper values are taken whole, never walked (linear cost, whatever aliases share)."""
    return {
        k: {kk: vv for kk, vv in v.items() if vv is not None} if isinstance(v, Mapping) else v
        for k, v in value.items()
        if v is not None
    }


def _near_namespace(namespace: str) -> bool:
    """Whether ``namespace`` looks like a misspelling of ``tuned-models`` (``tuned-model``,
    ``tuned_models``, ``Tuned-Models``); another project's namespace (``aws``) is not."""
    folded = namespace.lower().replace("_", "-")
    return folded == NAMESPACE or difflib.SequenceMatcher(None, folded, NAMESPACE).ratio() >= 0.8


#: Value errors two keys of a model spec cause together: (location, message start, keys).
_PAIRED: tuple[tuple[tuple[str, ...], str, tuple[str, str]], ...] = (
    ((), "declare exactly one of baseModel", ("baseModel", "tunedModelSource")),
    ((), "declare dataset (a file) or examples", ("dataset", "examples")),
    (
        ("hyperparameters",),
        "set learningRate or learningRateMultiplier",
        ("learningRate", "learningRateMultiplier"),
    ),
)


def _default_hint(
    loc: tuple[Any, ...], message: str, raw: Mapping[str, Any], defaults: Mapping[str, Any]
) -> str:
    """For an error two keys cause together, when one of them comes from
    ``tuned-models:defaults`` (the model does not set it): a hint naming the defaults and the
    ``null`` that removes the default from this model. Otherwise ``""``."""
    for where, start, keys in _PAIRED:
        if loc != where or not message.startswith(start):
            continue
        own: Any = raw
        inherited: Any = defaults
        for part in where:
            own = own.get(part) if isinstance(own, Mapping) else None
            inherited = inherited.get(part) if isinstance(inherited, Mapping) else None
        own = own if isinstance(own, Mapping) else {}
        inherited = inherited if isinstance(inherited, Mapping) else {}
        for key in keys:
            if key not in own and inherited.get(key) is not None:
                path = ".".join([*where, key])
                null = f"{key}: null" if not where else f"{where[0]}: {{{key}: null}}"
                return f"; {path} comes from {KEY_DEFAULTS}: set {null} in this model to remove that default"
    return ""


def _from_json_text(value: Any) -> Any:
    """The Pulumi runtime hands structured config as JSON text; YAML hands it parsed."""
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        try:
            return json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return value
    return value


def _suggest(word: str, candidates: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""``."""
    if not candidates:
        return ""
    camel = re.sub(r"[_-]([a-z])", lambda m: m.group(1).upper(), word)
    if camel in candidates and camel != word:
        return f"; did you mean '{camel}'?"
    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return f"; did you mean '{lowered[word.lower()]}'?"
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    if len(candidates) <= 6:
        return "; expected one of " + ", ".join(candidates)
    return ""


def _describe(value: Any) -> str:
    """A short description of a value for messages ("nothing", "a list", "'four'", "5.5")."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> str:
    """``2.0`` -> ``2``; other values as they print."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _key_path(loc: Sequence[int | str]) -> str:
    """``('permissions', 0, 'role')`` -> ``permissions[0].role``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_TYPE_NAMES = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "a string",
    "list": "a list",
    "model": "a mapping",
    "dict": "a mapping",
}


def _explain(err: Mapping[str, Any]) -> tuple[str, str]:
    """The key path and a human reason for one pydantic error."""
    loc: tuple[int | str, ...] = tuple(err["loc"])
    kind: str = err["type"]
    value = err.get("input")
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    key = _key_path(loc)
    if kind == "extra_forbidden":
        parent = next((str(p) for p in reversed(loc[:-1]) if isinstance(p, str)), "")
        candidates = _KEYS_BY_PARENT.get(parent, ())
        word = str(loc[-1])
        return key, f"unknown key {word!r}" + _suggest(word, candidates)
    if kind == "missing":
        return key, "required but missing"
    if kind == "int_from_float":
        return key, f"expected an integer, got {_describe(value)}"
    for prefix, noun in _TYPE_NAMES.items():
        if kind in (f"{prefix}_type", f"{prefix}_parsing"):
            return key, f"expected {noun}, got {_describe(value)}"
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("greater than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        words, name = bounds[kind]
        return key, f"must be {words} {_number(ctx.get(name))}, got {_describe(value)}"
    if kind == "string_too_long":
        length = len(value) if isinstance(value, str) else "more"
        return key, f"must be at most {ctx.get('max_length')} characters, got {length}"
    if kind == "literal_error":
        message = f"expected {ctx.get('expected')}, got {_describe(value)}"
        if loc and loc[-1] == "role" and value == "OWNER":
            message += "; a model's owner is set with owner: <email>"
        return key, message
    if kind == "value_error":
        return key, str(ctx.get("error", err.get("msg", "")))
    return key, str(err.get("msg", kind))


# -- JSON Schema ---------------------------------------------------------------------------------

_DESCRIPTIONS: dict[str, str] = {
    "displayName": "Name shown in the console, at most 40 characters (updatable in place).",
    "description": "Free text about the model (updatable in place).",
    "baseModel": "The model to tune, e.g. models/gemini-1.5-flash-001-tuning. "
    "Exactly one of baseModel or tunedModelSource. Changing it retrains.",
    "tunedModelSource": "Continue tuning from an existing tuned model. Changing it retrains.",
    "hyperparameters": "Tuning hyperparameters; unset ones get the service's defaults. "
    "Changing them retrains.",
    "dataset": "Training data file (.jsonl, .csv or .json), relative to the project root. "
    "Exactly one of dataset or examples. A changed file retrains.",
    "examples": "Inline training examples ({textInput, output}). Exactly one of dataset or examples.",
    "temperature": "Default sampling temperature, 0-2 (updatable in place).",
    "topP": "Default nucleus sampling probability, 0-1 (updatable in place).",
    "topK": "Default top-k sampling (updatable in place).",
    "timeout": "How long to wait for tuning: seconds or a duration such as 90s, 30m or 4h.",
    "wait": "Wait until the model is ACTIVE (true) or return once it is CREATING (false).",
    "adopt": "Take over an existing tuned model (tunedModels/<id>) instead of creating one.",
    "protect": "Refuse to delete or replace the model.",
    "retainOnDelete": "Leave the model on the service when it is removed from the stack.",
    "dependsOn": "Resource names of models in this stack to create first.",
    "permissions": "Who may use the model: {user|group: email, role: READER|WRITER} "
    "or {everyone: true, role: READER}.",
    "owner": "Transfer ownership of the model to this email address.",
}


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
    for key, text in _DESCRIPTIONS.items():
        props[key]["description"] = text
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
            KEY_ENDPOINT: {
                "description": "embedded (the in-process emulator), an http(s) URL, "
                "or absent for the public Gemini API.",
                "anyOf": [{"const": _EMBEDDED}, {"type": "string", "pattern": "^https?://"}],
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


def _main(argv: list[str] | None = None) -> int:
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


if __name__ == "__main__":
    sys.exit(_main())
