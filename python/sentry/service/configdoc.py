"""The configuration document before validation: the main file, its ``config_files``, ``-o``.

What Falco 0.38+ does, which Sentry follows:

- ``config_files`` in the main file lists files or directories (a directory: its files in
  lexical order; relative paths from the working directory; a directory that does not
  exist is skipped) loaded after it, each merged
  over what came before, top-level key by key: a mapping or scalar replaces the earlier
  value whole, a sequence is appended to (strategy ``append``, the default), or replaced
  (``override``), or a key is only added when absent (``add-only``), per entry
  ``{path: ..., strategy: ...}``. An included file may not include others.
- ``-o KEY=VALUE`` edits the merged document: ``KEY`` is a dotted path whose parts may carry
  ``[i]`` indexes (``-o 'rules[0].disable.rule=*'``, ``-o container_engines.cri.sockets[1]=
  /run/x.sock``); ``VALUE`` is read as YAML. An index one past the end appends, and so
  does ``[]`` (``-o 'rules[].disable.tag=maturity_incubating'`` adds one selection).

Errors are :class:`~sentry.errors.ConfigError` naming the file (and line) or the option.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from sentry.errors import ConfigError

CONFIG_FILES_KEY = "config_files"
STRATEGIES = ("append", "override", "add-only")
_PART = re.compile(r"([^.\[\]]+)((?:\[\d*\])*)")
APPEND = -1  # ``[]``: a new element at the end of the list


def read_document(path: Path) -> dict[str, Any]:
    """One YAML configuration file as a mapping (empty file: empty mapping)."""
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: not valid YAML ({err})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: {getattr(err, 'strerror', None) or err}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: the configuration must be a YAML mapping")
    return doc


def _entries(value: Any, origin: Path) -> list[tuple[Path, str]]:
    """``config_files`` as (path, strategy) pairs."""
    if value is None:
        return []
    if isinstance(value, str | dict):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(
            f"{origin}: {CONFIG_FILES_KEY}: expected a list of files or directories, got {value!r}"
        )
    out = []
    for entry in value:
        strategy = "append"
        if isinstance(entry, dict):
            path, strategy = entry.get("path"), entry.get("strategy", "append")
            unknown = set(entry) - {"path", "strategy"}
            if unknown:
                raise ConfigError(
                    f"{origin}: {CONFIG_FILES_KEY}: unknown key "
                    f"'{sorted(unknown)[0]}' (path, strategy)"
                )
        else:
            path = entry
        if not isinstance(path, str) or not path:
            raise ConfigError(
                f"{origin}: {CONFIG_FILES_KEY}: each entry is a path or "
                f"{{path: ..., strategy: ...}}, got {entry!r}"
            )
        if strategy not in STRATEGIES:
            raise ConfigError(
                f"{origin}: {CONFIG_FILES_KEY}: strategy '{strategy}' for "
                f"{path} is not one of {', '.join(STRATEGIES)}"
            )
        out.append((Path(path), strategy))
    return out


def merge(base: dict[str, Any], extra: dict[str, Any], strategy: str) -> None:
    """``extra`` over ``base`` top-level key by key (see the module docstring)."""
    for key, value in extra.items():
        if key in base and strategy == "add-only":
            continue
        old = base.get(key)
        if strategy == "append" and isinstance(old, list) and isinstance(value, list):
            base[key] = old + value
        else:
            base[key] = value


def include_config_files(
    doc: dict[str, Any], origin: Path, default: list[str], warnings: list[str]
) -> list[Path]:
    """Merge the files ``doc``'s ``config_files`` names (``default`` when it names none)
    into ``doc``; the files read, in order. A directory that does not exist is skipped."""
    given = CONFIG_FILES_KEY in doc
    value = doc.pop(CONFIG_FILES_KEY) if given else default
    loaded: list[Path] = []
    for path, strategy in _entries(value, origin):
        if path.is_dir():
            files = sorted((p for p in path.iterdir() if p.is_file()), key=lambda p: p.name)
        elif path.is_file():
            files = [path]
        else:
            if given and path.suffix in (".yaml", ".yml"):  # a missing directory is fine
                warnings.append(
                    f"{origin}: {CONFIG_FILES_KEY}: {path}: no such file or directory, skipped"
                )
            continue
        for f in files:
            extra = read_document(f)
            if CONFIG_FILES_KEY in extra:
                raise ConfigError(
                    f"{f}: an included configuration file may not include "
                    f"others ({CONFIG_FILES_KEY})"
                )
            merge(doc, extra, strategy)
            loaded.append(f)
    return loaded


def parse_path(key: str) -> list[str | int]:
    """``a.b[0].c`` -> ``["a", "b", 0, "c"]``; ConfigError when it is not such a path."""
    parts: list[str | int] = []
    for piece in key.split("."):
        m = _PART.fullmatch(piece)
        if m is None:
            raise ConfigError(
                f"-o {key}: not a key path (names joined by '.', each with optional [index] parts)"
            )
        parts.append(m.group(1))
        parts.extend(int(i) if i else APPEND for i in re.findall(r"\[(\d*)\]", m.group(2)))
    return parts


def set_path(doc: dict[str, Any], parts: list[str | int], value: Any, text: str) -> None:
    """Set ``value`` at ``parts`` inside ``doc``, creating mappings and lists on the way."""
    node: Any = doc
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt = None if last else parts[i + 1]
        fresh: Any = [] if isinstance(nxt, int) else {}
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ConfigError(f"-o {text}: [{part}] indexes something that is not a list")
            if part == APPEND:
                part = len(node)
            if part > len(node):
                raise ConfigError(
                    f"-o {text}: index {part} is past the end of a list of {len(node)}"
                )
            if part == len(node):
                node.append(value if last else fresh)
            elif last:
                node[part] = value
            elif not isinstance(node[part], dict | list):
                node[part] = fresh
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise ConfigError(
                    f"-o {text}: '{part}' names a key inside something that is not a mapping"
                )
            if last:
                node[part] = value
            elif not isinstance(node.get(part), dict | list):
                node[part] = fresh
            node = node[part]


def parse_assignment(text: str) -> tuple[str, list[str | int], Any]:
    """``KEY=VALUE`` -> (key, path parts, value read as YAML)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"-o {text}: expected KEY=VALUE")
    parts = parse_path(key)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, parts, value
