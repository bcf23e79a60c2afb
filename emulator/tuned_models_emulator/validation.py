"""The Gemini API's request rules that need no store: ids, examples, hyperparameters, sampling and
update masks. Each check raises :class:`~tuned_models_emulator.errors.InvalidArgument` naming the
field, as the service does."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from tuned_models_emulator.codec import json_text
from tuned_models_emulator.errors import InvalidArgument
from tuned_models_emulator.records import BaseModel, Hyperparameters
from tuned_models_emulator.routes import Call
from tuned_models_emulator.training import total_steps
from tuned_models_emulator.wire import camel, normalize

#: Datasets with at least this many examples get the "large dataset" hyperparameter defaults.
LARGE_DATASET_EXAMPLES = 500
MAX_DISPLAY_NAME = 40
MAX_INPUT_CHARS = 40_000
MAX_OUTPUT_CHARS = 5_000
MAX_TOTAL_STEPS = 2**31 - 1
TUNED_MODEL_ID = re.compile(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?")


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


#: The fields UpdateTunedModel may change: wire name -> (record field, conversion of the value).
MUTABLE_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "displayName": ("display_name", lambda value: str(value or "")),
    "description": ("description", lambda value: str(value or "")),
    "temperature": ("temperature", _optional(float)),
    "topP": ("top_p", _optional(float)),
    "topK": ("top_k", _optional(int)),
    "readerProjectNumbers": ("reader_project_numbers", lambda value: tuple(int(v) for v in value or ())),
}


def slug(display_name: str) -> str:
    """The id prefix the service derives from a displayName.

    Lowercased; runs of spaces and hyphens become one hyphen; other characters are dropped
    (``test_number_generator`` -> ``testnumbergenerator``); starts with a letter; at most 27
    characters so that ``-`` and a 12-character suffix fit the 40-character id limit.
    """
    text = re.sub(r"[\s\-]+", "-", display_name.lower())
    text = re.sub(r"[^a-z0-9-]", "", text)
    text = re.sub(r"-+", "-", text).strip("-")
    text = re.sub(r"^[^a-z]+", "", text)
    return text[:27].rstrip("-")


def parse_examples(task: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The training examples of a TuningTask; raises InvalidArgument naming the first bad one."""
    examples: list[dict[str, Any]] = ((task.get("trainingData") or {}).get("examples") or {}).get(
        "examples"
    ) or []
    if not examples:
        raise InvalidArgument(
            "tuning_task.training_data.examples.examples is required: give at least one example."
        )
    for index, example in enumerate(examples):
        where = f"tuning_task.training_data.examples.examples[{index}]"
        if example.get("output") is None:
            raise InvalidArgument(f"{where}.output is required.")
        if "textInput" not in example:
            raise InvalidArgument(f"{where}.text_input is required.")
        if len(example["textInput"]) > MAX_INPUT_CHARS:
            raise InvalidArgument(f"Example {index}: text_input is longer than {MAX_INPUT_CHARS} characters.")
        if len(example["output"]) > MAX_OUTPUT_CHARS:
            raise InvalidArgument(f"Example {index}: output is longer than {MAX_OUTPUT_CHARS} characters.")
    return examples


def parse_hyperparameters(raw: Mapping[str, Any], n: int, version: str) -> Hyperparameters:
    """Hyperparameters with the defaults of the API version and dataset size (``n`` examples)
    applied; raises InvalidArgument for a oneof violation or a value that is not positive."""
    large = n >= LARGE_DATASET_EXAMPLES
    if version == "v1beta3":
        epochs, batch, rate = 10, (64 if large else 16), (0.002 if large else 0.0002)
    else:
        epochs, batch, rate = 5, (16 if large else 4), (0.0002 if large else 0.001)
    if "learningRate" in raw and "learningRateMultiplier" in raw:
        raise InvalidArgument(
            "Only one of learning_rate and learning_rate_multiplier may be set (oneof learning_rate_option)."
        )
    if "learningRateMultiplier" in raw and version == "v1beta3":
        raise InvalidArgument(
            'Invalid JSON payload received. Unknown name "learning_rate_multiplier" at '
            "'tuned_model.tuning_task.hyperparameters': Cannot find field."
        )
    epoch_count = int(raw["epochCount"]) if "epochCount" in raw else epochs
    batch_size = int(raw["batchSize"]) if "batchSize" in raw else batch
    if epoch_count <= 0:
        raise InvalidArgument("tuning_task.hyperparameters.epoch_count must be positive.")
    if batch_size <= 0:
        raise InvalidArgument("tuning_task.hyperparameters.batch_size must be positive.")
    multiplier: float | None = None
    if "learningRate" in raw:
        learning_rate = float(raw["learningRate"])
    elif "learningRateMultiplier" in raw:
        multiplier = float(raw["learningRateMultiplier"])
        learning_rate = multiplier * rate
    else:
        learning_rate = rate
    if not 0 < learning_rate < math.inf:
        suffix = "_multiplier" if multiplier is not None else ""
        raise InvalidArgument(
            f"tuning_task.hyperparameters.learning_rate{suffix} must be positive and finite."
        )
    return Hyperparameters(epoch_count, batch_size, learning_rate, multiplier)


