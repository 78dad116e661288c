"""Write merged result rows as CSV, JSONL or Parquet (streamed), and read them back."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from models.errors import CatalogError
from worker.labeling import ROW_FIELDS

FORMATS = (".csv", ".jsonl", ".parquet")


def _fmt(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise CatalogError(
            f"unknown result format {suffix!r} for {path}: use .csv, .jsonl or .parquet"
        )
    return suffix


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """CSV and Parquet keep top_k as a JSON string; JSONL keeps the list."""
    out = dict(row)
    out["top_k"] = json.dumps(row["top_k"]) if row.get("top_k") is not None else None
    return out


def write_rows(rows: Iterable[dict[str, Any]], path: Path) -> int:
    """Stream rows into `path` (written to a temp name, then renamed). Returns count."""
    path = Path(path)
    fmt = _fmt(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    n = 0
    try:
        if fmt == ".csv":
            with tmp.open("w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=ROW_FIELDS)
                w.writeheader()
                for r in rows:
                    w.writerow(_flat(r))
                    n += 1
        elif fmt == ".jsonl":
            with tmp.open("w") as f:
                for r in rows:
                    f.write(json.dumps(r) + "\n")
                    n += 1
        else:
            n = _write_parquet(rows, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return n


def _write_parquet(rows: Iterable[dict[str, Any]], path: Path, batch: int = 10_000) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("id", pa.string()),
            ("path", pa.string()),
            ("label", pa.string()),
            ("confidence", pa.float64()),
            ("top_k", pa.string()),
            ("model_version", pa.string()),
            ("error", pa.string()),
            ("error_kind", pa.string()),
        ]
    )
    n = 0
    with pq.ParquetWriter(path, schema) as w:
        buf: list[dict[str, Any]] = []
        for r in rows:
            buf.append(_flat(r))
            if len(buf) >= batch:
                w.write_table(pa.Table.from_pylist(buf, schema=schema))
                n += len(buf)
                buf = []
        if buf or n == 0:
            w.write_table(pa.Table.from_pylist(buf, schema=schema))
            n += len(buf)
    return n


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows back as dicts with top_k as a list (None for error rows)."""
    path = Path(path)
    fmt = _fmt(path)
    if fmt == ".jsonl":
        with path.open() as f:
            for line in f:
                yield json.loads(line)
        return
    if fmt == ".csv":
        with path.open(newline="") as f:
            for r in csv.DictReader(f):
                row: dict[str, Any] = {k: (v if v != "" else None) for k, v in r.items()}
                if row["confidence"] is not None:
                    row["confidence"] = float(row["confidence"])
                row["top_k"] = json.loads(row["top_k"]) if row["top_k"] else None
                yield row
        return
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches():
        for r in batch.to_pylist():
            r["top_k"] = json.loads(r["top_k"]) if r["top_k"] else None
            yield r
