"""Retraining: train, export (parity-gated), evaluate on the pinned set, gate,
promote or refuse. Used by `catalog retrain` and the `retrain` Celery task.

The evaluation set is pinned at a model's first version: that run's test split
is copied into the store (`<name>/evalset/`) and excluded, by content hash,
from every later training run, so candidates and champion are always compared
on the same images that neither was trained on.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import CatalogError
from models.gate import Decision, EvalMetrics, GatePolicy, decide
from models.preprocessing import preprocess_file
from models.store import ModelRef, ModelStore

log = logging.getLogger(__name__)

EVALSET = "evalset"


@dataclass
class RetrainResult:
    name: str
    version: str
    promoted: bool
    decision: Decision
    run_dir: Path
    champion: str | None  # after the decision


def _status(run_dir: Path, state: str, **extra: Any) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    payload = {"state": state, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **extra}
    (run_dir / "status.json").write_text(json.dumps(payload, indent=2))


def evalset_dir(store: ModelStore, name: str) -> Path:
    return store.root / name / EVALSET


def pin_evalset(store: ModelStore, name: str, run_dir: Path) -> int:
    """Copy a run's test split into the store as the name's evaluation set."""
    target = evalset_dir(store, name)
    if (target / "index.json").is_file():
        return 0
    rows = json.loads((run_dir / "split_test.json").read_text())
    staging = target.with_name(f".{EVALSET}-staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    index = []
    for r in rows:
        src = Path(r["path"])
        dest = f"{r['sha256']}{src.suffix.lower()}"
        shutil.copy2(src, staging / dest)
        index.append({"file": dest, "label": r["label"], "sha256": r["sha256"], "source": str(src)})
    (staging / "index.json").write_text(json.dumps(index, indent=1))
    staging.rename(target)
    return len(index)


def load_evalset(store: ModelStore, name: str) -> list[dict[str, str]]:
    p = evalset_dir(store, name) / "index.json"
    return json.loads(p.read_text()) if p.is_file() else []


def evaluate(ref: ModelRef, evalset: list[dict[str, str]], folder: Path) -> dict[str, Any]:
    """Metrics of a stored ONNX model on the evaluation set (no TF needed)."""
    from models.onnx_model import OnnxClassifier
    from trainer.report import classification_metrics

    clf = OnnxClassifier.load(ref.onnx)
    names = clf.card.class_names
    index = {c: i for i, c in enumerate(names)}
    rows = [r for r in evalset if r["label"] in index]
    x = np.stack([preprocess_file(folder / r["file"], clf.input_size) for r in rows])
    probs = np.concatenate([clf.predict(x[i : i + 64]) for i in range(0, len(x), 64)])
    y = np.array([index[r["label"]] for r in rows])
    return classification_metrics(y, probs, names)


def retrain(
    name: str,
    data_dir: Path,
    store: ModelStore,
    policy: GatePolicy | None = None,
    train_overrides: dict[str, Any] | None = None,
) -> RetrainResult:
    """One retraining run. A crash anywhere leaves the champion untouched and
    the run marked failed (status.json and a `retrain-failed` decision)."""
    from exporter.export import export
    from trainer.train import TrainConfig, train

    if not Path(data_dir).is_dir():
        raise CatalogError(f"retrain data folder {data_dir} does not exist")
    run_id = time.strftime("%Y%m%d-%H%M%S") + f"-{int(time.time() * 1000) % 1000:03d}"
    run_dir = store.root / name / "runs" / run_id
    _status(run_dir, "running", data=str(data_dir))
    before = store.champion(name)
    try:
        evalset = load_evalset(store, name)
        cfg = TrainConfig(
            data_dir=Path(data_dir),
            out=run_dir,
            exclude_hashes=[r["sha256"] for r in evalset],
            **(train_overrides or {}),
        )
        train(cfg)
        if not evalset:
            pin_evalset(store, name, run_dir)
            evalset = load_evalset(store, name)
        result = export(run_dir, store, name=name)
        folder = evalset_dir(store, name)
        cand = evaluate(result.ref, evalset, folder)
        champ = evaluate(before, evalset, folder) if before else None
        decision = decide(
            EvalMetrics.from_report(cand),
            EvalMetrics.from_report(champ) if champ else None,
            policy or GatePolicy(),
        )
        figures = {**decision.figures, "run": str(run_dir), "evalset_images": len(evalset)}
        if decision.promote:
            store.promote(
                name, result.ref.version, reason="; ".join(decision.reasons), figures=figures
            )
        else:
            store.record(
                name,
                {
                    "action": "refuse",
                    "from": before.version if before else None,
                    "to": before.version if before else None,
                    "candidate": result.ref.version,
                    "reason": "; ".join(decision.reasons),
                    "figures": figures,
                },
            )
        state = "promoted" if decision.promote else "refused"
        _status(run_dir, state, version=result.ref.version, reasons=decision.reasons)
        after = store.champion(name)
        return RetrainResult(
            name,
            result.ref.version,
            decision.promote,
            decision,
            run_dir,
            after.version if after else None,
        )
    except BaseException as e:
        _status(
            run_dir,
            "failed",
            error=f"{type(e).__name__}: {e}",
            traceback=traceback.format_exc(limit=5),
        )
        store.root.joinpath(name).mkdir(parents=True, exist_ok=True)
        store.record(
            name,
            {
                "action": "retrain-failed",
                "from": None,
                "to": None,
                "reason": f"{type(e).__name__}: {e}",
                "run": str(run_dir),
            },
        )
        raise
