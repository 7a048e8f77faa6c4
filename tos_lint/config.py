"""Configuration: `tos-lint.yaml`, `.tos-lint.yaml` or `[tool.tos-lint]` in
`pyproject.toml`, found upward from the working directory, or `--config`.

Validated once, at load: an unknown key or a wrong type is a `UsageError`
naming the file and the key (exit code 2). Paths in the file are relative
to the file's folder. Command-line options override the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tos_lint.errors import UsageError
from tos_lint.model import Severity
from tos_lint.policy import FAIL_ON_CHOICES, STANCES
from tos_lint.readers import DEFAULT_MAX_DECOMPRESSED_BYTES, DEFAULT_MAX_EXPANSION
from tos_lint.wholefile import read_whole
from tos_lint.yamlsafe import load_yaml

CONFIG_NAMES = ("tos-lint.yaml", ".tos-lint.yaml", "tos-lint.yml", ".tos-lint.yml")


@dataclass
class Config:
    path: str | None = None
    rules: list[str] = field(default_factory=list)
    default_rules: bool = True
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)
    providers: dict[str, str] = field(default_factory=dict)
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    hidden: bool = False  # walk files and folders whose names start with '.' (never .git, .hg, .svn)
    input_format: str | None = None
    field_map: dict[str, list[str]] = field(default_factory=dict)
    fail_on: str = "high"
    index: list[str] = field(default_factory=list)
    baseline: str | None = None
    allowlist: list[str] = field(default_factory=list)
    waivers: list[str] = field(default_factory=list)
    max_record_bytes: int = 64 << 20
    max_expansion: float = DEFAULT_MAX_EXPANSION  # decompressed / compressed size, per file
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES  # per file
    attribution: bool = False  # add style-based attribution to a scan
    attribution_threshold: float = 0.6  # probability above which it becomes a finding
    attribution_severity: Severity = Severity.MEDIUM


def find_config(start: Path | None = None) -> Path | None:
    """The nearest config file upward from `start` (default: the cwd)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in CONFIG_NAMES:
            if (folder / name).is_file():
                return folder / name
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _pyproject_section(pyproject) is not None:
            return pyproject
    return None


def load_config(path: Path | None = None, discover: bool = True) -> Config:
    """Load `path`, or the discovered file, or the defaults."""
    if path is None and discover:
        path = find_config()
    if path is None:
        return Config()
    try:
        raw = read_whole(path)
    except OSError as exc:
        raise UsageError(f"--config {path}: {_unreadable(exc)}") from None
    if path.name == "pyproject.toml":
        doc = _pyproject_section(path, raw) or {}
    else:
        try:
            doc = load_yaml(raw)
        except Exception as exc:  # noqa: BLE001 - any YAML error is a config error
            raise UsageError(f"{path}: invalid YAML: {exc}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: the configuration must be a mapping of keys")
    return parse_config(doc, path)


