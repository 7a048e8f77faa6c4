"""Errors that end a run with exit code 2 (usage, configuration, rule packs,
a scan that could not finish)."""
from __future__ import annotations


class UsageError(Exception):
    """A bad option, path or configuration value: exit code 2."""


class PackError(UsageError):
    """A rule pack that does not validate. Names file, rule id and key."""

    def __init__(self, path: str, message: str, rule_id: str | None = None, key: str | None = None):
        self.path = path
        self.rule_id = rule_id
        self.key = key
        self.detail = message
        where = path
        if rule_id:
            where += f": rule {rule_id!r}"
        if key:
            where += f": key {key!r}"
        super().__init__(f"{where}: {message}")


class PackErrors(UsageError):
    """Every problem found in a set of packs, reported together."""

    def __init__(self, errors: list[PackError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class ScanAborted(UsageError):
    """The run could not finish (a process it started was killed): no result."""
