"""The stack checker: a namespaced config map in, models, datasets and problems out.

:class:`Checker` accumulates the problems of one stack while it is parsed: the config keys
(:func:`tuned_models.config.read_connection` for the connection), ``tuned-models:defaults``
merged under each model, each model's spec, its examples, and ``dependsOn`` across models.
It never raises for bad input. See :mod:`tuned_models.stack` for the contract.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError, model_validator

from tuned_models.backends import checks_for, fields_for
from tuned_models.backends.checks import DatasetRole, check_datasets, dataset_file, spec_problems
from tuned_models.config import (
    CONFIG_KEYS,
    KEY_DEFAULTS,
    KEY_MODELS,
    NAMESPACE,
    read_connection,
)
from tuned_models.model.cache import ScanCache, project_cache
from tuned_models.model.datasets import (
    EVALUATION_KEY,
    CheckedExamples,
    DatasetInfo,
    evaluation_data,
)
from tuned_models.model.desired import source_of
from tuned_models.model.problems import Problem, Severity, describe, suggest
from tuned_models.model.spec import MAX_RESOURCE_NAME, RESOURCE_NAME_PATTERN, EvaluationDefaults, ModelSpec
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

    def __init__(self, source: str, project_root: Path, cache: ScanCache | None = None) -> None:
        self.source = source
        self.root = project_root
        self.cache = cache if cache is not None else project_cache(project_root)
        self.problems: list[Problem] = []
        # Each examples file is checked once per stack (and key), however many models name it.
        self._checked: dict[tuple[str, str], CheckedExamples] = {}
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
        """Check the model's datasets as its backend reads them (its inline examples, or the
        files the stack file names, also when the spec itself is not valid); the info of those
        that could be read."""
        checked = check_datasets(spec, merged, self.fields, self.checks, self._read)
        self.problems.extend(p.at(self.source, name, p.key) for p in checked.problems)
        return checked.datasets

    def _evaluation(self, name: str, spec: ModelSpec) -> DatasetInfo | None:
        """Check the examples of the model's quality gate like a dataset's (``{textInput,
        output}`` pairs whatever the backend, the same streaming scan and cache, no recommended
        size); the info of those that could be read."""
        if spec.evaluation is None:
            return None
        source = spec.evaluation.examples
        if isinstance(source, str):
            data = self._file(
                source, EVALUATION_KEY, lambda: evaluation_data(spec, self.root, cache=self.cache)
            )
        else:
            data = evaluation_data(spec, self.root)
        self.problems.extend(p.at(self.source, name, data.key) for p in data.problems)
        return data.info

    def _read(self, path: str, role: DatasetRole) -> CheckedExamples:
        return self._file(
            path, role.value, lambda: dataset_file(self.checks, self.root, path, role, self.cache)
        )

    def _file(self, path: str, key: str, check: Callable[[], CheckedExamples]) -> CheckedExamples:
        """The check of an examples file, made once per stack however many models name it."""
        checked = self._checked.get((path, key))
        if checked is None:
            checked = check()
            self._checked[(path, key)] = checked
        return checked

    # -- across models -----------------------------------------------------------------------

    def _depends_on(self, raw_models: Mapping[str, Any], models: Mapping[str, ModelSpec]) -> None:
        """``dependsOn`` and ``tunedModelSource.model`` name other models of this stack, and
        the two together make no cycle."""
        declared = set(raw_models)
        for name, spec in models.items():
            refs = [(f"dependsOn[{i}]", dep) for i, dep in enumerate(spec.dependsOn)]
            source = source_of(spec)
            if source is not None:
                refs.append(("tunedModelSource.model", source))
            for key, dep in refs:
                if dep == name:
                    what = "be tuned from" if key == "tunedModelSource.model" else "depend on"
                    self.error(name, key, f"a model cannot {what} itself")
                elif dep not in declared:
                    self.error(
                        name,
                        key,
                        f"no model named {dep!r} in this stack" + suggest(dep, sorted(declared - {name})),
                    )
        # Cycles among valid models, each reported once, on its first model in file order.
        graph = {
            n: [d for d in [*s.dependsOn, source_of(s)] if d is not None and d in models and d != n]
            for n, s in models.items()
        }
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
