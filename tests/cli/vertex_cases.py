"""The bad specs of the vertex backend (and the reverse: Vertex AI's keys under gemini), one per
stack file of ``tests/cli/vertex_corpus/stacks``: what ``tuned-models validate`` prints for each
(tests/cli/test_validate_vertex.py) and what the provider's ``check`` reports for the same spec,
through the real provider process, with no call to the service (tests/engine/test_vertex_check.py).

Each case is a valid one-model stack with one thing wrong (config keys included). Datasets too
big to check in are written at test time by :func:`corpus` into a copy of the corpus: a
validation set of 5,001 examples, 1,001 validation examples for 1,000 training ones, and a
sparse dataset file of just over 1 GB (no disk is used for its zeros).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.harness import PROVIDER_KEY
from tuned_models.backends import checks_for
from tuned_models.backends.checks import DIGEST_INPUTS, DatasetRole, dataset_file

CORPUS = Path(__file__).resolve().parent / "vertex_corpus"
ONE_GB = 1_000_000_000


@dataclass(frozen=True)
class VertexCase:
    """One broken stack: ``lines`` are its problem lines after ``stacks/Pulumi.<stack>.yaml:``.

    ``checked``: the provider's ``check`` sees the bad value (False for a config key, which the
    provider's ``configure`` refuses before any resource is checked, and for sharing, which is
    no resource input); ``same_words``: the check's reason carries validate's message (False
    where pydantic words a type error its own way).
    """

    stack: str
    lines: tuple[str, ...]
    checked: bool = True
    same_words: bool = True

    @property
    def file(self) -> str:
        return f"stacks/Pulumi.{self.stack}.yaml"

    @property
    def key(self) -> str:
        """The key path of the (first) problem: ``hyperparameters.adapterSize``."""
        return self.lines[0].split(": ", 1)[0].removeprefix("counter:")

    @property
    def messages(self) -> tuple[str, ...]:
        """The problem lines' messages (after ``model:key: ``)."""
        return tuple(line.split(": ", 1)[1] for line in self.lines)


_NO_SHARING = (
    "Vertex AI has no per-model sharing: grant roles/aiplatform.user on the project to who may use the model"
)
_SAMPLING = "a Gemini API setting; Vertex AI takes sampling parameters with each request"
_VERTEX_HYPER = "it takes epochCount, learningRateMultiplier, adapterSize"
_ADAPTER = "(the service answers: The adapter size is not supported for this base model.)"

