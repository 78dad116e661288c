"""User-facing errors: the CLI prints them as one line and exits 2."""


class CatalogError(Exception):
    """Bad input or state a user can fix (wrong path, unknown model, ...)."""
