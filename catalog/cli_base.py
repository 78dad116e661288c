"""What every `catalog` command shares: the group, argument types, helpers.

Only click and the standard library are imported at module level so that
`catalog --help` answers fast; TensorFlow, ONNX Runtime and Celery are imported
inside the commands that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

EXISTING_DIR = click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)
EXISTING_FILE = click.Path(exists=True, file_okay=True, dir_okay=False, path_type=Path)
MODEL_HELP = "Store name (its champion), NAME:VERSION, or a path to an .onnx file."


def example(*commands: str) -> str:
    """A help epilog with copy-paste examples (\\b keeps click from rewrapping)."""
    title = "Examples" if len(commands) > 1 else "Example"
    return "\b\n" + f"{title}:\n" + "".join(f"  {c}\n" for c in commands)


def _setup_logging() -> None:
    """Only entry points configure logging."""
    import logging

    from models.settings import get_settings

    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # tf2onnx narrates every graph rewrite at INFO: keep our own INFO readable.
    logging.getLogger("tf2onnx").setLevel(logging.WARNING)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=example(
        "catalog train ../shared/datasets/slash-products --out runs/slash", "catalog demo"
    ),
)
@click.version_option(package_name="catalog-labeler")
def cli() -> None:
    """Catalog Labeler: train, export and serve image classifiers for product catalogs."""
    _setup_logging()


def store() -> Any:
    from models.settings import get_settings
    from models.store import ModelStore

    return ModelStore(get_settings().model_store)


def client() -> Any:
    from models.settings import get_settings
    from worker.jobs import Client, JobError

    url = get_settings().broker_url
    if not url:
        raise JobError(
            "no broker configured: set CATALOG_BROKER_URL=redis://host:6379/0 "
            "(or use `catalog label`, which embeds one)"
        )
    return Client.connect(url)
