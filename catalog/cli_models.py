"""`catalog` commands for the model lifecycle: train, export, inspect, predict,
the model store, and the model benchmark. Thin adapters over library functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from catalog.cli_base import EXISTING_DIR, EXISTING_FILE, cli, example, store


@cli.command(
    epilog=example("catalog train ../shared/datasets/slash-products --out runs/slash --epochs 30")
)
@click.argument("data_dir", type=EXISTING_DIR)
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="Run folder.")
@click.option(
    "--image-size",
    type=click.IntRange(32, 512),
    default=None,
    help="Input edge in pixels [default: CATALOG_IMAGE_SIZE or 128].",
)
@click.option(
    "--epochs",
    type=click.IntRange(1, 1000),
    default=40,
    show_default=True,
    help="Upper bound; early stopping usually ends sooner.",
)
@click.option("--batch-size", type=click.IntRange(1, 1024), default=16, show_default=True)
@click.option(
    "--arch",
    "architecture",
    type=click.Choice(["compact", "baseline", "mobilenetv2"]),
    default="compact",
    show_default=True,
)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--val",
    "val_fraction",
    type=click.FloatRange(0, 0.5),
    default=0.15,
    show_default=True,
    help="Validation fraction.",
)
@click.option(
    "--test",
    "test_fraction",
    type=click.FloatRange(0.01, 0.5),
    default=0.15,
    show_default=True,
    help="Test fraction.",
)
@click.option("--patience", type=click.IntRange(1, 100), default=8, show_default=True)
@click.option(
    "--ensemble",
    type=click.IntRange(0, 10),
    default=0,
    show_default=True,
    help="Models averaged into one; 0 = auto: 5 below 500 training images, 3 below 1,500, else 1.",
)
@click.option("--no-augment", is_flag=True, help="Train without augmentation.")
@click.option(
    "--weights", type=str, default=None, help="Backbone weights file for --arch mobilenetv2."
)
@click.option("--tensorboard", is_flag=True, help="Also write TensorBoard logs.")
def train(data_dir: Path, out: Path, image_size: int | None, **kw: Any) -> None:
    """Clean, split, train and evaluate a classifier on DATA_DIR (one sub-folder per class)."""
    from models.settings import get_settings
    from trainer.train import TrainConfig
    from trainer.train import train as run_training

    augment = not kw.pop("no_augment")
    cfg = TrainConfig(
        data_dir=data_dir,
        out=out,
        image_size=image_size or get_settings().image_size,
        augment=augment,
        **kw,
    )
    result = run_training(cfg)
    m = result.metrics
    click.echo("")
    click.echo(f"Run folder:     {result.run_dir}")
    click.echo(f"Classes:        {', '.join(result.class_names)}")
    rep = result.report
    click.echo(
        f"Data:           {rep['kept']} kept, {rep['quarantined']} quarantined, "
        f"{rep['duplicates_dropped']} duplicates dropped (data_report.json)"
    )
    click.echo(f"Test accuracy:  {m['accuracy']:.3f}  macro-F1 {m['macro_f1']:.3f}  (n={m['n']})")
    click.echo(
        f"Time:           {result.seconds:.0f} s, {result.epochs_run} epochs "
        f"({cfg.ensemble} model{'s' if cfg.ensemble > 1 else ''} averaged)"
    )
    click.echo("")
    click.echo("Next: export it to ONNX for serving:")
    click.echo(f"  catalog export {result.run_dir}")


@cli.command(epilog=example("catalog export runs/slash --name slash --int8"))
@click.argument("run_dir", type=EXISTING_DIR)
@click.option("--name", default=None, help="Model name in the store [default: run folder name].")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Edge bundle folder [default: RUN_DIR/export].",
)
@click.option("--opset", type=click.IntRange(13, 21), default=17, show_default=True)
@click.option("--int8", is_flag=True, help="Also write a static int8 (QDQ) model.")
def export(run_dir: Path, name: str | None, out: Path | None, opset: int, int8: bool) -> None:
    """Convert a training run to ONNX, prove parity, bundle it and store a new version."""
    from exporter.export import export as run_export

    r = run_export(run_dir, store(), name=name, out=out, opset=opset, int8=int8)
    p = r.parity
    click.echo(
        f"Parity:  max |diff| {p['max_abs_diff']:.2e} (limit {p['threshold']:.0e}), "
        f"top-1 agreement {p['top1_agreement']:.2%} on {p['images']} test images"
    )
    if r.int8:
        q = r.int8
        click.echo(
            f"int8:    {q['size_ratio']:.2f}x size, {q['speed_ratio']:.2f}x speed "
            f"(>1 faster), {q['reason']}"
        )
    for note in r.notes:
        click.echo(f"Note:    {note}")
    click.echo(f"Stored:  {r.ref.label} in {r.ref.path}")
    click.echo(f"Bundle:  {r.bundle_dir}")
    click.echo("")
    click.echo("Next:")
    click.echo(f"  catalog models promote {r.ref.label}")
    click.echo(f"  catalog predict some/photo.jpg --model {r.ref.label}")


@cli.command(epilog=example("catalog inspect runs/slash/export/model.onnx"))
@click.argument("model", type=EXISTING_FILE)
def inspect(model: Path) -> None:
    """Print the card embedded in an ONNX model."""
    from models.onnx_model import read_card

    click.echo(read_card(model).to_json())


@cli.command(epilog=example("catalog predict photo1.jpg photo2.png --model slash"))
@click.argument("images", nargs=-1, required=True, type=EXISTING_FILE)
@click.option(
    "--model",
    "model_spec",
    required=True,
    help="Store name (its champion), NAME:VERSION, or a path to an .onnx file.",
)
@click.option("--top-k", type=click.IntRange(1, 100), default=3, show_default=True)
def predict(images: tuple[Path, ...], model_spec: str, top_k: int) -> None:
    """Label a few images right here, without Redis or workers."""
    import numpy as np

    from models.onnx_model import OnnxClassifier
    from models.onnx_model import top_k as topk
    from models.preprocessing import ImageError, preprocess_file

    clf = OnnxClassifier.load(store().resolve(model_spec).onnx)
    for path in images:
        try:
            x = preprocess_file(path, clf.input_size)
        except ImageError as e:
            click.echo(f"{path}\terror\t{e.kind}: {e.reason}")
            continue
        probs = clf.predict(np.expand_dims(x, 0))
        best = topk(probs, clf.card.class_names, top_k)[0]
        others = ", ".join(f"{lbl} {p:.3f}" for lbl, p in best)
        click.echo(f"{path}\t{best[0][0]}\t{best[0][1]:.4f}\t[{others}]")


@cli.group(
    epilog=example(
        "catalog models list",
        "catalog models show slash",
        "catalog models promote slash:2",
        "catalog models rollback slash",
    )
)
def models() -> None:
    """The model store: versions, champions, decisions."""


@models.command(
    "list",
    epilog=example("catalog models list"),
)
def models_list() -> None:
    """Every model version with its held-out metrics; * marks the champion."""
    from catalog.store_view import list_lines

    for line in list_lines(store()):
        click.echo(line)


@models.command(
    "show",
    epilog=example("catalog models show slash:1"),
)
@click.argument("spec")
def models_show(spec: str) -> None:
    """A version's card and checksums, and the name's promotion decisions."""
    from catalog.store_view import show_lines

    for line in show_lines(store(), spec):
        click.echo(line)


@models.command(
    "promote",
    epilog=example("catalog models promote slash:2"),
)
@click.argument("spec")
def models_promote(spec: str) -> None:
    """Make NAME:VERSION the champion (no gate: an operator's decision)."""
    from catalog.store_view import promote

    click.echo(promote(store(), spec))


@models.command(
    "rollback",
    epilog=example("catalog models rollback slash"),
)
@click.argument("name")
def models_rollback(name: str) -> None:
    """Make the previous champion of NAME the champion again."""
    from catalog.store_view import rollback

    click.echo(rollback(store(), name))


@cli.command(
    "bench-model",
    epilog=example("catalog bench-model slash:1"),
)
@click.argument("model_spec")
@click.option(
    "--seconds",
    type=click.FloatRange(0.2, 60),
    default=2.0,
    show_default=True,
    help="Timing budget per runtime and batch size.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("bench-results"), show_default=True
)
def bench_model(model_spec: str, seconds: float, out: Path) -> None:
    """Keras vs ONNX fp32 vs ONNX int8: throughput, p50/p95, size, accuracy (batch 1/8/64)."""
    import time

    from catalog.bench_model import render, run

    ref = store().resolve(model_spec)
    if ref.version == "file":
        raise click.BadParameter("needs a store model (NAME or NAME:VERSION)")
    b = run(ref, seconds, echo=click.echo)
    table = render(b)
    click.echo("")
    click.echo(table)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"bench-model-{time.strftime('%Y%m%d-%H%M%S')}.md"
    path.write_text(table)
    click.echo(f"written to {path}")
