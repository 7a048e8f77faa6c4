"""What every command-line module shares: exit code 2 for usage errors."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, NoReturn

import typer

EXIT_USAGE = 2


def fail(message: str) -> NoReturn:
    typer.echo(f"tos-lint: error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


@contextmanager
def usage_errors() -> Iterator[None]:
    """Usage, configuration and pack errors: one line on stderr, exit code 2."""
    from tos_lint.errors import UsageError

    try:
        yield
    except UsageError as exc:
        fail(str(exc))
