"""The deterministic ids: their shape, the stack tag, and ids made under the old scheme."""

from __future__ import annotations

import re

from tuned_models.model.ids import is_legacy_id, parse_id, stack_tag, tuned_model_id
from tuned_models.model.spec import TUNED_MODEL_ID_PATTERN

SPEC = {"baseModel": "models/gemini-1.5-flash-001-tuning", "datasetDigest": "sha256:" + "a" * 64}


def test_an_id_is_the_resource_an_8_character_tag_and_a_5_character_digest_in_base_36() -> None:
    longest = "a" * 26
    model_id = tuned_model_id("tuned-models", "prod", longest, SPEC)
    assert len(model_id) == 40 and TUNED_MODEL_ID_PATTERN.match(model_id)
    assert re.fullmatch(r"a{26}-[0-9a-z]{13}", model_id)
    parsed = parse_id(f"tunedModels/{model_id}")
    assert parsed is not None
    assert (parsed.resource, parsed.tag) == (longest, stack_tag("tuned-models", "prod"))


def test_the_tag_depends_on_project_and_stack_and_the_digest_on_the_training_spec() -> None:
    a = tuned_model_id("tuned-models", "dev", "numbers", SPEC)
    assert tuned_model_id("tuned-models", "dev", "numbers", dict(SPEC)) == a
    assert tuned_model_id("tuned-models", "prod", "numbers", SPEC)[8:16] != a[8:16]
    assert tuned_model_id("other-project", "dev", "numbers", SPEC)[8:16] != a[8:16]
    retrained = tuned_model_id(
        "tuned-models", "dev", "numbers", {**SPEC, "datasetDigest": "sha256:" + "b" * 64}
    )
    assert retrained[:16] == a[:16] and retrained != a


def test_stacks_that_shared_the_old_4_hex_tag_no_longer_share_one() -> None:
    # pr-41 and pr-56 shared the tag 588f (the first collision among pr-0, pr-1, ...).
    assert stack_tag("tuned-models", "pr-41") != stack_tag("tuned-models", "pr-56")


def test_ids_of_the_old_scheme_are_recognised_and_not_parsed() -> None:
    assert is_legacy_id("tunedModels/number-generator-25bfbdd240f3")
    assert parse_id("number-generator-25bfbdd240f3") is None
    new = tuned_model_id("tuned-models", "local", "number-generator", SPEC)
    assert not is_legacy_id(new) and parse_id(new) is not None
    assert not is_legacy_id("hand-made")
