"""Safe YAML loading that also refuses duplicate keys, alias bombs and
documents nested too deeply.

Only the safe constructor is used, so `!!python/...` tags are refused. A
duplicate key is an error: PyYAML would silently keep the last value.

Hostile documents are refused with a `yaml.YAMLError` instead of hanging or
crashing the process:

* aliases that expand a small file into billions of values ("billion
  laughs") or refer to a node that contains them (a recursive structure);
* deep nesting (`[[[[...` or `- - - - ...`): libyaml's own composer recurses
  on the C stack and crashes the interpreter (a segmentation fault) at a few
  tens of thousands of levels, so nodes are composed by PyYAML's Python
  composer, whose recursion stops cleanly, from libyaml's (iterative) events.
"""
from __future__ import annotations

import datetime
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver

try:  # libyaml's scanner and parser, without its recursive composer
    from yaml.cyaml import CParser as _Parser
except ImportError:  # PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: Any) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)


MIN_EXPANSION_LIMIT = 1_000_000  # values a document may hold once aliases are expanded


class YAMLTooDeep(yaml.YAMLError):
    """Nested deeper than the composer's recursion allows (a few hundred levels)."""


class StrictLoader(_Parser, Composer, SafeConstructor, Resolver):  # type: ignore[misc,valid-type]
    def __init__(self, stream: Any) -> None:
        _Parser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    # The Python composer's methods, not libyaml's (which recurse in C).
    compose_document = Composer.compose_document
    compose_node = Composer.compose_node

    def get_single_node(self) -> Any:
        node = Composer.get_single_node(self)
        if node is not None:
            check_expansion(node)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A value the safe constructor cannot build (a date that does not
        exist, `!!int abc`, `!!bool maybe`) is a YAML error at its line,
        not the constructor's own ValueError or KeyError."""
        try:
            return SafeConstructor.construct_object(self, node, deep=deep)
        except (ValueError, KeyError, OverflowError) as exc:
            kind = str(node.tag).rsplit(":", 1)[-1]
            shown = f"{node.value!r} " if isinstance(node, yaml.ScalarNode) else ""
            raise ConstructorError(None, None, f"cannot read the value {shown}as {kind} ({exc})",
                                   node.start_mark) from None


def _construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key: the constructor reports it
            break
        if duplicate:
            line = key_node.start_mark.line + 1
            raise ConstructorError(None, None, f"duplicate key {key!r} (line {line})", key_node.start_mark)
        seen.add(key)
    return SafeConstructor.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph that refers to itself, or that holds more than
    `MIN_EXPANSION_LIMIT` values (or twice its own number of nodes) once its
    aliases are expanded. Linear in the number of distinct nodes."""
    sizes: dict[int, int] = {}
    active: set[int] = set()  # nodes on the current path
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            active.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            continue
        if key in sizes:
            continue
        if key in active:
            raise ConstructorError(None, None, "an alias refers to a node that contains it (a recursive structure)", node.start_mark)
        active.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    limit = max(MIN_EXPANSION_LIMIT, 2 * len(sizes))
    if sizes[id(root)] > limit:
        raise ConstructorError(
            None, None,
            f"aliases expand this document to {sizes[id(root)]} values, more than the limit of {limit} (a 'billion laughs'?)",
            root.start_mark,
        )


def load_yaml(text: str | bytes) -> Any:
    return _not_too_deep(yaml.load, text)


def compose_yaml(text: str | bytes) -> yaml.Node | None:
    """The node tree of a document, its values not constructed (it exists
    even when they cannot be): with the same refusals as `load_yaml`, so
    that a document it refused, composed again to place the error, fails
    the same clean way."""
    return _not_too_deep(yaml.compose, text)


def _not_too_deep(step: Callable[..., Any], text: str | bytes) -> Any:
    """`yaml.load` or `yaml.compose` with StrictLoader, the composer's
    recursion past Python's limit a YAML error."""
    try:
        return step(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader
    except RecursionError:
        raise YAMLTooDeep("the document is nested too deeply (more than a few hundred levels)") from None


def load_yaml_cached(raw: bytes, dates_as_text: bool = False) -> Any:
    """`load_yaml`, remembered by content in the compile cache (`tos_lint.cache`):
    parsing the built-in packs costs more than the rest of a one-record scan.
    Only a document that JSON carries exactly is kept (no dates, no keys
    other than strings); one that does not load is never kept. With
    `dates_as_text`, for a caller that reads dates as their ISO text anyway
    (the provider registry), dates are that text, first time or not. The key
    holds this module's own source, so a change to the loader's rules is not
    answered from entries it made before."""
    import orjson

    from tos_lint import cache

    key = cache.cache_key("yaml", _loader_digest(), hashlib.sha256(raw).hexdigest(), str(dates_as_text))
    blob = cache.load(key)
    if blob is not None:
        return orjson.loads(blob)
    doc = load_yaml(raw)
    try:
        encoded = orjson.dumps(doc)
    except TypeError:
        return doc
    carried = orjson.loads(encoded)
    if carried == doc or dates_as_text and _only_dates_differ(doc, carried):
        cache.store(key, encoded)
        return carried
    return doc


def _only_dates_differ(doc: Any, carried: Any) -> bool:
    """Whether `carried` (`doc` through JSON) is `doc` with its dates (days,
    not times) as ISO text, which is also how `str` writes them."""
    if isinstance(doc, datetime.datetime):
        return False  # its ISO text ("T") is not how `str` writes it
    if isinstance(doc, datetime.date):
        return carried == doc.isoformat()
    if isinstance(doc, dict):
        return isinstance(carried, dict) and doc.keys() == carried.keys() \
            and all(_only_dates_differ(v, carried[k]) for k, v in doc.items())
    if isinstance(doc, list):
        return isinstance(carried, list) and len(doc) == len(carried) \
            and all(_only_dates_differ(a, b) for a, b in zip(doc, carried))
    return doc == carried


@lru_cache(maxsize=1)
def _loader_digest() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
