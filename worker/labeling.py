"""Label a list of items: threaded decode overlapped with batched ONNX inference.

Plain functions, used by the Celery task, the in-process benchmark and tests.
Every item yields exactly one row: a label row or an error row with a kind.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.onnx_model import OnnxClassifier, top_k
from models.preprocessing import DEFAULT_MAX_PIXELS, ImageError, preprocess_bytes
from worker.fetch import FetchError, read_item

TOP_K = 3
ROW_FIELDS = ("id", "path", "label", "confidence", "top_k", "model_version", "error", "error_kind")


@dataclass(frozen=True)
class LabelOptions:
    batch_size: int = 64
    decode_threads: int = 2
    max_pixels: int = DEFAULT_MAX_PIXELS
    url_timeout_s: float = 10.0
    url_max_bytes: int = 50_000_000
    allow_private_urls: bool = False


class SessionCache:
    """ONNX Runtime sessions per process, keyed by model file, LRU-bounded.

    Created lazily inside the task, so after the pool forks: sessions are
    never shared across processes.
    """

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int], OnnxClassifier] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path, intra_op_threads: int) -> OnnxClassifier:
        key = (str(path), intra_op_threads)
        with self._lock:
            clf = self._items.get(key)
            if clf is not None:
                self._items.move_to_end(key)
                return clf
        clf = OnnxClassifier.load(path, intra_op_threads=intra_op_threads)
        with self._lock:
            self._items[key] = clf
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return clf


def _decode(
    path: str, size: tuple[int, int], opts: LabelOptions
) -> np.ndarray | FetchError | ImageError:
    try:
        data = read_item(path, opts.url_timeout_s, opts.url_max_bytes, opts.allow_private_urls)
        return preprocess_bytes(data, size, opts.max_pixels)
    except (FetchError, ImageError) as e:
        return e
    except Exception as e:  # never lose an item to an unexpected decoder bug
        return ImageError("corrupt", f"{type(e).__name__}: {e}")


def _batches(
    decoded: Iterator[np.ndarray | FetchError | ImageError], batch_size: int
) -> Iterator[list[tuple[int, np.ndarray | FetchError | ImageError]]]:
    batch: list[tuple[int, np.ndarray | FetchError | ImageError]] = []
    n_arrays = 0
    for i, d in enumerate(decoded):
        batch.append((i, d))
        n_arrays += isinstance(d, np.ndarray)
        if n_arrays >= batch_size:
            yield batch
            batch, n_arrays = [], 0
    if batch:
        yield batch


def label_items(
    items: Sequence[tuple[str, str]],
    clf: OnnxClassifier,
    model_version: str,
    opts: LabelOptions = LabelOptions(),
) -> list[dict[str, Any]]:
    """(id, path) items -> one row each, in input order."""
    size = clf.input_size
    names = clf.card.class_names
    rows: list[dict[str, Any]] = [{} for _ in items]
    # Pillow and file I/O release the GIL, ORT releases it while running:
    # decode threads fill the next batch while the current one is inferred.
    with ThreadPoolExecutor(max_workers=max(1, opts.decode_threads)) as pool:
        decoded = pool.map(lambda it: _decode(it[1], size, opts), items)
        for batch in _batches(decoded, opts.batch_size):
            good = [(i, d) for i, d in batch if isinstance(d, np.ndarray)]
            if good:
                probs = clf.predict(np.stack([d for _, d in good]))
                best = top_k(probs, names, TOP_K)
                for (i, _), tk in zip(good, best, strict=True):
                    rows[i] = label_row(items[i], tk, model_version)
            for i, d in batch:
                if isinstance(d, (FetchError, ImageError)):
                    rows[i] = error_row(items[i], d.kind, d.reason)
    return rows


def label_row(item: tuple[str, str], tk: list[tuple[str, float]], version: str) -> dict[str, Any]:
    return {
        "id": item[0],
        "path": item[1],
        "label": tk[0][0],
        "confidence": round(tk[0][1], 6),
        "top_k": [[lbl, round(p, 6)] for lbl, p in tk],
        "model_version": version,
        "error": None,
        "error_kind": None,
    }


def error_row(item: tuple[str, str], kind: str, reason: str) -> dict[str, Any]:
    return {
        "id": item[0],
        "path": item[1],
        "label": None,
        "confidence": None,
        "top_k": None,
        "model_version": None,
        "error": reason,
        "error_kind": kind,
    }


def count(rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """(labeled, failed)."""
    ok = err = 0
    for r in rows:
        if r.get("error_kind"):
            err += 1
        else:
            ok += 1
    return ok, err


def dumps_rows(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"))