def _unreadable(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a configuration file"
    return f"cannot read: {exc.strerror or exc}"


def _pyproject_section(path: Path, raw: bytes | None = None) -> dict[str, Any] | None:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = tomllib.loads((read_whole(path) if raw is None else raw).decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    section = data.get("tool", {}).get("tos-lint")
    return section if isinstance(section, dict) else None


def parse_config(doc: dict[str, Any], path: Path) -> Config:
    _refuse_two_spellings(doc, path)
    config = Config(path=str(path))
    base = path.parent
    for key, value in doc.items():
        parser = _PARSERS.get(str(key).replace("-", "_"))
        if parser is None:
            known = ", ".join(sorted(_PARSERS))
            raise UsageError(f"{path}: unknown key {key!r} (known keys: {known})")
        try:
            setattr(config, str(key).replace("-", "_"), parser(value, base))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{path}: key {key!r}: {exc}") from None
    return config


def _refuse_two_spellings(doc: dict[str, Any], path: Path) -> None:
    """A key written both with `-` and with `_` (`fail-on` and `fail_on`):
    one of the two values would be dropped without a word, so neither is taken."""
    seen: dict[str, str] = {}
    for key in doc:
        name = str(key).replace("-", "_")
        if name in seen:
            raise UsageError(f"{path}: keys {seen[name]!r} and {str(key)!r} are the same key written two ways; keep one")
        seen[name] = str(key)


def _str_list(value: Any, _base: Path) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TypeError("must be a list of strings")
    return list(value)


def _path_list(value: Any, base: Path) -> list[str]:
    return [str(base / v) for v in _str_list(value, base)]


def _path(value: Any, base: Path) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("must be a path (string)")
    return str(base / value)


def _bool(value: Any, _base: Path) -> bool:
    if not isinstance(value, bool):
        raise TypeError("must be true or false")
    return value


def _choice(choices: tuple[str, ...]) -> Callable[[Any, Path], str]:
    def parse(value: Any, _base: Path) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return str(value)
    return parse


def _severities(value: Any, _base: Path) -> dict[str, Severity]:
    if not isinstance(value, dict):
        raise TypeError("must map rule ids or prefixes to a severity")
    return {str(k): Severity.parse(str(v)) for k, v in value.items()}


def _stances(value: Any, _base: Path) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError(f"must map provider ids to one of {', '.join(STANCES)}")
    for provider, stance in value.items():
        if stance not in STANCES:
            raise ValueError(f"{provider}: {stance!r} is not a stance (expected one of {', '.join(STANCES)})")
    return {str(k): str(v) for k, v in value.items()}


def _field_map(value: Any, _base: Path) -> dict[str, list[str]]:
    from tos_lint.adapters import pointer_error
    from tos_lint.model import ROLES

    if not isinstance(value, dict):
        raise TypeError("must map roles to lists of keys or JSON pointers")
    out = {}
    for role, keys in value.items():
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
        out[str(role)] = _str_list(keys, _base)
        problems = [p for p in map(pointer_error, out[str(role)]) if p]
        if problems:
            raise ValueError(f"role {role!r}: {problems[0]}")
    return out


def _input_format(value: Any, _base: Path) -> str:
    from tos_lint.adapters import FORMATS

    if value not in FORMATS:
        raise ValueError(f"must be one of {', '.join(FORMATS)}")
    return str(value)


# Limits are written to the JSON report's manifest, whose integers are 64-bit.
MAX_BYTE_LIMIT = (1 << 63) - 1


def byte_limit(value: Any) -> int:
    """A size limit in bytes (the configuration and the command line share it)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1024 <= value <= MAX_BYTE_LIMIT:
        raise ValueError(f"must be a whole number of bytes, from 1024 to {MAX_BYTE_LIMIT}")
    return value


def expansion_ratio(value: Any) -> float:
    """A decompression ratio cap: a number of at least 1 (`.inf` turns it off)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1:
        raise ValueError("must be a number, at least 1 (decompressed size / compressed size)")
    return float(value)


_PARSERS: dict[str, Callable[[Any, Path], Any]] = {
    "rules": _path_list,
    "default_rules": _bool,
    "select": _str_list,
    "ignore": _str_list,
    "severity": _severities,
    "providers": _stances,
    "include": _str_list,
    "exclude": _str_list,
    "hidden": _bool,
    "input_format": _input_format,
    "field_map": _field_map,
    "fail_on": _choice(FAIL_ON_CHOICES),
    "index": _path_list,
    "baseline": _path,
    "allowlist": _path_list,
    "waivers": _path_list,
    "max_record_bytes": lambda v, _b: byte_limit(v),
    "max_expansion": lambda v, _b: expansion_ratio(v),
    "max_decompressed_bytes": lambda v, _b: byte_limit(v),
    "attribution": _bool,
    "attribution_threshold": lambda v, _b: probability(v),
    "attribution_severity": lambda v, _b: Severity.parse(str(v)),
}


def probability(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError("must be a number above 0 and at most 1")
    return float(value)

