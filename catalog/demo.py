"""`make demo`: the whole product on generated catalogs, start to finish.

Generate a labeled catalog, train, export (parity-checked), promote, then label
2,000 freshly generated images through Redis and Celery workers (embedded
unless CATALOG_BROKER_URL is set) and score the result against the truth.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

from models.settings import Settings, get_settings


def run_demo(workdir: Path, echo: Callable[[str], None] = print) -> None:
    from catalog.samples import generate
    from exporter.export import export
    from models.store import ModelStore
    from trainer.train import TrainConfig, train
    from worker.results_io import read_rows
    from worker.run import label_catalog

    workdir = Path(workdir)
    if workdir.exists():
        shutil.rmtree(workdir)  # the demo is deterministic: start clean
    train_dir, fresh_dir = workdir / "train-data", workdir / "catalog"
    settings: Settings = get_settings().model_copy(update={"model_store": workdir / "model-store"})
    store = ModelStore(settings.model_store)

    echo(f"1/5 generating a labeled training catalog in {train_dir}")
    s = generate(train_dir, per_class=60, broken=5, seed=1)
    echo(f"    {s.images} images in {len(s.classes)} classes + {s.broken} broken files")

    run_dir = workdir / "run"
    echo(f"2/5 training at 64 px ({run_dir})")
    result = train(
        TrainConfig(
            data_dir=train_dir, out=run_dir, image_size=64, epochs=25, patience=6, ensemble=1
        )
    )
    echo(f"    test accuracy {result.metrics['accuracy']:.3f} after {result.epochs_run} epochs")

    echo("3/5 exporting to ONNX (checker + parity gate) and promoting")
    exp = export(run_dir, store, name="demo")
    store.promote("demo", exp.ref.version, reason="demo")
    echo(
        f"    {exp.ref.label}: max |diff| vs Keras {exp.parity['max_abs_diff']:.1e}, "
        f"top-1 agreement {exp.parity['top1_agreement']:.0%}"
    )

    echo(f"4/5 generating 2,000 fresh, unlabeled images (+10 broken) in {fresh_dir}")
    generate(fresh_dir, per_class=500, broken=10, seed=99, flat=True)
    truth_csv = workdir / "catalog.truth.csv"

    out = workdir / "labels.parquet"
    echo("5/5 labeling them through Redis and Celery workers")
    r = label_catalog(fresh_dir, "demo", out, settings, log_dir=workdir)
    truth = {}
    with truth_csv.open() as f:
        for row in csv.DictReader(f):
            truth[row["path"]] = row
    rows = list(read_rows(out))
    labeled = [x for x in rows if x["label"] is not None]
    correct = sum(x["label"] == truth[x["id"]]["label"] for x in labeled)
    errors_expected = sum(1 for t in truth.values() if t["error_kind"])
    echo("")
    echo("Summary")
    echo(
        f"  training:   {result.report['kept']} images kept, {result.report['quarantined']} "
        f"quarantined; test accuracy {result.metrics['accuracy']:.3f}"
    )
    echo(
        f"  labeling:   {len(rows)} rows for {len(truth)} files: {len(labeled)} labeled, "
        f"{len(rows) - len(labeled)} error rows ({errors_expected} broken files planted)"
    )
    echo(f"  accuracy:   {correct / max(1, len(labeled)):.3f} against the generator's truth")
    where = "embedded Redis + workers" if r.embedded else "configured workers"
    echo(f"  throughput: {r.rate:.0f} images/s end to end via {where} ({r.seconds:.1f} s)")
    echo(f"  results:    {out}")
    echo(f"  model:      {exp.ref.path}")
    echo("")
    echo("Next: catalog train YOUR_PHOTOS --out runs/mine   (one sub-folder per class)")
