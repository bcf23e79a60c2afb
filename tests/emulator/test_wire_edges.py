"""Wire details a real client notices: whole floats, secrets in malformed URLs, bad int32s."""

from __future__ import annotations

from tests.emulator.conftest import Emu, model_body

SECRET = "NotARealKeyButLongEnough0123456789"


def test_whole_floats_are_printed_without_a_fraction(emu: Emu) -> None:
    done = emu.finish(emu.create(model_body("whole floats")))
    assert '"completedPercent":100,' in emu.call("GET", f"/v1/{done['name']}").text
    base = emu.call("GET", "/v1beta/models/gemini-1.5-flash-001-tuning")
    assert base.json()["temperature"] == 1 and '"temperature":1,' in base.text
    assert isinstance(base.json()["topP"], float)


def test_a_key_glued_to_any_query_value_is_never_echoed_or_journaled(emu: Emu) -> None:
    emu.admin("DELETE", "journal")
    for query in (f"page_size=5?key={SECRET}", f"filter=owner:me?key={SECRET}", f"page_size=x?key={SECRET}"):
        r = emu.call(
            "GET", f"/v1beta/tunedModels?{query}", key=None, headers={"Authorization": "Bearer some-token"}
        )
        assert SECRET not in r.text and SECRET.lower() not in r.text.lower()
    journal = emu.admin("GET", "journal").text
    assert SECRET not in journal and SECRET.lower() not in journal.lower()


def test_a_non_numeric_candidate_count_is_a_400_naming_the_field(emu: Emu) -> None:
    model = emu.active_model(model_body("candidates"))
    r = emu.call(
        "POST",
        f"/v1beta/{model['name']}:generateContent",
        json={"contents": [{"parts": [{"text": "1"}]}], "generationConfig": {"candidateCount": "x"}},
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == ("Invalid value at 'generation_config.candidate_count' (TYPE_INT32), \"x\"")


def test_a_top_level_field_violation_has_no_empty_field_name(emu: Emu) -> None:
    r = emu.call("POST", "/v1beta/tunedModels", content=b"{not json")
    assert r.status_code == 400
    violations = [v for d in r.json()["error"]["details"] for v in d.get("fieldViolations", [])]
    assert violations == [{"description": "Invalid JSON payload received. Unexpected token."}]
