"""The Vertex AI backend's field table: what each field of a tuned model does on change.

A tuning job has no update call and the service chooses its id, so every field that reaches the
job retrains (a new job, create before delete); the model it produces is patched in place for
``displayName``, ``description`` and ``labels`` (Model Registry ``models.patch``). The Gemini
API's own keys (sampling defaults, continuous tuning from a ``tunedModels/`` name, ``adopt``,
sharing) are refused. Pure data: importing it loads no HTTP client.
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

#: The hyperparameters a Vertex AI supervised tuning job takes for Gemini models.
HYPERPARAMETERS: tuple[str, ...] = ("epochCount", "learningRateMultiplier", "adapterSize")

_GEMINI_API_ONLY = "a Gemini API setting; Vertex AI takes sampling parameters with each request"
_NO_SHARING = (
    "Vertex AI has no per-model sharing: grant roles/aiplatform.user on the project to who may use the model"
)

FIELDS = FieldTable(
    backend="vertex",
    name_template=None,
    deletes="its endpoints and its model; the tuning job stays, as Vertex AI keeps every job",
    rules=(
        *(r for r in COMMON_RULES if r.name not in ("permissions", "owner")),
        rule(
            "permissions",
            SETTING,
            "Who may use the model (gemini backend only).",
            input=False,
            change_note="per grant",
            refused=_NO_SHARING,
        ),
        rule(
            "owner",
            SETTING,
            "Transfer ownership of the model (gemini backend only).",
            input=False,
            change_note="per grant",
            refused=_NO_SHARING,
        ),
        rule(
            "displayName",
            UPDATE,
            "Name of the tuned model in the Model Registry, at most 128 characters.",
            output=True,
        ),
        rule("description", UPDATE, "Free text about the model.", output=True),
        rule(
            "labels",
            UPDATE,
            "Key/value labels on the tuning job, its model and endpoints (lowercase keys and values, "
            "at most 59; keys starting with tuned_models_ are reserved).",
            output=True,
        ),
        rule(
            "baseModel",
            RETRAIN,
            "The Gemini model to tune, e.g. gemini-2.5-flash.",
            output=True,
        ),
        rule(
            "tunedModelSource",
            SETTING,
            "Continue tuning from an existing tuned model (gemini backend only).",
            refused="continuous tuning on Vertex AI is not supported yet; declare a baseModel",
        ),
        rule(
            "hyperparameters",
            RETRAIN,
            "Tuning hyperparameters (epochCount, learningRateMultiplier, adapterSize 1-32); unset ones "
            "get the service's defaults.",
            output=True,
            by_key=True,
            keys=HYPERPARAMETERS,
        ),
        rule(
            "dataset",
            RETRAIN,
            "Training data file (.jsonl, .csv or .json; {textInput, output} examples or Vertex AI's "
            "contents records), relative to the project root. Exactly one of dataset or examples.",
            via="datasetDigest",
            change_note="retrain when the examples change",
        ),
        EXAMPLES,
        rule(
            "validationDataset",
            RETRAIN,
            "Validation data file (as dataset; at most 5,000 examples), relative to the project root.",
            via="validationDatasetDigest",
            change_note="retrain when its examples change",
        ),
        rule(
            "datasetDigest",
            RETRAIN,
            "The digest of the contents JSONL uploaded for training (its name in the bucket).",
            declared=False,
            output=True,
        ),
        rule(
            "validationDatasetDigest",
            RETRAIN,
            "The digest of the contents JSONL uploaded for validation.",
            declared=False,
            output=True,
        ),
        EXAMPLE_COUNT,
        rule(
            "validationExampleCount",
            SETTING,
            "How many examples the validation set has.",
            declared=False,
            output=True,
        ),
        rule(
            "temperature",
            SETTING,
            "Default sampling temperature (gemini backend only).",
            refused=_GEMINI_API_ONLY,
        ),
        rule("topP", SETTING, "Default nucleus sampling (gemini backend only).", refused=_GEMINI_API_ONLY),
        rule("topK", SETTING, "Default top-k sampling (gemini backend only).", refused=_GEMINI_API_ONLY),
        rule(
            "adopt",
            SETTING,
            "Take over an existing tuned model (gemini backend only).",
            replaces=True,
            refused="taking over an existing Vertex AI model is not supported yet",
        ),
        rule("tuningJob", OUTPUT, "The tuning job (it stays on the service: jobs cannot be deleted)."),
        rule("model", OUTPUT, "The Model Registry model the job produced, projects/.../models/M@VERSION."),
        rule("endpoint", OUTPUT, "The endpoint serving the model (generateContent goes there)."),
        rule("checkpoints", OUTPUT, "Each checkpoint: checkpointId, epoch, step and its endpoint."),
        rule("trainingDatasetUri", OUTPUT, "The gs:// URI of the uploaded training JSONL."),
        rule("validationDatasetUri", OUTPUT, "The gs:// URI of the uploaded validation JSONL."),
        rule("tuningExampleCount", OUTPUT, "Examples the service counted in the training data."),
        rule(
            "billableTokens",
            OUTPUT,
            "Billable tokens of one pass over the training data (x epochs is billed).",
        ),
        rule("tuningSteps", OUTPUT, "Training steps."),
        *TRAINING_OUTPUTS,
        rule("error", OUTPUT, "The service's message when the job failed or was cancelled."),
    ),
)