CASES: tuple[VertexCase, ...] = (
    VertexCase(
        "temperature",
        (f"counter:temperature: the vertex backend does not take temperature: {_SAMPLING}",),
    ),
    VertexCase("top-k", (f"counter:topK: the vertex backend does not take topK: {_SAMPLING}",)),
    VertexCase(
        "permissions",
        (f"counter:permissions: the vertex backend does not take permissions: {_NO_SHARING}",),
        checked=False,
    ),
    VertexCase(
        "owner", (f"counter:owner: the vertex backend does not take owner: {_NO_SHARING}",), checked=False
    ),
    VertexCase(
        "tuned-model-source",
        (
            "counter:tunedModelSource: the vertex backend does not take tunedModelSource: continuous "
            "tuning on Vertex AI is not supported yet; declare a baseModel",
        ),
    ),
    VertexCase(
        "adopt",
        (
            "counter:adopt: the vertex backend does not take adopt: taking over an existing Vertex AI "
            "model is not supported yet",
        ),
    ),
    VertexCase(
        "batch-size",
        (
            "counter:hyperparameters.batchSize: the vertex backend does not take "
            f"hyperparameters.batchSize; {_VERTEX_HYPER}",
        ),
    ),
    VertexCase(
        "learning-rate",
        (
            "counter:hyperparameters.learningRate: the vertex backend does not take "
            f"hyperparameters.learningRate; {_VERTEX_HYPER}",
        ),
    ),
    VertexCase(
        "gemini-base-model",
        (
            "counter:baseModel: expected a Vertex AI model id such as gemini-2.5-flash, got "
            "'models/gemini-1.5-flash-001-tuning'; models/<id> names the Gemini API's models",
        ),
    ),
    VertexCase(
        "adapter-size-pro",
        (
            "counter:hyperparameters.adapterSize: gemini-2.5-pro takes adapter sizes 1, 2, 4, 8, "
            f"not 16 {_ADAPTER}",
        ),
    ),
    VertexCase(
        "adapter-size-32",
        (
            "counter:hyperparameters.adapterSize: gemini-2.5-flash takes adapter sizes 1, 2, 4, 8, 16, "
            f"not 32 {_ADAPTER}",
        ),
    ),
    VertexCase(
        "adapter-size-3",
        ("counter:hyperparameters.adapterSize: expected one of 1, 2, 4, 8, 16, 32, got 3",),
    ),
    VertexCase(
        "gemini-3-region",
        (
            "counter:baseModel: gemini-3.5-flash is tuned only in us-central1 and europe-west4, not "
            "us-east1 (tuned-models:vertex.location)",
        ),
    ),
    VertexCase("label-uppercase", ("counter:labels: label key 'Team' must start with a lowercase letter",)),
    VertexCase(
        "label-reserved",
        ("counter:labels: label key 'tuned_models_stack': keys starting with 'tuned_models_' are reserved",),
    ),
    VertexCase("label-number", ("counter:labels.tier: expected a string, got 1",), same_words=False),
    VertexCase(
        "too-many-labels",
        ("counter:labels: 60 labels; at most 59 (the service allows 64, 5 are the product's own)",),
    ),
    VertexCase(
        "display-name-too-long",
        ("counter:displayName: must be at most 128 characters, got 129",),
        same_words=False,
    ),
    VertexCase(
        "contents-role",
        (
            "counter:dataset: datasets/bad-role.jsonl:42: contents[1].role must be 'user' or "
            "'model', got 'assistant'",
        ),
    ),
    VertexCase(
        "contents-last-user",
        (
            "counter:dataset: datasets/ends-with-user.jsonl:7: the last turn must be the model's "
            "(it is what the model learns to answer)",
        ),
    ),
    VertexCase(
        "contents-not-alternating",
        (
            "counter:dataset: datasets/not-alternating.jsonl:10: contents[2].role is 'model' "
            "again; turns must alternate user and model",
        ),
    ),
    VertexCase(
        "contents-empty-text",
        (
            "counter:dataset: datasets/empty-text.jsonl:12: contents[1].parts[0].text must be a "
            "non-empty string",
        ),
    ),
    VertexCase(
        "mixed-formats",
        (
            "counter:dataset: datasets/mixed-formats.jsonl:51: one of textInput/output examples "
            "in a file of contents records; use one format a file",
        ),
    ),
    VertexCase(
        "invalid-json",
        (
            "counter:dataset: datasets/invalid-line.jsonl:20: invalid JSON (Expecting property "
            "name enclosed in double quotes)",
        ),
    ),
    VertexCase(
        "validation-bad",
        (
            "counter:validationDataset: datasets/validation-bad.jsonl:6: contents must be a "
            "non-empty list of turns",
        ),
    ),
    VertexCase(
        "validation-outside",
        (
            "counter:validationDataset: ../validation.jsonl: outside the project (after resolving .. "
            "and symlinks); keep datasets under the project root, e.g. in stacks/datasets/",
        ),
    ),
    VertexCase(
        "validation-too-many",
        (
            "counter:validationDataset: datasets/validation-5001.jsonl: 5001 validation examples; the "
            "service allows at most 5000",
        ),
    ),
    VertexCase(
        "validation-share",
        (
            "counter:validationDataset: datasets/validation-1001.jsonl: 1001 validation examples is more "
            "than 30% of the 1000 training examples; a validation set of over 1,000 examples may hold "
            "at most 30% of the training set",
        ),
    ),
    VertexCase(
        "dataset-over-1gb",
        (
            f"counter:dataset: datasets/huge.jsonl: {ONE_GB + 1} bytes; the service reads at most "
            f"{ONE_GB} bytes (1 GB): split the dataset",
        ),
    ),
    VertexCase(
        "no-bucket",
        (
            "tuned-models:vertex.bucket: required by the vertex backend: gs://BUCKET[/PREFIX], where "
            "datasets are uploaded (named by their digest)",
        ),
        checked=False,
    ),
    VertexCase(
        "bucket-not-gs",
        ("tuned-models:vertex.bucket: expected gs://BUCKET[/PREFIX], got 'corpus-bucket'",),
        checked=False,
    ),
    VertexCase(
        "location-global",
        (
            "tuned-models:vertex.location: tuning jobs run in a region (e.g. us-central1, europe-west4), "
            "not 'global'",
        ),
        checked=False,
    ),
    VertexCase(
        "api-key",
        (
            "tuned-models:apiKey: Vertex AI takes no API key: it authenticates with OAuth "
            "(GOOGLE_OAUTH_ACCESS_TOKEN, or application default credentials); remove the key from this stack",
        ),
        checked=False,
    ),
    VertexCase(
        "vertex-unknown-key",
        (
            "tuned-models:vertex.buckt: unknown key 'buckt'; did you mean 'bucket'?",
            "tuned-models:vertex.bucket: required by the vertex backend: gs://BUCKET[/PREFIX], where "
            "datasets are uploaded (named by their digest)",
        ),
        checked=False,
    ),
    # The reverse: Vertex AI's keys under the gemini backend.
    VertexCase(
        "gemini-labels",
        (
            "counter:labels: the gemini backend does not take labels: labels are a Vertex AI setting; "
            "the Gemini API's tuned models have none",
        ),
    ),
    VertexCase(
        "gemini-validation",
        (
            "counter:validationDataset: the gemini backend does not take validationDataset: the Gemini "
            "API takes no validation set (the vertex backend does)",
        ),
    ),
    VertexCase(
        "gemini-adapter-size",
        (
            "counter:hyperparameters.adapterSize: the gemini backend does not take "
            "hyperparameters.adapterSize; it takes epochCount, batchSize, learningRate, "
            "learningRateMultiplier",
        ),
    ),
    VertexCase(
        "gemini-vertex-settings",
        (
            "tuned-models:vertex: applies to the vertex backend only; this stack's backend is gemini "
            "(set tuned-models:backend: vertex, or remove it)",
        ),
        checked=False,
    ),
    VertexCase(
        "gemini-vertex-base-model",
        (
            "counter:baseModel: expected models/<id>, e.g. models/gemini-1.5-flash-001-tuning, got "
            "'gemini-2.5-flash'",
        ),
    ),
)


