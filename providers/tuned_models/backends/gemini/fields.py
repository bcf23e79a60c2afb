"""The Gemini API backend's field table: what each field of a tuned model does on change.

The service marks ``baseModel``, ``tunedModelSource`` and ``tuningTask`` IMMUTABLE: changing them
(or the examples, which ``datasetDigest`` stands for) trains a new model. ``displayName``,
``description`` and the sampling defaults are PATCHed in place with an ``updateMask``.
Pure data: importing it loads no HTTP client.
"""

from __future__ import annotations

from tuned_models.model.fields import (
    COMMON_RULES,
    EXAMPLE_COUNT,
    EXAMPLES,
    OUTPUT,
    RETRAIN,
    SETTING,
    TRAINING_OUTPUTS,
    UPDATE,
    FieldTable,
    rule,
)

FIELDS = FieldTable(
    backend="gemini",
    name_template="tunedModels/{id}",
    rules=(
        *COMMON_RULES,
        rule("displayName", UPDATE, "Name shown in the console, at most 40 characters.", output=True),
        rule("description", UPDATE, "Free text about the model.", output=True),
        rule(
            "labels",
            SETTING,
            "Key/value labels (vertex backend only).",
            refused="labels are a Vertex AI setting; the Gemini API's tuned models have none",
        ),
        rule(
            "baseModel",
            RETRAIN,
            "The model to tune, e.g. models/gemini-1.5-flash-001-tuning. "
            "Exactly one of baseModel or tunedModelSource.",
            output=True,
        ),
        rule("tunedModelSource", RETRAIN, "Continue tuning from an existing tuned model.", output=True),
        rule(
            "hyperparameters",
            RETRAIN,
            "Tuning hyperparameters; unset ones get the service's defaults.",
            output=True,
            by_key=True,
            keys=("epochCount", "batchSize", "learningRate", "learningRateMultiplier"),
        ),
        rule(
            "dataset",
            RETRAIN,
            "Training data file (.jsonl, .csv or .json), relative to the project root. "
            "Exactly one of dataset or examples.",
            via="datasetDigest",
            change_note="retrain when the examples change",
        ),
        EXAMPLES,
        rule(
            "validationDataset",
            SETTING,
            "Validation data file (vertex backend only).",
            refused="the Gemini API takes no validation set (the vertex backend does)",
        ),
        rule("datasetDigest", RETRAIN, "The digest of the canonical examples.", declared=False, output=True),
        rule("validationDatasetDigest", SETTING, "Unused by the Gemini API.", declared=False),
        rule("validationExampleCount", SETTING, "Unused by the Gemini API.", declared=False),
        EXAMPLE_COUNT,
        rule("temperature", UPDATE, "Default sampling temperature, 0-2.", output=True),
        rule("topP", UPDATE, "Default nucleus sampling probability, 0-1.", output=True),
        rule("topK", UPDATE, "Default top-k sampling.", output=True),
        rule(
            "adopt",
            SETTING,
            "Take over an existing tuned model (tunedModels/<id>) instead of creating one.",
            replaces=True,
            change_note="replace if the adopted name changes",
        ),
        *TRAINING_OUTPUTS,
        rule("finalMeanLoss", OUTPUT),
        rule("operationName", OUTPUT, "The tuning operation, while it can still be cancelled."),
    ),
)
