"""The `catalog` command: the front door. Each command is a thin adapter.

Only click and the standard library are imported at module level so that
`catalog --help` answers fast; TensorFlow, ONNX Runtime and Celery are imported
inside the commands that need them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

EXISTING_DIR = click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)
EXISTING_FILE = click.Path(exists=True, file_okay=True, dir_okay=False, path_type=Path)


def _setup_logging() -> None:
    """Only entry points configure logging."""
    import logging

    from models.settings import get_settings

    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  catalog train ../shared/datasets/slash-products --out runs/slash
  catalog demo
""",
)
@click.version_option(package_name="catalog-labeler")
def cli() -> None:
    """Catalog Labeler: train, export and serve image classifiers for product catalogs."""
    _setup_logging()


@cli.command(
    epilog="""\b
Example:
  catalog train ../shared/datasets/slash-products --out runs/slash --epochs 30
"""
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


def _store() -> Any:
    from models.settings import get_settings
    from models.store import ModelStore

    return ModelStore(get_settings().model_store)


@cli.command(
    epilog="""\b
Example:
  catalog export runs/slash --name slash --int8
"""
)
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

    r = run_export(run_dir, _store(), name=name, out=out, opset=opset, int8=int8)
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


@cli.command(
    epilog="""\b
Example:
  catalog inspect runs/slash/export/model.onnx
"""
)
@click.argument("model", type=EXISTING_FILE)
def inspect(model: Path) -> None:
    """Print the card embedded in an ONNX model."""
    from models.onnx_model import read_card

    click.echo(read_card(model).to_json())


@cli.command(
    epilog="""\b
Example:
  catalog predict photo1.jpg photo2.png --model slash
"""
)
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

    clf = OnnxClassifier.load(_store().resolve(model_spec).onnx)
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
    epilog="""\b
Examples:
  catalog models list
  catalog models show slash
  catalog models promote slash:2
  catalog models rollback slash
"""
)
def models() -> None:
    """The model store: versions, champions, decisions."""


@models.command(
    "list",
    epilog="""\b
Example:
  catalog models list
""",
)
def models_list() -> None:
    """Every model version with its held-out metrics; * marks the champion."""
    from catalog.store_view import list_lines

    for line in list_lines(_store()):
        click.echo(line)


@models.command(
    "show",
    epilog="""\b
Example:
  catalog models show slash:1
""",
)
@click.argument("spec")
def models_show(spec: str) -> None:
    """A version's card and checksums, and the name's promotion decisions."""
    from catalog.store_view import show_lines

    for line in show_lines(_store(), spec):
        click.echo(line)


@models.command(
    "promote",
    epilog="""\b
Example:
  catalog models promote slash:2
""",
)
@click.argument("spec")
def models_promote(spec: str) -> None:
    """Make NAME:VERSION the champion (no gate: an operator's decision)."""
    from catalog.store_view import promote

    click.echo(promote(_store(), spec))


@models.command(
    "rollback",
    epilog="""\b
Example:
  catalog models rollback slash
""",
)
@click.argument("name")
def models_rollback(name: str) -> None:
    """Make the previous champion of NAME the champion again."""
    from catalog.store_view import rollback

    click.echo(rollback(_store(), name))


MODEL_HELP = "Store name (its champion), NAME:VERSION, or a path to an .onnx file."


def _client() -> Any:
    from models.settings import get_settings
    from worker.jobs import Client, JobError

    url = get_settings().broker_url
    if not url:
        raise JobError(
            "no broker configured: set CATALOG_BROKER_URL=redis://host:6379/0 "
            "(or use `catalog label`, which embeds one)"
        )
    return Client.connect(url)


