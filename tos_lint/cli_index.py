"""`tos-lint index ...`: build, inspect and extend near-duplicate indexes.

Mounted by cli.py as `app.add_typer(index_app, name="index")`. An INDEX is a
file path or a Redis URL whose fragment names the key prefix
(`redis://localhost:6379/0#team-refs`). Errors print one line and exit 2.
Heavy modules are imported inside the commands to keep `--help` instant.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional

import typer

from tos_lint.cli_common import EXIT_USAGE, check_output, refuse_overwriting, usage_errors, writing

if TYPE_CHECKING:
    from tos_lint.neardup.index import IndexData, IndexParams
    from tos_lint.neardup.references import ProviderResolver, ReadStats

index_app = typer.Typer(
    help="Build and inspect near-duplicate indexes of reference outputs (known provider text).",
    no_args_is_help=True,
)

_MAX_PROBLEMS_SHOWN = 10


# Options shared by `build` and `add`.
_PROVIDER = typer.Option(None, "--provider", help="Provider id (see `tos-lint providers`) of every reference.")
_PROVIDER_FIELD = typer.Option(None, "--provider-field", help="Record field naming each reference's provider or model (e.g. generator, model); dotted paths reach nested fields.")
_ALIAS = typer.Option([], "--provider-alias", help="Map a field value to a provider id: NAME=ID (repeatable).")
_INPUT_FORMAT = typer.Option(None, "--input-format", help="Read every reference record as this format.")


@index_app.command("build")
def build(
    refs: List[str] = typer.Argument(..., help="Reference files or folders (JSONL / JSON, any record format)."),
    out: str = typer.Option(..., "--out", "-o", help="Index file to write, or redis://HOST:PORT/DB#PREFIX."),
    provider: Optional[str] = _PROVIDER,
    provider_field: Optional[str] = _PROVIDER_FIELD,
    provider_alias: List[str] = _ALIAS,
    roles: List[str] = typer.Option([], "--roles", help="Roles whose text is indexed, comma-separated (default: assistant)."),
    threshold: float = typer.Option(0.4, "--threshold", help="Jaccard similarity a near-duplicate must reach."),
    fn_budget: float = typer.Option(0.1, "--fn-budget", help="Allowed LSH miss rate for a pair exactly at the threshold."),
    max_bands: int = typer.Option(16, "--max-bands", help="At most this many LSH bands (8 bytes per reference each)."),
    word_ngrams: int = typer.Option(3, "--word-ngrams", help="Shingle size in words."),
    char_ngrams: Optional[int] = typer.Option(None, "--char-ngrams", help="Use character n-grams of this size instead of words (for CJK text)."),
    num_perm: int = typer.Option(128, "--num-perm", help="MinHash permutations."),
    min_shingles: int = typer.Option(20, "--min-shingles", help="Texts with fewer distinct shingles are not indexed or matched."),
    strip_prompt: bool = typer.Option(True, "--strip-prompt/--keep-prompt", help="Drop the shingles an answer shares with its own prompt."),
    scheme: str = typer.Option("affine32", "--scheme", help="MinHash scheme, as datasketch names it: affine32 or legacy."),
    input_format: Optional[str] = _INPUT_FORMAT,
) -> None:
    """Build an index from reference outputs (replaces INDEX if it exists)."""
    with usage_errors():
        from tos_lint.errors import UsageError
        from tos_lint.neardup.index import MAX_SHINGLE_N, IndexBuilder, IndexParams
        from tos_lint.neardup.redis_store import is_redis_location
        from tos_lint.neardup.references import parse_roles
        from tos_lint.neardup.store import save

        _check_format(input_format)
        if not is_redis_location(out):
            refuse_overwriting(Path(out), refs, option="--out")
            check_output("--out", Path(out))
        kind, n = ("char", char_ngrams) if char_ngrams is not None else ("word", word_ngrams)
        if not 1 <= n <= MAX_SHINGLE_N:
            raise UsageError(f"--{kind}-ngrams: must be from 1 to {MAX_SHINGLE_N} ({n} given)")
        params = IndexParams.design(
            threshold=threshold, fn_budget=fn_budget, max_bands=max_bands, num_perm=num_perm,
            shingle_kind=kind, shingle_n=n, min_shingles=min_shingles, strip_prompt=strip_prompt,
            scheme=scheme, roles=parse_roles(roles) if roles else ("assistant",),
        )
        resolver = _resolver(provider, provider_field, provider_alias)
        builder = IndexBuilder(params)
        stats = _read(refs, builder, resolver, input_format)
        data = builder.finish()
        with writing("--out", out):
            save(out, data)
    _summary("built", out, data, stats, resolver)


@index_app.command("add")
def add(
    index: str = typer.Argument(..., help="Existing index file, or redis://HOST:PORT/DB#PREFIX."),
    refs: List[str] = typer.Argument(..., help="More reference files or folders."),
    provider: Optional[str] = _PROVIDER,
    provider_field: Optional[str] = _PROVIDER_FIELD,
    provider_alias: List[str] = _ALIAS,
    word_ngrams: Optional[int] = typer.Option(None, "--word-ngrams", help="Refused unless it equals the index's."),
    char_ngrams: Optional[int] = typer.Option(None, "--char-ngrams", help="Refused unless it equals the index's."),
    input_format: Optional[str] = _INPUT_FORMAT,
) -> None:
    """Add references to an index, with the index's own parameters."""
    with usage_errors():
        from tos_lint.neardup.index import IndexBuilder
        from tos_lint.neardup.redis_store import RedisIndex, is_redis_location
        from tos_lint.neardup.store import merged, save

        _check_format(input_format)
        existing = merged(index)
        _refuse_other_shingles(existing.params, word_ngrams, char_ngrams)
        resolver = _resolver(provider, provider_field, provider_alias)
        builder = IndexBuilder(existing.params)
        if is_redis_location(index):
            stats = _read(refs, builder, resolver, input_format)
            data = builder.finish()
            RedisIndex.from_location(index).append(data)
            data = merged(index)
        else:
            builder.extend(existing)
            stats = _read(refs, builder, resolver, input_format)
            data = builder.finish()
            save(index, data)
    _summary("added to", index, data, stats, resolver)


