"""Rules YAML read safely, with line numbers: every mapping knows where it and its keys start.

:func:`parse_yaml_documents` is the only entry point: a file's documents, read within limits
(file size, nesting depth, nodes once aliases are expanded) so that hostile input is refused
with a located :class:`~sentry.errors.RuleLoadError` instead of exhausting memory. Duplicate
keys are errors; unknown tags are read as plain values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from sentry.errors import RuleLoadError


class YAMLMapping(dict[str, Any]):
    """A YAML mapping that remembers where it and each of its keys start (1-based lines)."""

    line: int = 0
    key_lines: dict[str, int]


MAX_RULES_FILE_BYTES = 64 << 20
"""A rules file larger than this is refused (Falco's own rules are ~150 KB)."""
MAX_YAML_DEPTH = 64
"""Nesting of YAML collections; rules need 4 or 5 levels."""
MAX_YAML_NODES = 4_000_000
"""YAML nodes a file may stand for once its aliases are expanded: an alias bomb (nested
aliases, a few hundred bytes standing for billions of nodes) is refused before anything
expands it. 20k rules are ~300k nodes."""


class _YAMLBudget(yaml.MarkedYAMLError):
    """A file over one of the limits above (reported like a YAML syntax error)."""


if TYPE_CHECKING or not yaml.__with_libyaml__:  # (a PyYAML without libyaml: all Python)
    _SafeBase = yaml.SafeLoader
else:
    from yaml._yaml import CParser

    class _SafeBase(
        yaml.composer.Composer, CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver
    ):
        """libyaml's scanner and parser (C: ~6x faster on big rules files) under the Python
        composer, so that the depth limit below applies to every collection as it is
        composed (libyaml's own composer would recurse in C without a limit)."""

        def __init__(self, stream: str):
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)


class _LineLoader(_SafeBase):
    """Safe YAML whose mappings carry line numbers, within a depth and node budget."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _YAMLBudget(
                    None,
                    None,
                    f"collections nested deeper than {MAX_YAML_DEPTH} levels",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node: yaml.Node) -> Any:
        _check_expanded_size(node)
        return super().construct_document(node)


def _check_expanded_size(root: yaml.Node) -> None:
    """Raise when ``root`` stands for more than MAX_YAML_NODES nodes with aliases expanded.

    Counted bottom-up once per distinct node (an alias is the same node object as its
    anchor), so the check is linear in the file however large the expansion.
    """
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in size and not done:
            continue
        if isinstance(node, yaml.ScalarNode):
            size[key] = 1
            continue
        children = (
            [c for pair in node.value for c in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if not done:
            size[key] = 0  # a node that contains itself (a recursive alias) counts once
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in size)
            continue
        total = 1 + sum(size.get(id(c), 1) for c in children)
        if total > MAX_YAML_NODES:
            raise _YAMLBudget(
                None,
                None,
                f"the document stands for more than "
                f"{MAX_YAML_NODES:,} nodes once its aliases are expanded "
                "(nested aliases?)",
                node.start_mark,
            )
        size[key] = total


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> YAMLMapping:
    mapping = YAMLMapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        value = loader.construct_object(value_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key '{key}' (first given at line {mapping.key_lines[key]})",
                key_node.start_mark,
            )
        mapping[key] = value
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


def _construct_untagged(loader: _LineLoader, node: yaml.Node) -> Any:
    # Unknown tags (`desc: != after ...` parses as tag "!=") and the bare `=` (YAML 1.1's
    # "value" type, e.g. `comps: [=]`) are read as what they look like: plain values.
    if isinstance(node, yaml.MappingNode):
        return _construct_mapping(loader, node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)
_LineLoader.add_constructor("tag:yaml.org,2002:value", _construct_untagged)
_LineLoader.add_constructor(None, _construct_untagged)


def parse_yaml_documents(text: str, path: str) -> list[Any]:
    """Every document of ``text``; a YAML syntax error becomes a located RuleLoadError."""
    if len(text) > MAX_RULES_FILE_BYTES:
        raise RuleLoadError(
            f"file of {len(text):,} characters is over the limit of {MAX_RULES_FILE_BYTES:,}",
            path=path,
        )
    try:
        return list(yaml.load_all(text, Loader=_LineLoader))
    except RecursionError:
        raise RuleLoadError("not valid YAML: nested too deeply", path=path) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = exc.problem or exc.context or "invalid YAML"
        raise RuleLoadError(f"not valid YAML: {reason}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise RuleLoadError(f"not valid YAML: {exc}", path=path) from None