@cli.command(
    epilog="""\b
Examples:
  catalog label ../shared/datasets/clothing-small --model clothing --out out.parquet
  catalog label manifest.csv --model clothing:3 --out labels.csv
"""
)
@click.argument("catalog", type=click.Path(exists=True, path_type=Path))
@click.option("--model", "model_spec", required=True, help=MODEL_HELP)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Result file: .csv, .jsonl or .parquet.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=None,
    help="Embedded worker processes [default: cores].",
)
@click.option("--chunk-size", type=click.IntRange(1, 100_000), default=None)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def label(
    catalog: Path,
    model_spec: str,
    out: Path,
    concurrency: int | None,
    chunk_size: int | None,
    quiet: bool,
) -> None:
    """Label a whole catalog (folder tree or CSV/JSONL/Parquet manifest) into one file.

    With CATALOG_BROKER_URL set it submits to the running workers; otherwise it
    starts a private Redis and worker processes and stops them afterwards.
    """
    from catalog.progress import ProgressBar
    from models.settings import get_settings
    from worker.results_io import FORMATS
    from worker.run import label_catalog

    if out.suffix.lower() not in FORMATS:
        raise click.BadParameter(
            f"use .csv, .jsonl or .parquet, not {out.suffix!r}", param_hint="--out"
        )
    with ProgressBar(enabled=not quiet) as progress:
        r = label_catalog(
            catalog, model_spec, out, get_settings(), progress, concurrency, chunk_size
        )
    where = "embedded Redis + workers" if r.embedded else "configured workers"
    click.echo(
        f"Labeled {r.labeled} of {r.total} items ({r.failed} error rows) with "
        f"{r.model_version} via {where} in {r.seconds:.1f} s ({r.rate:.1f} items/s)"
    )
    if r.skipped:
        click.echo(
            f"Skipped {r.skipped} non-image file(s) in the folder, e.g. "
            f"{', '.join(r.skipped_examples)}"
        )
    click.echo(f"Results: {out} ({r.rows} rows, one per item)")


@cli.command(
    epilog="""\b
Example:
  CATALOG_BROKER_URL=redis://localhost:6379/0 catalog submit photos/ --model clothing
"""
)
@click.argument("catalog", type=click.Path(exists=True, path_type=Path))
@click.option("--model", "model_spec", required=True, help=MODEL_HELP)
@click.option("--chunk-size", type=click.IntRange(1, 100_000), default=None)
def submit(catalog: Path, model_spec: str, chunk_size: int | None) -> None:
    """Submit a labeling job to running workers; prints the job id."""
    from models.settings import get_settings
    from worker.jobs import submit as do_submit

    r = do_submit(_client(), catalog, model_spec, get_settings(), chunk_size)
    click.echo(r.job_id)
    if r.skipped:
        click.echo(
            f"skipped {r.skipped} non-image file(s), e.g. {', '.join(r.skipped_examples)}", err=True
        )
    click.echo(
        f"{r.total} items in {r.chunks} chunks, model {r.model} "
        f"(submitted in {r.seconds:.1f} s). Next: catalog status {r.job_id} --watch",
        err=True,
    )


@cli.command(
    epilog="""\b
Example:
  catalog status 3f2a9c1d0e4b5a6f --watch
"""
)
@click.argument("job_id")
@click.option("--watch", is_flag=True, help="Follow with a progress bar until it ends.")
def status(job_id: str, watch: bool) -> None:
    """Progress, throughput, ETA and failures of a job."""
    from catalog.progress import ProgressBar, status_line
    from worker import jobs

    client = _client()
    if watch:
        with ProgressBar() as progress:
            st = jobs.wait(client, job_id, progress)
    else:
        st = jobs.status(client, job_id)
    click.echo(status_line(st))


