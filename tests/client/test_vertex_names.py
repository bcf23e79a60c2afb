"""tuned_models.vertex.names and .labels: hosts per location, resource names, identity labels."""

from __future__ import annotations

import pytest

from tuned_models.vertex.labels import (
    IDENTITY_KEYS,
    MAX_LABEL_LENGTH,
    has_labels,
    identity_labels,
    label_problems,
    label_value,
    labels_filter,
)
from tuned_models.vertex.names import location_of, operation_name, resource_name, service_base_url

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("location", "base"),
    [
        ("us-central1", "https://us-central1-aiplatform.googleapis.com"),
        ("europe-west4", "https://europe-west4-aiplatform.googleapis.com"),
        ("global", "https://aiplatform.googleapis.com"),
        ("us", "https://aiplatform.us.rep.googleapis.com"),
        ("eu", "https://aiplatform.eu.rep.googleapis.com"),
    ],
)
def test_each_location_has_its_host(location: str, base: str) -> None:
    assert service_base_url(location) == base


@pytest.mark.parametrize(
    "location",
    ["", "US-CENTRAL1", "us-central1.", "evil.com/x", "us central1", "us-central1-", "-us", "a" * 64],
)
def test_a_malformed_location_never_reaches_a_host_name(location: str) -> None:
    with pytest.raises(ValueError, match="invalid Vertex AI location"):
        service_base_url(location)


def test_resource_name_from_an_id_or_a_full_name() -> None:
    assert (
        resource_name("p", "us-central1", "tuningJobs", "123")
        == "projects/p/locations/us-central1/tuningJobs/123"
    )
    full = "projects/646763706049/locations/us/endpoints/987"
    assert resource_name("p", "us-central1", "endpoints", full) == full
    assert (
        resource_name("p", "us-central1", "models", "55@2") == "projects/p/locations/us-central1/models/55@2"
    )
    assert location_of(full) == "us"


@pytest.mark.parametrize(
    ("collection", "name"),
    [
        ("tuningJobs", ""),
        ("tuningJobs", "projects/p/locations/us-central1/models/1"),
        ("tuningJobs", "a/b"),
        ("tuningJobs", "1?x=y"),
        ("tuningJobs", "../1"),
        ("endpoints", "projects/p/locations/Bad/endpoints/1"),
    ],
)
def test_resource_name_refuses_other_shapes(collection: str, name: str) -> None:
    with pytest.raises(ValueError):
        resource_name("p", "us-central1", collection, name)


def test_operation_names_top_level_and_nested() -> None:
    for name in (
        "projects/p/locations/us-central1/operations/1",
        "projects/p/locations/us/endpoints/9/operations/2",
        "projects/p/locations/us-central1/models/5/operations/3",
    ):
        assert operation_name(name) == name
    with pytest.raises(ValueError):
        operation_name("projects/p/locations/us-central1/models/5")


# -- labels ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dev", "number-generator", "prod_2", "日本"])
def test_a_valid_label_value_is_kept(name: str) -> None:
    assert label_value(name) == name


def test_other_names_are_sanitised_and_never_collide() -> None:
    values = {label_value(name) for name in ("Dev", "dev", "DEV", "d.ev", "d-ev", "acme/tuned-models/dev")}
    assert len(values) == 6
    for value in values:
        assert label_problems({"k": value}, reserved=0) == []
    long = label_value("x" * 200)
    assert len(long) == MAX_LABEL_LENGTH and label_problems({"k": long}, reserved=0) == []
    assert label_value("Dev").startswith("dev-")


def test_identity_labels_carry_project_stack_resource_and_spec() -> None:
    labels = identity_labels(
        project="tuned-models",
        stack="Prod.EU",
        resource="number-generator",
        spec_digest=DIGEST,
        model_id="number-generator-1a2b3c4d5e6f",
    )
    assert tuple(labels) == IDENTITY_KEYS
    assert labels["tuned_models_project"] == "tuned-models"
    assert labels["tuned_models_resource"] == "number-generator"
    assert labels["tuned_models_spec"] == "0123456789abcdef" * 2
    assert labels["tuned_models_stack"].startswith("prod-eu-")
    assert labels["tuned_models_id"] == "number-generator-1a2b3c4d5e6f"
    assert label_problems(labels, reserved=0) == [
        f"label key {key!r}: keys starting with 'tuned_models_' are reserved" for key in IDENTITY_KEYS
    ]


@pytest.mark.parametrize("digest", ["", "sha256:xyz", "sha256:" + "0" * 31, "md5:abc"])
def test_identity_labels_need_a_sha256_digest(digest: str) -> None:
    with pytest.raises(ValueError, match="spec_digest"):
        identity_labels(project="p", stack="s", resource="r", spec_digest=digest, model_id="r-1a2b3c4d5e6f")


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"Team": "a"}, "label key 'Team' must start with a lowercase letter"),
        ({"1team": "a"}, "label key '1team' must start with a lowercase letter"),
        ({"": "a"}, "label key '' is empty"),
        ({"team": "A"}, "label 'team': the value contains 'A'"),
        ({"team": "a.b"}, "label 'team': the value contains '.'"),
        ({"team": "x" * 64}, "label 'team': the value has 64 characters; the limit is 63"),
        ({"k" * 64: "v"}, "has 64 characters"),
        ({"team": 3}, "label 'team': the value must be a string, got int"),
        ({"tuned_models_stack": "x"}, "reserved"),
        ({f"k{i}": "v" for i in range(60)}, "60 labels; at most 59"),
    ],
)
def test_label_problems(labels: dict[str, object], message: str) -> None:
    problems = label_problems(labels)
    assert problems and message in problems[0]


def test_good_labels_have_no_problems() -> None:
    assert label_problems({"team": "ml", "cost-center": "", "région": "île"}) == []


def test_labels_filter_and_has_labels() -> None:
    assert labels_filter({"b": "2", "a": 'x"y'}) == 'labels.a="x\\"y" AND labels.b="2"'
    assert has_labels({"a": "1", "b": "2"}, {"a": "1"})
    assert not has_labels({"a": "1"}, {"a": "1", "b": "2"})
    with pytest.raises(ValueError):
        labels_filter({"a b": "1"})
