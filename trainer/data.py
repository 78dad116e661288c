"""From a folder of class sub-folders to clean, de-duplicated, split arrays.

Every file either becomes a training example or lands in the data report with
the reason it was quarantined; nothing stops the run.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.errors import CatalogError
from models.preprocessing import DEFAULT_MAX_PIXELS, ImageError, preprocess_bytes

# Files larger than this are quarantined unread (a catalog photo is < 20 MB).
MAX_FILE_BYTES = 50_000_000


@dataclass(frozen=True)
class Item:
    path: Path
    label: str


@dataclass
class Dataset:
    """Decoded, de-duplicated examples plus the report of what was dropped."""

    x: np.ndarray  # (N, H, W, 3) uint8
    y: np.ndarray  # (N,) int64 class indices
    paths: list[str]
    hashes: list[str]
    class_names: list[str]
    quarantined: list[dict[str, str]] = field(default_factory=list)
    duplicates: list[dict[str, str]] = field(default_factory=list)
    excluded: list[dict[str, str]] = field(default_factory=list)  # pinned eval images
    scanned: int = 0

    def report(self) -> dict[str, object]:
        counts = Counter(self.class_names[i] for i in self.y.tolist())
        q_counts = Counter(q["class"] for q in self.quarantined)
        return {
            "scanned": self.scanned,
            "kept": len(self.paths),
            "quarantined": len(self.quarantined),
            "duplicates_dropped": len(self.duplicates),
            "excluded_eval_images": len(self.excluded),
            "kept_per_class": {c: counts.get(c, 0) for c in self.class_names},
            "quarantined_per_class": {c: q_counts.get(c, 0) for c in self.class_names},
            "quarantined_files": self.quarantined,
            "duplicate_files": self.duplicates,
            "excluded_files": self.excluded,
            "fingerprint": fingerprint(self.hashes, [self.class_names[i] for i in self.y]),
        }


class DataError(CatalogError):
    """The data folder as a whole is unusable (e.g. fewer than two classes)."""


def scan(data_dir: Path) -> tuple[list[str], list[Item]]:
    """One sub-folder per class; names may have spaces and any case.

    Returns class names in index order (sorted, so the order is stable) and
    every regular file below each class folder, recursively. Paths are
    absolute, so split files stay valid from any working directory.
    """
    data_dir = Path(data_dir).resolve()
    classes = sorted(
        p.name for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    if len(classes) < 2:
        raise DataError(
            f"{data_dir} needs at least two class sub-folders, found {len(classes)}"
            + (f" ({classes[0]!r})" if classes else "")
        )
    items = [
        Item(p, c)
        for c in classes
        for p in sorted((data_dir / c).rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    ]
    return classes, items


def _read_one(
    item: Item, size: tuple[int, int], max_pixels: int
) -> tuple[str, np.ndarray | None, str]:
    """(sha256, array or None, reason)."""
    try:
        nbytes = item.path.stat().st_size
        if nbytes > MAX_FILE_BYTES:
            return "", None, f"too_large: {nbytes} bytes exceeds {MAX_FILE_BYTES}"
        data = item.path.read_bytes()
    except OSError as e:
        return "", None, f"io_error: {e}"
    digest = hashlib.sha256(data).hexdigest()
    try:
        return digest, preprocess_bytes(data, size, max_pixels), ""
    except ImageError as e:
        return digest, None, str(e)


def load(
    data_dir: Path,
    size: tuple[int, int],
    max_pixels: int = DEFAULT_MAX_PIXELS,
    threads: int = 4,
    exclude: frozenset[str] = frozenset(),
) -> Dataset:
    """Scan, decode with the shared preprocessing function, quarantine, dedupe.

    Files whose sha256 is in `exclude` (a pinned evaluation set) are left out
    and listed in the report, so they are never trained on.
    """
    class_names, items = scan(data_dir)
    index = {c: i for i, c in enumerate(class_names)}
    # Pillow releases the GIL while decoding, so threads overlap well.
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        decoded = list(pool.map(lambda it: _read_one(it, size, max_pixels), items))

    quarantined: list[dict[str, str]] = []
    excluded: list[dict[str, str]] = []
    by_hash: dict[str, list[int]] = defaultdict(list)
    for i, (item, (digest, arr, reason)) in enumerate(zip(items, decoded, strict=True)):
        if digest and digest in exclude:
            excluded.append({"path": str(item.path), "class": item.label, "sha256": digest})
        elif arr is None:
            quarantined.append({"path": str(item.path), "class": item.label, "reason": reason})
        else:
            by_hash[digest].append(i)

    keep: list[int] = []
    duplicates: list[dict[str, str]] = []
    for digest, idxs in by_hash.items():
        labels = {items[i].label for i in idxs}
        first = idxs[0]
        if len(labels) > 1:
            # The same photo under two classes: no way to know which is right.
            for i in idxs:
                quarantined.append(
                    {
                        "path": str(items[i].path),
                        "class": items[i].label,
                        "reason": f"conflicting_labels: same content in {sorted(labels)}",
                    }
                )
            continue
        keep.append(first)
        for i in idxs[1:]:
            duplicates.append(
                {
                    "path": str(items[i].path),
                    "class": items[i].label,
                    "duplicate_of": str(items[first].path),
                    "sha256": digest,
                }
            )
    keep.sort()
    size_hw = (size[0], size[1], 3)
    x = np.empty((len(keep), *size_hw), dtype=np.uint8)
    for j, i in enumerate(keep):
        arr = decoded[i][1]
        assert arr is not None  # kept items decoded by construction
        x[j] = arr
    y = np.array([index[items[i].label] for i in keep], dtype=np.int64)
    if len(set(y.tolist())) < 2:
        raise DataError(f"{data_dir}: fewer than two classes have a readable image")
    return Dataset(
        x=x,
        y=y,
        paths=[str(items[i].path) for i in keep],
        hashes=[decoded[i][0] for i in keep],
        class_names=class_names,
        quarantined=quarantined,
        duplicates=duplicates,
        excluded=excluded,
        scanned=len(items),
    )


def fingerprint(hashes: Sequence[str], labels: Sequence[str]) -> str:
    """Order-independent hash of (content, label) pairs: same data, same print."""
    h = hashlib.sha256()
    for digest, label in sorted(zip(hashes, labels, strict=True)):
        h.update(f"{digest}\t{label}\n".encode())
    return "sha256:" + h.hexdigest()


def stratified_split(
    y: Sequence[int], fractions: tuple[float, float, float], seed: int
) -> tuple[list[int], list[int], list[int]]:
    """Seeded per-class split into (train, val, test) index lists.

    Each class contributes round(n * fraction) items to val and test, but at
    least one to each when it has three or more items, so small classes are
    still evaluated. Indices are returned sorted; the split is a partition.
    """
    if not np.isclose(sum(fractions), 1.0) or min(fractions) < 0:
        raise ValueError(f"split fractions must be >= 0 and sum to 1, got {fractions}")
    _, f_val, f_test = fractions
    rng = np.random.default_rng(seed)
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    by_class: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(y):
        by_class[int(c)].append(i)
    for c in sorted(by_class):
        idxs = np.array(by_class[c])
        rng.shuffle(idxs)
        n = len(idxs)
        n_test = round(n * f_test)
        n_val = round(n * f_val)
        if n >= 3:
            n_test = max(n_test, 1 if f_test > 0 else 0)
            n_val = max(n_val, 1 if f_val > 0 else 0)
        n_test = min(n_test, n)
        n_val = min(n_val, n - n_test)
        test += idxs[:n_test].tolist()
        val += idxs[n_test : n_test + n_val].tolist()
        train += idxs[n_test + n_val :].tolist()
    return sorted(train), sorted(val), sorted(test)


def write_split(run_dir: Path, ds: Dataset, splits: dict[str, list[int]]) -> None:
    """File lists per split, so evaluation can be reproduced from the run alone."""
    for name, idxs in splits.items():
        rows = [
            {"path": ds.paths[i], "label": ds.class_names[int(ds.y[i])], "sha256": ds.hashes[i]}
            for i in idxs
        ]
        (run_dir / f"split_{name}.json").write_text(json.dumps(rows, indent=1))