def check_sampling(values: Mapping[str, Any], max_temperature: float) -> None:
    temperature = values.get("temperature")
    if temperature is not None and not 0.0 <= float(temperature) <= max_temperature:
        raise InvalidArgument(f"temperature must be in [0.0, {max_temperature:g}], got {temperature}.")
    top_p = values.get("topP")
    if top_p is not None and not 0.0 <= float(top_p) <= 1.0:
        raise InvalidArgument(f"top_p must be in [0.0, 1.0], got {top_p}.")
    top_k = values.get("topK")
    if top_k is not None and int(top_k) < 0:
        raise InvalidArgument(f"top_k must not be negative, got {top_k}.")


def parse_sampling(body: Mapping[str, Any], base: BaseModel) -> tuple[float, float, int]:
    """temperature, topP, topK: as given, else the base model's."""
    check_sampling(body, base.max_temperature or 1.0)
    temperature, top_p, top_k = body.get("temperature"), body.get("topP"), body.get("topK")
    return (
        base.temperature if temperature is None else float(temperature),
        base.top_p if top_p is None else float(top_p),
        base.top_k if top_k is None else int(top_k),
    )


def update_paths(call: Call, body: Mapping[str, Any]) -> list[str]:
    """The wire names an UpdateTunedModel changes: its ``updateMask``, or (v1beta, v1alpha only)
    the mutable fields present in the body."""
    mask_text = call.query.get("updateMask")
    if mask_text is None or mask_text.strip() == "":
        if call.version == "v1beta3":
            raise InvalidArgument("update_mask is required.")
        return [f for f in MUTABLE_FIELDS if f in body]
    paths: list[str] = []
    for path in (p.strip() for p in mask_text.split(",")):
        if not path:
            continue
        name = ".".join(camel(part) for part in path.split("."))
        if name not in MUTABLE_FIELDS or (name == "readerProjectNumbers" and call.version == "v1beta3"):
            raise InvalidArgument(
                f"Invalid update mask path: {path!r} cannot be updated. Updatable fields are "
                "display_name, description, temperature, top_p, top_k and reader_project_numbers.",
            )
        paths.append(name)
    return paths


@dataclass(frozen=True, slots=True)
class TuningRequest:
    """A CreateTunedModel body, checked: what the handler needs to decide the rest in the store."""

    body: dict[str, Any]
    display_name: str
    examples_json: str
    n_examples: int
    hyperparameters: Hyperparameters


def prepare_create(call: Call) -> Call:
    """The CreateTunedModel call with its body checked and turned into a :class:`TuningRequest`
    (normalized, examples validated and encoded for the store, hyperparameter defaults applied).

    Raises InvalidArgument naming the first bad field.
    """
    body = normalize("TunedModel", call.body, "tuned_model")
    display_name = str(body.get("displayName") or "")
    if len(display_name) > MAX_DISPLAY_NAME:
        raise InvalidArgument(
            f"display_name must be at most {MAX_DISPLAY_NAME} characters, got {len(display_name)}."
        )
    task = body.get("tuningTask")
    if not task:
        raise InvalidArgument("tuning_task is required.")
    examples = parse_examples(task)
    hyper = parse_hyperparameters(task.get("hyperparameters") or {}, len(examples), call.version)
    steps = total_steps(len(examples), hyper.epoch_count, hyper.batch_size)
    if steps > MAX_TOTAL_STEPS:
        raise InvalidArgument(
            f"tuning_task would take {steps} steps (examples x epoch_count / batch_size); at most "
            f"{MAX_TOTAL_STEPS} are possible, as totalSteps is an int32."
        )
    stored = [{"textInput": e.get("textInput", ""), "output": e.get("output", "")} for e in examples]
    request = TuningRequest(body, display_name, json_text(stored), len(examples), hyper)
    return replace(call, body=request)
