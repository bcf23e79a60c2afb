"""tuned_models.gemini.types: the recorded responses parse into the typed models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from tuned_models.gemini import (
    GenerateContentResponse,
    GranteeType,
    Model,
    Operation,
    Permission,
    Role,
    TunedModel,
    TunedModelState,
)

# Recorded (seeds/001): the create answer, with only name and metadata.
CREATE_ANSWER = {
    "name": "tunedModels/number-generator-model-dzlmi0gswwqb/operations/bvl8dymw0fhw",
    "metadata": {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.CreateTunedModelMetadata",
        "totalSteps": 38,
        "tunedModel": "tunedModels/number-generator-model-dzlmi0gswwqb",
    },
}

# Recorded (seeds/000): a listed model, snapshots without epoch, nanosecond timestamps.
LISTED_MODEL = {
    "name": "tunedModels/testnumbergenerator-fvitocr834l6",
    "baseModel": "models/text-bison-001",
    "displayName": "test_number_generator",
    "state": "ACTIVE",
    "createTime": "2023-09-18T11:06:39.092786Z",
    "updateTime": "2023-09-18T11:07:24.198359Z",
    "tuningTask": {
        "startTime": "2023-09-18T11:06:39.461814784Z",
        "completeTime": "2023-09-18T11:07:24.198359Z",
        "snapshots": [
            {"step": 1, "meanLoss": 16.613504, "computeTime": "2023-09-18T11:06:44.532937624Z"},
            {
                "step": 2,
                "epoch": 1,
                "meanLoss": 20.299532,
                "computeTime": "2023-09-18T11:06:47.825134421Z",
            },
        ],
        "hyperparameters": {"epochCount": 10, "batchSize": 16, "learningRate": 0.02},
    },
    "temperature": 0.7,
    "topP": 0.95,
    "topK": 40,
}

# Recorded (seeds/001): generateContent on a tuned model.
GENERATE_ANSWER = {
    "candidates": [
        {
            "content": {"parts": [{"text": "LXIV"}], "role": "model"},
            "finishReason": "STOP",
            "index": 0,
            "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}],
        }
    ],
    "promptFeedback": {"safetyRatings": []},
}


def test_create_answer_parses_as_a_pending_operation() -> None:
    operation = Operation.model_validate(CREATE_ANSWER)
    assert operation.done is False
    assert operation.response is None and operation.error is None
    assert operation.metadata is not None and operation.metadata.totalSteps == 38
    assert operation.tuned_model_name == "tunedModels/number-generator-model-dzlmi0gswwqb"


def test_operation_without_metadata_names_its_model_from_its_name() -> None:
    operation = Operation.model_validate({"name": "tunedModels/a-b/operations/xyz"})
    assert operation.tuned_model_name == "tunedModels/a-b"


def test_finished_operation_carries_the_model_or_the_error() -> None:
    done = Operation.model_validate(
        {
            "name": "tunedModels/m/operations/o",
            "done": True,
            "metadata": {
                "completedSteps": 38,
                "completedPercent": 100,
                "snapshots": [
                    {
                        "step": 19,
                        "epoch": 5,
                        "meanLoss": 1.402067,
                        "computeTime": "2024-03-14T15:11:23.766989274Z",
                    }
                ],
            },
            "response": {
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.TunedModel",
                **LISTED_MODEL,
            },
        }
    )
    assert done.response is not None and done.response.state is TunedModelState.ACTIVE
    assert done.metadata is not None
    snapshot = done.metadata.snapshots[-1]
    assert snapshot.computeTime == datetime(2024, 3, 14, 15, 11, 23, 766989, tzinfo=UTC)
    failed = Operation.model_validate(
        {
            "name": "tunedModels/m/operations/o",
            "done": True,
            "error": {"code": 13, "message": "Tuning failed at 50%."},
        }
    )
    assert failed.error is not None and failed.error.message == "Tuning failed at 50%."


def test_listed_model_parses_with_defaults_for_missing_fields() -> None:
    model = TunedModel.model_validate(LISTED_MODEL)
    assert model.id == "testnumbergenerator-fvitocr834l6"
    assert model.state is TunedModelState.ACTIVE
    assert model.tuningTask is not None and model.tuningTask.hyperparameters is not None
    assert model.tuningTask.hyperparameters.epochCount == 10
    assert model.tuningTask.snapshots[0].epoch == 0
    assert model.description is None and model.readerProjectNumbers == []
    assert model.source_base_model == "models/text-bison-001"


def test_models_are_frozen_and_ignore_unknown_fields() -> None:
    model = TunedModel.model_validate({"name": "tunedModels/x", "brandNewField": 1})
    with pytest.raises(ValidationError):
        model.displayName = "changed"  # type: ignore[misc]


def test_reader_project_numbers_are_int64_strings_on_the_wire() -> None:
    model = TunedModel.model_validate({"name": "tunedModels/x", "readerProjectNumbers": ["42"]})
    assert model.readerProjectNumbers == [42]


def test_enums_accept_names_and_numbers() -> None:
    assert TunedModel.model_validate({"name": "tunedModels/x", "state": 1}).state == "CREATING"
    by_number = Permission.model_validate(
        {"name": "tunedModels/x/permissions/p", "granteeType": 3, "role": 3}
    )
    by_name = Permission.model_validate(
        {"name": "tunedModels/x/permissions/p", "granteeType": "EVERYONE", "role": "READER"}
    )
    assert by_number == by_name
    assert by_name.granteeType is GranteeType.EVERYONE and by_name.role is Role.READER


def test_generate_content_text_is_the_first_candidate_joined() -> None:
    answer = GenerateContentResponse.model_validate(GENERATE_ANSWER)
    assert answer.text == "LXIV"
    two_parts = GenerateContentResponse.model_validate(
        {"candidates": [{"content": {"parts": [{"text": "a"}, {"text": "b"}]}}, {}]}
    )
    assert two_parts.text == "ab"
    assert GenerateContentResponse.model_validate({}).text == ""


def test_base_model_entry_knows_whether_it_is_tunable() -> None:
    model = Model.model_validate(
        {
            "name": "models/gemini-1.5-flash-001-tuning",
            "inputTokenLimit": 16384,
            "outputTokenLimit": 8192,
            "supportedGenerationMethods": ["generateContent", "countTokens", "createTunedModel"],
            "temperature": 1,
            "topP": 0.95,
            "topK": 64,
            "maxTemperature": 2,
        }
    )
    assert model.tunable and model.topK == 64