@index_app.command("info")
def info(
    index: str = typer.Argument(..., help="Index file, or redis://HOST:PORT/DB#PREFIX."),
    output_format: str = typer.Option("console", "--format", "-f", help="console | json"),
) -> None:
    """Show an index's parameters, contents and size (checks its checksum)."""
    if output_format not in ("console", "json"):
        typer.echo(f"tos-lint: error: --format: unknown format {output_format!r} (expected console or json)", err=True)
        raise typer.Exit(EXIT_USAGE)
    with usage_errors():
        from tos_lint.neardup.store import open_indexes

        parts = open_indexes([index])
    doc = _describe(index, parts)
    if output_format == "json":
        import orjson

        typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    p = doc["params"]
    shingles = f"{p['shingle_kind']} {p['shingle_n']}-grams"
    typer.echo(f"{index}: tos-lint near-duplicate index, format {doc['format_version']}, {doc['segments']} segment(s)")
    typer.echo(f"  references  {doc['references']}  from {doc['sources']} source file(s)")
    typer.echo("  providers   " + ", ".join(f"{k} {v}" for k, v in doc["providers"].items()))
    typer.echo(f"  signing     {p['num_perm']} permutations ({p['scheme']}, seed {p['seed']}), {shingles}, "
               f"normaliser {p['normalizer']}, prompt overlap {'dropped' if p['strip_prompt'] else 'kept'}")
    typer.echo(f"  matching    Jaccard >= {p['threshold']}, LSH {p['bands']} bands x {p['rows']} rows "
               f"(miss rate at the threshold <= {p['fn_budget']}), texts of >= {p['min_shingles']} shingles")
    sizes = doc["bytes_per_reference"]
    typer.echo(f"  size        {sizes['lsh']:.0f} B/reference in LSH tables, {sizes['total']:.0f} B/reference in all")