@cli.command(
    epilog="""\b
Example:
  catalog jobs
"""
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
def jobs(limit: int) -> None:
    """Recent jobs, newest first."""
    from catalog.progress import status_line

    client = _client()
    ids = client.ledger.jobs(limit)
    if not ids:
        click.echo("no jobs yet")
    for job_id in ids:
        st = client.ledger.status(job_id)
        if st:
            click.echo(status_line(st))


@cli.command(
    epilog="""\b
Example:
  catalog results 3f2a9c1d0e4b5a6f --out labels.parquet
"""
)
@click.argument("job_id")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Result file: .csv, .jsonl or .parquet.",
)
def results(job_id: str, out: Path) -> None:
    """Write a finished job's rows, in input order, to one file."""
    from worker.jobs import write_results

    n = write_results(_client(), job_id, out)
    click.echo(f"wrote {n} rows to {out}")


@cli.command(
    epilog="""\b
Example:
  catalog cancel 3f2a9c1d0e4b5a6f
"""
)
@click.argument("job_id")
def cancel(job_id: str) -> None:
    """Stop a job: workers skip its remaining chunks."""
    from catalog.progress import status_line
    from worker.jobs import cancel as do_cancel

    click.echo(status_line(do_cancel(_client(), job_id)))


@cli.command(
    epilog="""\b
Examples:
  catalog worker --concurrency 2
  celery -A worker worker -Q labeling -c 2     (the same, by hand)
"""
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=None,
    help="Worker processes [default: CATALOG_CONCURRENCY or cores].",
)
@click.option(
    "--queues", default="labeling", show_default=True, help="Comma-separated: labeling, training."
)
@click.option("--loglevel", default="INFO", show_default=True)
def worker(concurrency: int | None, queues: str, loglevel: str) -> None:
    """Run a Celery worker with our defaults (prefork, prefetch 1, late acks)."""
    from models.settings import cpu_count, get_settings
    from worker.celery import app, check_time_limits

    s = get_settings()
    check_time_limits(s)
    n = concurrency or s.concurrency or cpu_count()
    if "training" in queues.split(","):
        n = 1  # one training run at a time per machine
    app.worker_main(
        [
            "worker",
            "--concurrency",
            str(n),
            "-Q",
            queues,
            "--loglevel",
            loglevel,
            "--pool",
            "prefork",
        ]
    )


@cli.command(
    epilog="""\b
Examples:
  catalog retrain slash --data ../shared/datasets/slash-products
  CATALOG_RETRAIN_DATA=/data/slash catalog retrain slash
"""
)
@click.argument("name")
@click.option(
    "--data",
    "data_dir",
    type=EXISTING_DIR,
    default=None,
    help="Training data [default: CATALOG_RETRAIN_DATA].",
)
def retrain(name: str, data_dir: Path | None) -> None:
    """Train, export, evaluate on the pinned set, and promote only if no worse.

    Runs on a training worker (embedded when no broker is configured).
    """
    from models.settings import get_settings
    from models.store import validate_name
    from worker.run import retrain_via_workers

    validate_name(name)
    r, _ = retrain_via_workers(name, data_dir, get_settings())
    verdict = "PROMOTED" if r["promoted"] else "REFUSED"
    click.echo(f"{name}:{r['version']} {verdict}; champion is now {r['champion'] or 'none'}")
    for reason in r["reasons"]:
        click.echo(f"  - {reason}")
    click.echo(f"run folder: {r['run_dir']}")
    click.echo(f"Next: catalog models show {name}")


@cli.command(
    epilog="""\b
Example:
  CATALOG_RETRAIN_SCHEDULE='slash=0 3 * * *' CATALOG_RETRAIN_DATA=/data/slash catalog beat
"""
)
@click.option(
    "--schedule-file",
    type=click.Path(path_type=Path),
    default=None,
    help="Beat's state file [default: in the model store].",
)
def beat(schedule_file: Path | None) -> None:
    """Run Celery beat with the retraining schedule from settings (run exactly one)."""
    from models.settings import get_settings
    from worker.celery import app

    s = get_settings()
    if not app.conf.beat_schedule:
        raise click.UsageError(
            "nothing to schedule: set CATALOG_RETRAIN_SCHEDULE, e.g. 'slash=0 3 * * *'"
        )
    path = schedule_file or s.model_store / "celerybeat-schedule"
    path.parent.mkdir(parents=True, exist_ok=True)
    for key, entry in app.conf.beat_schedule.items():
        click.echo(f"{key}: {entry['schedule']}", err=True)
    app.start(["beat", "--schedule", str(path), "--loglevel", "INFO"])


