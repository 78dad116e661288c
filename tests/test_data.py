"""Scanning, quarantine, de-duplication and the split: pure logic, no TF."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from trainer.data import DataError, fingerprint, load, scan, stratified_split


def test_scan_handles_spaces_and_case(tmp_path: Path) -> None:
    for c in ("Home Decorations", "clothes"):
        (tmp_path / c).mkdir()
        (tmp_path / c / "a.jpg").write_bytes(b"x")
    (tmp_path / ".hidden").mkdir()
    classes, items = scan(tmp_path)
    assert classes == ["Home Decorations", "clothes"]
    assert len(items) == 2


def test_scan_needs_two_classes(tmp_path: Path) -> None:
    (tmp_path / "only").mkdir()
    with pytest.raises(DataError, match="at least two"):
        scan(tmp_path)


def test_load_quarantines_every_broken_file_with_a_reason(sample_catalog: Path) -> None:
    ds = load(sample_catalog, (32, 32))
    kinds = Counter(q["reason"].split(":")[0] for q in ds.quarantined)
    assert kinds == Counter(["truncated", "empty", "not_image", "too_large", "corrupt"])
    assert len(ds.paths) + len(ds.quarantined) + len(ds.duplicates) == ds.scanned
    assert ds.x.shape == (len(ds.paths), 32, 32, 3) and ds.x.dtype == np.uint8
    rep = ds.report()
    assert sum(rep["quarantined_per_class"].values()) == 5  # type: ignore[attr-defined]


def test_exact_duplicates_are_dropped_and_conflicts_quarantined(
    sample_catalog: Path, tmp_path: Path
) -> None:
    cat = tmp_path / "c"
    shutil.copytree(sample_catalog, cat)
    first = sorted((cat / "mug").glob("0000*"))[0]
    shutil.copy(first, cat / "mug" / "copy_of_first.jpg")  # same class: a duplicate
    shutil.copy(first, cat / "lamp" / "mislabeled.jpg")  # other class: a conflict
    ds = load(cat, (32, 32))
    assert len(set(ds.hashes)) == len(ds.hashes)  # no content twice
    assert not any(p.endswith("copy_of_first.jpg") for p in ds.paths)
    conflicts = [q for q in ds.quarantined if q["reason"].startswith("conflicting_labels")]
    assert len(conflicts) == 3  # original, same-class copy and the mislabeled copy


def test_trainer_arrays_equal_single_image_preprocessing(sample_catalog: Path) -> None:
    from models.preprocessing import preprocess_file

    ds = load(sample_catalog, (48, 48), threads=3)
    for i in range(0, len(ds.paths), 17):
        assert np.array_equal(ds.x[i], preprocess_file(ds.paths[i], (48, 48)))


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_split_is_stratified_deterministic_and_a_partition(seed: int) -> None:
    y = [0] * 100 + [1] * 40 + [2] * 7 + [3] * 3
    a = stratified_split(y, (0.7, 0.15, 0.15), seed)
    b = stratified_split(y, (0.7, 0.15, 0.15), seed)
    assert a == b
    tr, va, te = a
    assert sorted(tr + va + te) == list(range(len(y)))  # partition: no leak, no loss
    for cls, n in ((0, 100), (1, 40)):
        assert Counter(y[i] for i in te)[cls] == round(n * 0.15)
    for cls in (2, 3):  # small classes still appear in val and test
        assert Counter(y[i] for i in te)[cls] >= 1
        assert Counter(y[i] for i in va)[cls] >= 1


def test_split_changes_with_seed() -> None:
    y = [0] * 50 + [1] * 50
    assert stratified_split(y, (0.7, 0.15, 0.15), 0) != stratified_split(y, (0.7, 0.15, 0.15), 1)


def test_split_rejects_bad_fractions() -> None:
    with pytest.raises(ValueError):
        stratified_split([0, 1], (0.5, 0.3, 0.3), 0)


def test_fingerprint_ignores_order_but_not_labels() -> None:
    assert fingerprint(["a", "b"], ["x", "y"]) == fingerprint(["b", "a"], ["y", "x"])
    assert fingerprint(["a", "b"], ["x", "y"]) != fingerprint(["a", "b"], ["y", "x"])