def _conversations(first: int, count: int) -> str:
    rows = (
        {
            "contents": [
                {"role": "user", "parts": [{"text": str(i)}]},
                {"role": "model", "parts": [{"text": str(i + 1)}]},
            ]
        }
        for i in range(first, first + count)
    )
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)


def corpus(where: Path) -> Path:
    """A copy of the corpus at ``where`` (a project root: ``Pulumi.yaml``, ``stacks/``,
    ``datasets/``) with the datasets that are written at test time."""
    shutil.copytree(CORPUS, where)
    (where / "Pulumi.yaml").write_text("name: tuned-models\nruntime: python\n", encoding="utf-8")
    data = where / "datasets"
    (data / "validation-5001.jsonl").write_text(_conversations(0, 5001), encoding="utf-8")
    (data / "training-1000.jsonl").write_text(_conversations(0, 1000), encoding="utf-8")
    (data / "validation-1001.jsonl").write_text(_conversations(5000, 1001), encoding="utf-8")
    with (data / "huge.jsonl").open("wb") as f:
        f.truncate(ONE_GB + 1)  # sparse: its size is what is checked first
    (where.parent / "validation.jsonl").write_text(_conversations(0, 10), encoding="utf-8")
    return where


def stack_config(root: Path, case: VertexCase) -> dict[str, Any]:
    """The ``config`` of a case's stack file."""
    config: dict[str, Any] = yaml.safe_load((root / case.file).read_text(encoding="utf-8"))["config"]
    return config


def provider_inputs(root: Path, case: VertexCase, stack: str, provider: str) -> dict[str, Any]:
    """The resource inputs of a case's model as a program would send them, bad value included,
    without the stack checker that would have refused them (the library API or another program)."""
    config = stack_config(root, case)
    spec = {k: v for k, v in config["tuned-models:models"]["counter"].items() if v is not None}
    backend = config.get("tuned-models:backend", "gemini")
    inputs = {
        "project": "tuned-models",
        "stack": stack,
        "resourceName": "counter",
        "backend": backend,
        **spec,
        **_digest(root, backend, spec, DatasetRole.TRAINING, "0"),
        PROVIDER_KEY: provider,
    }
    if "validationDataset" in spec:
        inputs.update(_digest(root, backend, spec, DatasetRole.VALIDATION, "1"))
    return inputs


def _digest(root: Path, backend: str, spec: dict[str, Any], role: DatasetRole, filler: str) -> dict[str, Any]:
    """The digest and count inputs of a dataset, as the program would send them: the backend's
    digest when the file can be read at all, else a made-up one (the check refuses the file)."""
    path = spec.get(role.value)
    data = dataset_file(checks_for(backend), root, path, role, None) if isinstance(path, str) else None
    info = data.info if data is not None else None
    digest, count = (info.digest, info.count) if info is not None else ("sha256:" + filler * 64, 100)
    counts = {DatasetRole.TRAINING: "exampleCount", DatasetRole.VALIDATION: "validationExampleCount"}
    return {DIGEST_INPUTS[role]: digest, counts[role]: count}