@cli.command(
    epilog="""\b
Example:
  catalog bench --images ../shared/datasets/clothing-small --model clothing
"""
)
@click.option("--images", type=EXISTING_DIR, required=True, help="Folder of images to label.")
@click.option("--model", "model_spec", required=True, help="Store name or NAME:VERSION.")
@click.option(
    "--seed-images",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="Images for the slow per-image seed-style loop.",
)
@click.option(
    "--limit", type=click.IntRange(1, 10_000_000), default=None, help="Use only the first N images."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("bench-results"),
    show_default=True,
    help="Folder for the table (.md) and raw figures (.json).",
)
def bench(images: Path, model_spec: str, seed_images: int, limit: int | None, out: Path) -> None:
    """Throughput ratios, measured side by side in one run on the same images."""
    from catalog.bench import render, run_bench, write
    from models.settings import get_settings

    ref = _store().resolve(model_spec)
    if ref.version == "file":
        raise click.BadParameter(
            "needs a store model (NAME or NAME:VERSION): the seed loop "
            "and the Keras comparison use its model.keras",
            param_hint="--model",
        )
    b = run_bench(images, ref, get_settings(), seed_images, limit, echo=click.echo)
    click.echo("")
    click.echo(render(b))
    click.echo(f"written to {write(b, out)}")


@cli.command(
    "bench-model",
    epilog="""\b
Example:
  catalog bench-model slash:1
""",
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

    ref = _store().resolve(model_spec)
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


@cli.command(
    epilog="""\b
Example:
  catalog sample demo/catalog --per-class 40 --broken 4
"""
)
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--per-class", type=click.IntRange(1, 100_000), default=40, show_default=True)
@click.option(
    "--broken",
    type=click.IntRange(0, 10_000),
    default=4,
    show_default=True,
    help="Deliberately broken files to mix in.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--flat",
    is_flag=True,
    help="One flat folder (an unlabeled catalog) plus truth.csv, instead of class folders.",
)
def sample(out: Path, per_class: int, broken: int, seed: int, flat: bool) -> None:
    """Generate a sample catalog of procedurally drawn product-like images."""
    from catalog.samples import generate

    summary = generate(out, per_class=per_class, broken=broken, seed=seed, flat=flat)
    click.echo(
        f"Wrote {summary.images} images ({', '.join(summary.classes)}) "
        f"and {summary.broken} broken files to {out}"
    )


@cli.command(
    epilog="""\b
Example:
  catalog demo --workdir demo
"""
)
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("demo"), show_default=True)
def demo(workdir: Path) -> None:
    """Run the main job end to end on a generated sample catalog."""
    from catalog.demo import run_demo

    run_demo(workdir, echo=click.echo)


def main(argv: list[str] | None = None) -> int:
    """Console entry: one-line errors, exit 2 for bad input, never a traceback."""
    from models.errors import CatalogError

    try:
        rv = cli.main(args=argv, prog_name="catalog", standalone_mode=False)
    except click.exceptions.UsageError as e:
        msg = e.format_message().replace("\n", " ")
        cmd = e.ctx.command_path if e.ctx else "catalog"
        click.echo(f"{cmd}: error: {msg} (see '{cmd} --help')", err=True)
        return 2
    except click.ClickException as e:
        click.echo(f"catalog: error: {e.format_message()}", err=True)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("catalog: aborted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("catalog: interrupted", err=True)
        return 130
    except CatalogError as e:
        click.echo(f"catalog: error: {e}", err=True)
        return 2
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
