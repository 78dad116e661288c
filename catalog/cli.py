"""The `catalog` command: the front door. Each command is a thin adapter over
library functions; they live in `cli_models` and `cli_jobs`."""

from __future__ import annotations

import sys

import click

import catalog.cli_jobs
import catalog.cli_models
from catalog.cli_base import cli

__all__ = ["cli", "main"]
_COMMANDS = (catalog.cli_jobs, catalog.cli_models)


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
