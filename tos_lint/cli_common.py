"""What every command-line module shares: exit code 2 for usage errors."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, NoReturn

import typer

from tos_lint.reporters import safe_lines

if TYPE_CHECKING:  # pragma: no cover
    from tos_lint.config import Config

EXIT_USAGE = 2


def fail(message: str) -> NoReturn:
    typer.echo(f"tos-lint: error: {safe_lines(message)}", err=True)
    raise typer.Exit(EXIT_USAGE)


def warn(messages: list[str]) -> None:
    """Warnings (a run that goes on): one line each on stderr."""
    for message in messages:
        typer.echo(f"tos-lint: warning: {safe_lines(message)}", err=True)


@contextmanager
def usage_errors() -> Iterator[None]:
    """Usage, configuration and pack errors: one line on stderr, exit code 2."""
    from tos_lint.errors import UsageError

    try:
        yield
    except UsageError as exc:
        fail(str(exc))


def refuse_overwriting(output: Path | None, paths: list[str], config: "Config | None" = None,
                       option: str = "--output", hidden: bool = False) -> None:
    """An output may never replace a file the run reads: an input (a file
    given, or a data file inside a folder given), nor, with `config`, the
    configuration file or a rule pack, baseline, allowlist, waiver file or
    index it names (the run would destroy what it was checked against).
    `hidden` (else the configuration's): hidden files in folders are inputs."""
    from tos_lint.errors import UsageError
    from tos_lint.readers import discover

    if output is None:
        return
    target = Path(output).resolve()
    hidden = config.hidden if config is not None else hidden
    inputs, _ = discover([p for p in paths if p != "-" and p and Path(p).exists()], hidden=hidden)
    # a path found unfit to open (a symlink loop cannot even be resolved) is never written either
    if any(f.fs_path is not None and f.problem is None and f.fs_path.resolve() == target for f in inputs):
        raise UsageError(f"{option} {output} is one of the inputs; refusing to overwrite it")
    refuse_replacing(output, _files_read(config), option)


def refuse_replacing(output: Path, read: Iterable[tuple[str, str | Path]], option: str = "--output") -> None:
    """A UsageError when `output` is one of the files `read`, each given with what it is."""
    from tos_lint.errors import UsageError

    target = Path(output).resolve()
    for what, path in read:
        if Path(path).resolve() == target:
            raise UsageError(f"{option} {output} is the {what} this run reads; refusing to overwrite it")


def _files_read(config: "Config | None") -> Iterator[tuple[str, str]]:
    """The files a configuration makes a run read, each with what it is."""
    if config is None:
        return
    from tos_lint.packs import pack_paths

    if config.path:
        yield "configuration file", config.path
    if config.baseline:
        yield "baseline (--baseline)", config.baseline
    packs = [str(p) for p in pack_paths(config.rules, config.default_rules)]
    for what, files in (("rule pack", packs), ("allowlist (--allowlist)", config.allowlist),
                        ("waiver file (--waivers)", config.waivers), ("index (--index)", config.index)):
        yield from ((what, f) for f in files)


def check_output(option: str, path: Path | None, folder: bool = False, devices: bool = False) -> None:
    """Refuse, before any work, an output that cannot be written: a folder
    where a file goes (or a file where a folder goes), or a place this
    user may not create files in. `devices`: the writer writes a device or
    pipe in place; other writers rename a new file over the path, which
    would replace the device itself. None (standard output) is no file."""
    if path is None:
        return
    if folder and path.exists() and not path.is_dir():
        fail(f"{option} {path}: not a directory")
    if not folder and path.is_dir():
        fail(f"{option} {path}: is a directory")
    if not folder and path.exists() and not path.is_file():
        if devices:
            return  # a device or pipe (/dev/null, /dev/stdout): written in place
        fail(f"{option} {path}: not a regular file; refusing to replace it")
    place = path if folder else path.parent
    while not place.exists() and place != place.parent:  # the folder the outputs will be created in
        place = place.parent
    if not place.is_dir():
        fail(f"{option} {path}: {place} is not a directory")
    if not os.access(place, os.W_OK | os.X_OK):
        fail(f"{option} {path}: permission denied (cannot create files in {place})")


@contextmanager
def writing(option: str, path: object) -> Iterator[None]:
    """A write that fails (a full disk, permissions changed meanwhile):
    one line naming the option and the path, exit 2. Standard output (`path`
    None) closed by its reader (`| head`) ends the output quietly, and the
    run goes on to its own exit code, as a gate in a pipeline needs."""
    try:
        yield
    except BrokenPipeError:
        if path is not None:
            fail(f"{option} {path}: cannot write: the pipe was closed")
        silence_stdout()
    except OSError as exc:
        fail(f"{option} {path}: cannot write: {exc.strerror or exc}")


def silence_stdout() -> None:
    """Point standard output at /dev/null once its reader has gone: Python
    would otherwise fail again flushing it at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
