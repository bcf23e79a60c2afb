"""The Pulumi project on disk: its root and its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuned_models.project import find_project_root, project_name


def test_find_project_root_walks_up_to_pulumi_yaml(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: x\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == tmp_path.resolve()


def test_find_project_root_without_pulumi_yaml_is_the_start(tmp_path: Path) -> None:
    assert find_project_root(tmp_path) == tmp_path.resolve()


def test_find_project_root_defaults_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: x\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert find_project_root() == tmp_path.resolve()


def test_project_name_comes_from_pulumi_yaml(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: my-project\nruntime: python\n")
    assert project_name(tmp_path) == "my-project"
