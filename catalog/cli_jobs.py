"""`catalog` commands for labeling jobs, workers, retraining, the benchmark and
the demo. Thin adapters over library functions."""

from __future__ import annotations

from pathlib import Path

import click

from catalog.cli_base import EXISTING_DIR, MODEL_HELP, cli, client, example, store


@cli.command(
    epilog=example(
        "catalog label ../shared/datasets/clothing-small --model clothing --out out.parquet",
        "catalog label manifest.csv --model clothing:3 --out labels.csv",
    )
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
    epilog=example(
        "CATALOG_BROKER_URL=redis://localhost:6379/0 catalog submit photos/ --model clothing"
    )
)
@click.argument("catalog", type=click.Path(exists=True, path_type=Path))
@click.option("--model", "model_spec", required=True, help=MODEL_HELP)
@click.option("--chunk-size", type=click.IntRange(1, 100_000), default=None)
def submit(catalog: Path, model_spec: str, chunk_size: int | None) -> None:
    """Submit a labeling job to running workers; prints the job id."""
    from models.settings import get_settings
    from worker.jobs import submit as do_submit

    r = do_submit(client(), catalog, model_spec, get_settings(), chunk_size)
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


@cli.command(epilog=example("catalog status 3f2a9c1d0e4b5a6f --watch"))
@click.argument("job_id")
@click.option("--watch", is_flag=True, help="Follow with a progress bar until it ends.")
def status(job_id: str, watch: bool) -> None:
    """Progress, throughput, ETA and failures of a job."""
    from catalog.progress import ProgressBar, status_line
    from worker import jobs

    conn = client()
    if watch:
        with ProgressBar() as progress:
            st = jobs.wait(conn, job_id, progress)
    else:
        st = jobs.status(conn, job_id)
    click.echo(status_line(st))


@cli.command(epilog=example("catalog jobs"))
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
def jobs(limit: int) -> None:
    """Recent jobs, newest first."""
    from catalog.progress import status_line

    conn = client()
    ids = conn.ledger.jobs(limit)
    if not ids:
        click.echo("no jobs yet")
    for job_id in ids:
        st = conn.ledger.status(job_id)
        if st:
            click.echo(status_line(st))


@cli.command(epilog=example("catalog results 3f2a9c1d0e4b5a6f --out labels.parquet"))
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

    n = write_results(client(), job_id, out)
    click.echo(f"wrote {n} rows to {out}")


@cli.command(epilog=example("catalog cancel 3f2a9c1d0e4b5a6f"))
@click.argument("job_id")
def cancel(job_id: str) -> None:
    """Stop a job: workers skip its remaining chunks."""
    from catalog.progress import status_line
    from worker.jobs import cancel as do_cancel

    click.echo(status_line(do_cancel(client(), job_id)))


@cli.command(
    epilog=example(
        "catalog worker --concurrency 2",
        "celery -A worker worker -Q labeling -c 2     (the same, by hand)",
    )
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
    from worker.celery import app  # importing it checks the time limits

    s = get_settings()
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
    epilog=example(
        "catalog retrain slash --data ../shared/datasets/slash-products",
        "CATALOG_RETRAIN_DATA=/data/slash catalog retrain slash",
    )
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
    epilog=example(
        "CATALOG_RETRAIN_SCHEDULE='slash=0 3 * * *' CATALOG_RETRAIN_DATA=/data/slash catalog beat"
    )
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
    epilog=example("catalog bench --images ../shared/datasets/clothing-small --model clothing")
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

    ref = store().resolve(model_spec)
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


@cli.command(epilog=example("catalog sample demo/catalog --per-class 40 --broken 4"))
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


@cli.command(epilog=example("catalog demo --workdir demo"))
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("demo"), show_default=True)
def demo(workdir: Path) -> None:
    """Run the main job end to end on a generated sample catalog."""
    from catalog.demo import run_demo

    run_demo(workdir, echo=click.echo)
