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
@click.option("--batch-size", type=click.IntRange(1, 1024), default=32, show_default=True)
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
    click.echo(f"Time:           {result.seconds:.0f} s, {result.epochs_run} epochs")
    click.echo("")
    click.echo("Next: export it to ONNX for serving:")
    click.echo(f"  catalog export {result.run_dir}")


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