def _describe(location: str, parts: list["IndexData"]) -> dict[str, Any]:
    from collections import Counter

    providers: Counter[str] = Counter()
    count = lsh = total = 0
    sources: set[str] = set()
    for data in parts:
        codes = data.provider_code
        for code, n in enumerate(_bincount(codes, len(data.providers))):
            if n:
                providers[data.providers[code]] += n
        sources.update(data.sources)
        report = data.size_report()
        count += data.count
        lsh += report["lsh_bytes_per_ref"] * data.count
        total += report["total_bytes_per_ref"] * data.count
    from tos_lint.neardup.index import FORMAT_VERSION

    return {
        "index": location, "format_version": FORMAT_VERSION, "segments": len(parts), "references": count,
        "sources": len(sources), "providers": dict(providers.most_common()),
        "params": parts[0].params.to_json() if parts else {},
        "stats": [d.stats for d in parts],
        "bytes_per_reference": {"lsh": lsh / max(count, 1), "total": total / max(count, 1)},
    }


def _bincount(codes: Any, length: int) -> list[int]:
    import numpy as np

    return np.bincount(np.asarray(codes, dtype=np.int64), minlength=length).tolist() if len(codes) else [0] * length


def _check_format(input_format: Optional[str]) -> None:
    from tos_lint.adapters import FORMATS
    from tos_lint.errors import UsageError

    if input_format is not None and input_format not in FORMATS:
        raise UsageError(f"--input-format: unknown format {input_format!r} (expected one of {', '.join(FORMATS)})")


def _resolver(provider: Optional[str], field: Optional[str], aliases: List[str]) -> "ProviderResolver":
    from tos_lint.neardup.references import ProviderResolver, parse_aliases
    from tos_lint.registry import load_registry

    return ProviderResolver(load_registry(), provider, field, parse_aliases(aliases))


def _refuse_other_shingles(params: "IndexParams", word: Optional[int], char: Optional[int]) -> None:
    from tos_lint.errors import UsageError

    asked = ("char", char) if char is not None else ("word", word) if word is not None else None
    if asked is not None and asked != (params.shingle_kind, params.shingle_n):
        raise UsageError(
            f"the index was built with {params.shingle_kind} {params.shingle_n}-grams, not {asked[0]} {asked[1]}-grams; "
            "build a new index to change parameters")


def _read(refs: List[str], builder: Any, resolver: "ProviderResolver", input_format: Optional[str]) -> "ReadStats":
    from tos_lint.neardup.references import ReadStats, iter_references

    stats = ReadStats()
    for ref in iter_references(refs, builder.params, resolver, stats, force_format=input_format):
        builder.add(ref)
    return stats


def _summary(verb: str, location: str, data: "IndexData", stats: "ReadStats", resolver: "ProviderResolver") -> None:
    skipped = []
    if stats.too_short:
        skipped.append(f"{stats.too_short} too short")
    if stats.no_text:
        skipped.append(f"{stats.no_text} records without answer text")
    typer.echo(f"{verb} {location}: {stats.indexed} references from {stats.records} records in {stats.files} file(s)"
               + (f" ({', '.join(skipped)} not indexed)" if skipped else "") + f"; {data.count} in the index")
    if resolver.unresolved:
        names = ", ".join(f"{k} ({v})" for k, v in resolver.unresolved.most_common(10))
        typer.echo(f"provider 'unknown' for field values not in the registry: {names}; map them with --provider-alias NAME=ID", err=True)
    for problem in stats.problems[:_MAX_PROBLEMS_SHOWN]:
        typer.echo(f"warning: {problem}", err=True)
    if len(stats.problems) > _MAX_PROBLEMS_SHOWN:
        typer.echo(f"warning: ... and {len(stats.problems) - _MAX_PROBLEMS_SHOWN} more input problems", err=True)
