"""`make demo`: the whole product on a generated catalog, start to finish."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path


def run_demo(workdir: Path, echo: Callable[[str], None] = print) -> None:
    from catalog.samples import generate
    from trainer.train import TrainConfig, train

    workdir = Path(workdir)
    train_dir = workdir / "train-data"
    if train_dir.exists():
        shutil.rmtree(train_dir)  # regenerate: the demo is deterministic anyway
    echo(f"1/2 generating a sample catalog in {train_dir}")
    s = generate(train_dir, per_class=60, broken=5, seed=1)
    echo(f"    {s.images} images in {len(s.classes)} classes + {s.broken} broken files")

    run_dir = workdir / "run"
    echo(f"2/2 training ({run_dir})")
    result = train(
        TrainConfig(data_dir=train_dir, out=run_dir, image_size=64, epochs=25, patience=6)
    )
    m = result.metrics
    echo("")
    echo("Summary")
    echo(
        f"  data:          {result.report['kept']} kept, "
        f"{result.report['quarantined']} quarantined (see {run_dir / 'data_report.json'})"
    )
    echo(f"  test accuracy: {m['accuracy']:.3f} (n={m['n']}), macro-F1 {m['macro_f1']:.3f}")
    echo(f"  training time: {result.seconds:.0f} s over {result.epochs_run} epochs")
    echo(f"  artifacts:     {run_dir}")
