"""End-to-end training: a generated catalog in seconds, the real photos when present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import dataset

ARTIFACTS = (
    "model.keras",
    "metrics.json",
    "history.csv",
    "curves.png",
    "confusion_matrix.png",
    "class_names.json",
    "config.json",
    "data_report.json",
    "samples.png",
    "errors.png",
    "split_train.json",
    "split_val.json",
    "split_test.json",
)


def test_run_folder_has_every_artifact(small_run: Path) -> None:
    for name in ARTIFACTS:
        assert (small_run / name).is_file() and (small_run / name).stat().st_size > 0, name


def test_generated_catalog_is_learned(small_run: Path) -> None:
    m = json.loads((small_run / "metrics.json").read_text())
    # four visually distinct shapes: far above the 0.25 of guessing
    assert m["accuracy"] >= 0.8, m["accuracy"]
    assert set(m["per_class"]) == {"bottle", "lamp", "mug", "shirt"}
    assert sum(map(sum, m["confusion_matrix"])) == m["n"]


def test_report_and_config_are_complete(small_run: Path) -> None:
    rep = json.loads((small_run / "data_report.json").read_text())
    assert rep["quarantined"] == 5 and all(q["reason"] for q in rep["quarantined_files"])
    cfg = json.loads((small_run / "config.json").read_text())
    assert cfg["data_fingerprint"] == rep["fingerprint"]
    assert cfg["train"]["seed"] == 42 and "keras" in cfg["package_versions"]
    splits = [
        json.loads((small_run / f"split_{s}.json").read_text()) for s in ("train", "val", "test")
    ]
    paths = [r["path"] for s in splits for r in s]
    assert len(paths) == len(set(paths)) == rep["kept"]


@pytest.mark.slow
@pytest.mark.dataset
def test_slash_products_reaches_090(tmp_path: Path) -> None:
    from trainer.train import TrainConfig, train

    data = dataset("slash-products")
    r = train(TrainConfig(data_dir=data, out=tmp_path / "run"))
    assert r.metrics["accuracy"] >= 0.9, r.metrics


@pytest.mark.slow
def test_ensemble_is_one_model_that_exports_faithfully(
    sample_catalog: Path, tmp_path: Path
) -> None:
    from exporter.export import export
    from models.store import ModelStore
    from trainer.train import TrainConfig, auto_ensemble, train

    r = train(
        TrainConfig(
            data_dir=sample_catalog, out=tmp_path / "run", image_size=32, epochs=3, ensemble=2
        )
    )
    assert r.metrics["epochs_run"] >= 2  # both members trained
    assert (tmp_path / "run" / "history_1.csv").is_file()
    e = export(tmp_path / "run", ModelStore(tmp_path / "store"), name="ens")
    assert e.parity["passed"] and e.parity["max_abs_diff"] <= 1e-4
    assert [auto_ensemble(n) for n in (100, 1499, 1500, 100_000)] == [3, 3, 1, 1]
