"""What ``sentry run -L`` / ``-l RULE``, ``-V FILE`` and ``--support`` print (Falco's flags).

- :func:`describe_rules`: each rule's name and description (``-L``; ``-l`` one rule), or with
  ``json_output`` the rules, macros and lists as JSON (Falco's ``{"info": ...}`` entries).
- :func:`validate_files`: load the files as one set, in order, and say per file ``Ok`` or
  ``Invalid`` with every problem as ``FILE:LINE: ...`` (``-V``, repeatable).
- :func:`support_info`: a JSON document for bug reports, shaped as Falco's ``--support``:
  version, engine and driver versions, ``uname``, the command line, the configuration
  file's text, and every rules file with its sha256 and contents.
"""

from __future__ import annotations

import hashlib
import json
import os
import textwrap
from pathlib import Path
from typing import Any

from sentry.errors import SentryError
from sentry.rules import versions
from sentry.rules.loader import Problem, RuleDefinitions, Severity, rules_files

NAME_WIDTH = 50  # Falco's -L column for the rule name
DESC_WIDTH = 80


def describe_rules(
    defs: RuleDefinitions,
    evttypes: dict[str, frozenset[str] | None],
    *,
    as_json: bool = False,
    only: str | None = None,
) -> str:
    """``-L`` (every rule) or ``-l NAME`` (one); ``evttypes``: each rule's event types."""
    rules = list(defs.rules.values())
    if only is not None:
        rules = [r for r in rules if r.name == only]
        if not rules:
            raise SentryError(f"-l: no rule named '{only}' in the loaded rules")
    if as_json:
        doc: dict[str, Any] = {
            "required_engine_version": versions.text(defs.required_engine_version),
            "rules": [
                {
                    "info": {
                        "name": r.name,
                        "condition": r.condition,
                        "desc": r.desc,
                        "output": r.output,
                        "priority": r.priority.label,
                        "source": r.source,
                        "enabled": r.enabled,
                        "tags": r.tags,
                        "exceptions": [e.name for e in r.exceptions],
                    },
                    "details": {"events": _events(evttypes.get(r.name), r.source)},
                }
                for r in rules
            ],
        }
        if only is None:
            doc["macros"] = [
                {"info": {"name": m.name, "condition": m.condition}} for m in defs.macros.values()
            ]
            doc["lists"] = [
                {"info": {"name": li.name, "items": li.items}} for li in defs.lists.values()
            ]
        return json.dumps(doc, indent=2) + "\n"
    out = [f"{'Rule':<{NAME_WIDTH}} Description", f"{'----':<{NAME_WIDTH}} -----------"]
    indent = " " * (NAME_WIDTH + 1)
    for r in rules:
        desc = " ".join(r.desc.split()) or "(no description)"
        lines = textwrap.wrap(desc, DESC_WIDTH) or [""]
        out.append(f"{r.name:<{NAME_WIDTH}} {lines[0]}")
        out += [indent + line for line in lines[1:]]
        out.append("")
    return "\n".join(out)


def _events(types: frozenset[str] | None, source: str) -> list[str] | str:
    if source != "syscall":
        return []
    return "all" if types is None else sorted(types)


def validate_files(paths: list[Path], *, as_json: bool = False) -> tuple[str, bool]:
    """Load ``paths`` in order as one set; (the report, whether every file is valid)."""
    from sentry.cli.run import output_compiler
    from sentry.pipeline import load_ruleset
    from sentry.rules.lint import unused_items

    _ruleset, defs = load_ruleset(paths, output_compiler=output_compiler())
    defs.problems.extend(unused_items(defs))  # as Falco: said on validation, not at each run
    files = [str(p) for p in paths]
    by_file: dict[str, list[Problem]] = {f: [] for f in files}
    for problem in defs.problems:
        owner = next(
            (
                f
                for f in files
                if problem.path is not None
                and Path(os.path.realpath(problem.path)).is_relative_to(os.path.realpath(f))
            ),
            files[-1],
        )
        by_file[owner].append(problem)
    valid = not defs.errors
    if as_json:
        doc = {
            "load_results": [
                {
                    "name": f,
                    "successful": not any(p.severity is Severity.ERROR for p in probs),
                    "errors": [_problem_json(p) for p in probs if p.severity is Severity.ERROR],
                    "warnings": [_problem_json(p) for p in probs if p.severity is Severity.WARNING],
                }
                for f, probs in by_file.items()
            ]
        }
        return json.dumps(doc, indent=2) + "\n", valid
    out = ["Validating rules file(s):", *(f"   {f}" for f in files)]
    for f, probs in by_file.items():
        bad = any(p.severity is Severity.ERROR for p in probs)
        out.append(f"{f}: {'Invalid' if bad else 'Ok'}")
        out += [str(p) for p in probs]
    return "\n".join(out) + "\n", valid


def _problem_json(p: Problem) -> dict[str, Any]:
    return {"message": p.message, "path": p.path, "line": p.line, "item": p.item}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def support_info(config_files: list[Path], rules: list[Path], cmdline: list[str]) -> dict[str, Any]:
    """Falco's ``--support`` document for these configuration files (the main file first,
    then what its ``config_files`` included) and rules paths (directories as their YAML
    files, in load order); files are read, not compiled."""
    from sentry.version import version, version_info

    uname = os.uname()
    files = [_file_entry(path, "rules file") for entry in rules for path in rules_files(entry)]
    configs = [_file_entry(path, "configuration file") for path in config_files]
    return {
        "version": version(),
        "engine_info": version_info(),
        "system_info": {
            "sysname": uname.sysname,
            "nodename": uname.nodename,
            "release": uname.release,
            "version": uname.version,
            "machine": uname.machine,
        },
        "cmdline": " ".join(cmdline),
        "config": configs[0]["variants"][0]["content"] if configs else "",
        "config_files": configs,
        "rules_files": files,
    }


def _file_entry(path: Path, what: str) -> dict[str, Any]:
    """``{"name", "sha256", "variants": [{"content"}]}`` (Falco's rules_files entry)."""
    try:
        content = path.read_text(errors="replace")
        digest = sha256_file(path)
    except OSError as err:
        raise SentryError(f"--support: cannot read {what} {path}: {err.strerror}") from None
    return {"name": str(path), "sha256": digest, "variants": [{"content": content}]}
