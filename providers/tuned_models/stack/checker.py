"""The stack checker: a namespaced config map in, models, datasets and problems out.

:class:`Checker` accumulates the problems of one stack while it is parsed: the config keys
(:func:`tuned_models.config.read_connection` for the connection), ``tuned-models:defaults``
merged under each model, each model's spec, its examples, and ``dependsOn`` across models.
It never raises for bad input. See :mod:`tuned_models.stack` for the contract.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError, model_validator

from tuned_models.backends import checks_for, fields_for
from tuned_models.backends.checks import DatasetRead, DatasetRole, problem, spec_problems
from tuned_models.config import (
    CONFIG_KEYS,
    KEY_DEFAULTS,
    KEY_MODELS,
    NAMESPACE,
    read_connection,
)
from tuned_models.model.datasets import (
    DatasetError,
    DatasetInfo,
    dataset_path,
    dataset_problems,
    read_examples,
)
from tuned_models.model.problems import Problem, Severity, describe, suggest
from tuned_models.model.spec import (
    MAX_RESOURCE_NAME,
    RESOURCE_NAME_PATTERN,
    EvaluationDefaults,
    Example,
    ModelSpec,
)
from tuned_models.stack.explain import explain
from tuned_models.stack.loaded import LoadedStack

_RESOURCE_NAME_CHARS = (
    "use lowercase letters, digits and hyphens, starting with a letter and ending with a letter or digit"
)
_RESOURCE_NAME_LENGTH = (
    f"the limit is {MAX_RESOURCE_NAME}, so that the tunedModelId (the name, "
    "a stack tag and a digest) fits the service's 40"
)


class Checker:
    """Accumulates the problems of one stack while it is parsed."""

    def __init__(self, source: str, project_root: Path) -> None:
        self.source = source
        self.root = project_root
        self.problems: list[Problem] = []
        self._read_cache: dict[tuple[str, DatasetRole], DatasetRead] = {}
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
                    self.error("", key, "unknown config key" + suggest(key, CONFIG_KEYS))
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

        connection, findings = read_connection(config)
        for finding in findings:
            (self.warning if finding.warning else self.error)("", finding.key, finding.message)
        self.connection = connection
        self.fields = fields_for(connection.backend)
        self.checks = checks_for(connection.backend)
        defaults = self._defaults(_from_json_text(config.get(KEY_DEFAULTS)))
        raw_models = self._models_map(_from_json_text(config.get(KEY_MODELS)), quiet=misspelled_models)

        models: dict[str, ModelSpec] = {}
        datasets: dict[str, DatasetInfo] = {}
        validation: dict[str, DatasetInfo] = {}
        evaluations: dict[str, DatasetInfo] = {}
        for model_name, raw in raw_models.items():
            spec, merged = self._model(model_name, raw, defaults)
            infos = self._datasets(model_name, merged, spec)
            if spec is not None:
                models[model_name] = spec
                if DatasetRole.TRAINING in infos:
                    datasets[model_name] = infos[DatasetRole.TRAINING]
                if DatasetRole.VALIDATION in infos:
                    validation[model_name] = infos[DatasetRole.VALIDATION]
                gate = self._evaluation(model_name, spec)
                if gate is not None:
                    evaluations[model_name] = gate
        self._depends_on(raw_models, models)
        return LoadedStack(
            name=name,
            path=self.source,
            connection=connection,
            models=models,
            problems=self.problems,
            datasets=datasets,
            model_names=tuple(raw_models),
            validation_datasets=validation,
            evaluations=evaluations,
        )

    def _defaults(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error("", KEY_DEFAULTS, f"expected a mapping of model keys, got {describe(value)}")
            return {}
        cleaned = _strip_nulls(value)
        try:
            _DefaultsSpec.model_validate(cleaned)
        except ValidationError as e:
            bad: set[str] = set()
            for err in e.errors(include_url=False):
                key, message = explain(err)
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
                "", KEY_MODELS, f"expected a mapping of resource name to model spec, got {describe(value)}"
            )
            return {}
        if not value:
            self.warning("", KEY_MODELS, "no models declared")
        models: dict[str, Any] = {}
        for k, v in value.items():
            if isinstance(k, bool) or k is None:
                name = "null" if k is None else describe(k)
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
            self.error(name, "", f"expected a mapping of model keys, got {describe(raw)}")
            return None, {}
        merged = _strip_nulls(_deep_merge(defaults, raw))
        try:
            spec = ModelSpec.model_validate(merged)
        except ValidationError as e:
            for err in e.errors(include_url=False):
                key, message = explain(err)
                if err["type"] == "value_error":
                    message += _default_hint(tuple(err["loc"]), message, raw, defaults)
                self.error(name, key, message)
            return None, merged
        backend_problems = spec_problems(spec, self.fields, self.checks, self.connection)
        for p in backend_problems:
            self.problems.append(p.at(self.source, name, p.key))
        if any(p.severity is Severity.ERROR for p in backend_problems):
            return None, merged
        return (spec if valid_name else None), merged

    def _datasets(
        self, name: str, merged: Mapping[str, Any], spec: ModelSpec | None
    ) -> dict[DatasetRole, DatasetInfo]:
        """Read and check the model's datasets as its backend reads them; the info of those
        that can be read."""
        infos: dict[DatasetRole, DatasetInfo] = {}
        for role in DatasetRole:
            if role.value not in self.fields.accepted:
                continue
            if role is DatasetRole.TRAINING and spec is not None and spec.examples is not None:
                read = self.checks.inline(spec.examples)
                key = "examples"
            else:
                path = merged.get(role.value)
                if not isinstance(path, str):
                    continue
                read = self._read(path, role)
                key = role.value
            self.problems.extend(p.at(self.source, name, key) for p in read.problems)
            if read.info is not None:
                infos[role] = read.info
        if spec is not None:
            together = self.checks.together(
                infos.get(DatasetRole.TRAINING), infos.get(DatasetRole.VALIDATION)
            )
            self.problems.extend(p.at(self.source, name, p.key) for p in together)
        return infos

    def _evaluation(self, name: str, spec: ModelSpec) -> DatasetInfo | None:
        """Read and check the examples of the model's quality gate (``{textInput, output}``
        pairs, whatever the backend); None when it declares no gate or they cannot be read."""
        if spec.evaluation is None:
            return None
        key = "evaluation.examples"
        source = spec.evaluation.examples
        if isinstance(source, str):
            examples = self._read_examples(name, source, key)
            if examples is None:
                return None
            problems = dataset_problems(examples, training=False)
            self.problems.extend(p.at(self.source, name, key, f"{source}: ") for p in problems)
            return DatasetInfo.of(examples, source)
        problems = dataset_problems(source, training=False)
        self.problems.extend(p.at(self.source, name, key, "") for p in problems)
        return DatasetInfo.of(source, None)

    def _read_examples(self, name: str, path: str, key: str) -> list[Example] | None:
        """The ``{textInput, output}`` examples of a file, or None after reporting why not."""
        try:
            full = dataset_path(self.root, path)
            return read_examples(full)
        except DatasetError as e:
            message = str(e)
            prefix = str(self.root / path)
            if message.startswith(prefix):
                message = path + message[len(prefix) :]
            self.error(name, key, message)
        except OSError as e:
            self.error(name, key, f"{path}: cannot read ({e.strerror or e})")
        return None

    def _read(self, dataset: str, role: DatasetRole) -> DatasetRead:
        cached = self._read_cache.get((dataset, role))
        if cached is None:
            try:
                full = dataset_path(self.root, dataset)
            except DatasetError as e:
                cached = DatasetRead(None, (problem(role.value, str(e)),))
            else:
                cached = self.checks.read(full, dataset, role)
            self._read_cache[(dataset, role)] = cached
        return cached

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
                        f"no model named {dep!r} in this stack" + suggest(dep, sorted(declared - {name})),
                    )
        # Cycles among valid models, each reported once, on its first model in file order.
        graph = {n: [d for d in s.dependsOn if d in models and d != n] for n, s in models.items()}
        reported: set[frozenset[str]] = set()
        for start in graph:
            cycle = _find_cycle(graph, start)
            if cycle and frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                self.error(cycle[0], "dependsOn", "dependency cycle: " + " -> ".join([*cycle, cycle[0]]))


class _DefaultsSpec(ModelSpec):
    """``tuned-models:defaults``: a ModelSpec whose cross-field rules are checked per model."""

    # A default gate may leave out what each model adds (its examples, say).
    evaluation: EvaluationDefaults | None = None  # type: ignore[assignment]

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
