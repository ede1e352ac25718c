"""The daemon's configuration: ``/etc/sentry/sentry.yaml`` (or ``-c FILE``), the files its
``config_files`` names (default ``/etc/sentry/config.d``), then ``-o key=value``.

Keys are modelled on ``falco.yaml`` wherever they mean the same thing, so a Falco config
mostly works unchanged. Every key is declared once in :data:`SCHEMA` with its type and
default; an unknown key is a warning (kept in :attr:`Config.warnings`), a value of the wrong
type is a :class:`~sentry.errors.ConfigError` that names the key path. Values are read with
:meth:`Config.get` by dotted path (``cfg.get("webserver.listen_port")``). How the document
is put together (includes, ``-o`` paths with ``[i]`` indexes) is :mod:`.configdoc`'s part.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentry.errors import ConfigError
from sentry.log import configure as configure_log
from sentry.service.configdoc import (
    include_config_files,
    parse_assignment,
    read_document,
    set_path,
)

DEFAULT_PATH = Path("/etc/sentry/sentry.yaml")

PRIORITIES = (
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "informational",
    "info",
    "debug",
)
LOG_LEVELS = ("emergency", "alert", "critical", "error", "warning", "notice", "info", "debug")
DROP_ACTIONS = ("ignore", "log", "alert", "exit")


@dataclass(frozen=True)
class Key:
    """One configuration key: a checker that returns the normalised value or raises."""

    default: Any
    check: Callable[[Any], Any]
    kind: str  # what the checker wants, for error messages


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false", "yes", "no", "on", "off"):
        return v.lower() in ("true", "yes", "on")
    raise TypeError


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError
    return v


def _port(v: Any) -> int:
    v = _int(v)
    if not 0 <= v <= 65535:
        raise ValueError("a port must be in 0..65535")
    return v


def _positive_int(v: Any) -> int:
    v = _int(v)
    if v <= 0:
        raise ValueError("must be greater than 0")
    return v


def _non_negative_int(v: Any) -> int:
    v = _int(v)
    if v < 0:
        raise ValueError("must not be negative")
    return v


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise TypeError
    return float(v)


def _non_negative(v: Any) -> float:
    v = _number(v)
    if v < 0:
        raise ValueError("must not be negative")
    return v


def _ratio(v: Any) -> float:
    v = _number(v)
    if not 0.0 <= v <= 1.0:
        raise ValueError("syscall event drops threshold must be a double in the range [0, 1]")
    return v


def _str(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        return str(v)  # -o filename=123 arrives as a number
    raise TypeError


def _str_list(v: Any) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return list(v)
    raise TypeError


def _choice(options: Sequence[str]) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if not isinstance(v, str):
            raise TypeError
        if v.lower() not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return v.lower()

    return check


def _drop_actions(v: Any) -> list[str]:
    actions = [a.lower() for a in _str_list(v)]
    for a in actions:
        if a not in DROP_ACTIONS:
            raise ValueError(f"unknown action '{a}' (one of {', '.join(DROP_ACTIONS)})")
    if "ignore" in actions:
        for other in ("log", "alert"):
            if other in actions:
                raise ValueError(
                    f'syscall event drop action "{other}" does not make sense '
                    'with the "ignore" action'
                )
    return actions


def _rule_selection(v: Any) -> list[tuple[str, str, str]]:
    """Falco 0.38's ``rules:`` list: ``[{disable: {rule: "x*"}}, {enable: {tag: t}}]`` ->
    ``[("disable", "rule", "x*"), ("enable", "tag", "t")]``, applied in order."""
    if v is None:
        return []
    if not isinstance(v, list):
        raise TypeError
    out = []
    for i, entry in enumerate(v):
        where = f"entry {i}"
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ValueError(f"{where}: each entry is {{enable: ...}} or {{disable: ...}}")
        ((action, what),) = entry.items()
        if action not in ("enable", "disable"):
            raise ValueError(f"{where}: '{action}' is not enable or disable")
        if not isinstance(what, dict) or len(what) != 1:
            raise ValueError(f"{where}: {action} takes one of {{rule: NAME}} or {{tag: TAG}}")
        ((kind, pattern),) = what.items()
        if kind not in ("rule", "tag") or not isinstance(pattern, str) or not pattern:
            raise ValueError(f"{where}: {action} takes one of {{rule: NAME}} or {{tag: TAG}}")
        out.append((action, kind, pattern))
    return out


BOOL, INT, NUM, STR, STRS = "a boolean", "an integer", "a number", "a string", "a list of strings"

# Every key Sentry reads, by dotted path; the nested dicts mirror the YAML.
SCHEMA: dict[str, Key] = {
    "rules_file": Key(
        [
            "/etc/sentry/sentry_rules.yaml",
            "/etc/sentry/sentry_rules.local.yaml",
            "/etc/sentry/k8s_audit_rules.yaml",
            "/etc/sentry/rules.d",
        ],
        _str_list,
        STRS,
    ),
    "time_format_iso_8601": Key(False, _bool, BOOL),
    "json_output": Key(False, _bool, BOOL),
    "json_include_output_property": Key(True, _bool, BOOL),
    "json_include_tags_property": Key(True, _bool, BOOL),
    "json_include_message_property": Key(False, _bool, BOOL),
    "json_include_output_fields_property": Key(True, _bool, BOOL),
    # Falco 0.38+: more configuration files merged after this one (files or directories).
    "config_files": Key(["/etc/sentry/config.d"], lambda v: v, "a list of paths"),
    # first: an event raises at most one alert (the first matching rule, as Falco's
    # default); all: every matching rule raises one.
    "rule_matching": Key("first", _choice(("first", "all")), "first or all"),
    # Which events syscall rules are evaluated on. evaluate: enter and exit events (Falco
    # <= 0.41, whose drivers sent both: a rule without evt.dir may alert twice per syscall);
    # skip: exit events only, one evaluation per syscall, the exit reading its enter's
    # parameters (evt.arg.*), as Falco >= 0.42 whose drivers send no enter events (rules
    # on evt.dir=> never match); auto: skip when the rules files require engine version
    # 0.52.0 or later (today's falcosecurity/rules ask 0.57.0), evaluate for older rules
    # (0.28.1's ask 9). Falco itself has no such key: it simply has no enter events.
    "engine.enter_events": Key(
        "auto", _choice(("auto", "evaluate", "skip")), "auto, evaluate or skip"
    ),
    # Falco 0.38+: rules enabled/disabled by name (with * wildcards) or tag, in order.
    "rules": Key([], _rule_selection, "a list of {enable|disable: {rule|tag: ...}}"),
    "log_stderr": Key(True, _bool, BOOL),
    "log_syslog": Key(False, _bool, BOOL),
    "log_level": Key("info", _choice(LOG_LEVELS), "a log level"),
    "priority": Key("debug", _choice(PRIORITIES), "a priority"),
    "buffered_outputs": Key(False, _bool, BOOL),
    "outputs.rate": Key(0.0, _non_negative, NUM),
    "outputs.max_burst": Key(1000, _positive_int, INT),
    "outputs.queue_size": Key(10000, _positive_int, INT),
    "outputs.max_retries": Key(3, _int, INT),
    "outputs.retry_backoff": Key(0.2, _non_negative, NUM),
    "stdout_output.enabled": Key(True, _bool, BOOL),
    "file_output.enabled": Key(False, _bool, BOOL),
    "file_output.keep_alive": Key(False, _bool, BOOL),
    "file_output.filename": Key("./events.txt", _str, STR),
    "syslog_output.enabled": Key(False, _bool, BOOL),
    "syslog_output.socket": Key("/dev/log", _str, STR),
    "syslog_output.facility": Key("user", _str, STR),
    "program_output.enabled": Key(False, _bool, BOOL),
    "program_output.keep_alive": Key(False, _bool, BOOL),
    "program_output.program": Key("", _str, STR),
    "http_output.enabled": Key(False, _bool, BOOL),
    "http_output.url": Key("", _str, STR),
    "http_output.user_agent": Key("sentry", _str, STR),
    "http_output.timeout": Key(5.0, _non_negative, NUM),
    "http_output.insecure": Key(False, _bool, BOOL),
    "http_output.ca_cert": Key("", _str, STR),
    "http_output.ca_path": Key("", _str, STR),
    "http_output.client_cert": Key("", _str, STR),
    "http_output.client_key": Key("", _str, STR),
    # Captures around alerts: Falco 0.42's capture keys (durations in ms), then Sentry's
    # pre-alert window and caps (service/alertcapture.py).
    "capture.enabled": Key(False, _bool, BOOL),
    "capture.path_prefix": Key("/tmp/sentry", _str, STR),
    "capture.mode": Key("rules", _choice(("rules", "all_rules")), "rules or all_rules"),
    "capture.default_duration": Key(5000, _int, INT),
    "capture.pre_alert_window": Key(5000, _int, INT),
    "capture.pre_alert_max_bytes": Key(64 << 20, _positive_int, INT),
    "capture.max_file_bytes": Key(256 << 20, _positive_int, INT),
    "capture.max_files_per_minute": Key(10, _positive_int, INT),
    "webserver.enabled": Key(False, _bool, BOOL),
    "webserver.listen_address": Key("0.0.0.0", _str, STR),
    "webserver.listen_port": Key(8765, _port, "a port number"),
    "webserver.k8s_audit_endpoint": Key("/k8s-audit", _str, STR),
    "webserver.k8s_healthz_endpoint": Key("/healthz", _str, STR),
    "webserver.ssl_enabled": Key(False, _bool, BOOL),
    "webserver.ssl_certificate": Key("/etc/sentry/sentry.pem", _str, STR),
    "webserver.token": Key("", _str, STR),
    "webserver.max_body_bytes": Key(10 * 1024 * 1024, _positive_int, INT),
    "webserver.max_connections": Key(64, _positive_int, INT),
    "webserver.idle_timeout": Key(10, _positive_int, INT),
    "syscall_event_drops.threshold": Key(0.1, _ratio, NUM),
    "syscall_event_drops.actions": Key(["log", "alert"], _drop_actions, STRS),
    "syscall_event_drops.rate": Key(0.03333, _non_negative, NUM),
    "syscall_event_drops.max_burst": Key(1, _positive_int, INT),
    "syscall_event_drops.simulate_drops": Key(False, _bool, BOOL),
    # The inspector's thread table, as Falco 0.42+'s falco_libs keys: at most
    # thread_table_size threads (more are counted as drops, not kept); every
    # ..._interval_s of event time, threads idle ..._thread_timeout_s whose exit was lost
    # (gone from /proc) are purged.
    "falco_libs.thread_table_size": Key(262144, _positive_int, INT),
    # Replaying a capture (-e): fd state kept by the C tracker (inspect/cstate.c), fed every
    # event from the file's blocks, the Python side seeing only the events rules and thread
    # state need; python: the Python inspector (the reference) sees every needed event.
    "state_tracker": Key("c", _choice(("c", "python")), "c or python"),
    "falco_libs.thread_table_auto_purging_interval_s": Key(300, _positive_int, INT),
    "falco_libs.thread_table_auto_purging_thread_timeout_s": Key(300, _non_negative_int, INT),
    # Opens of these files that no loaded rule can match (rules/quiet.py proves which) are
    # held back by the eBPF probe with their closes (driver/bpf/probe_quiet.h); counted as
    # suppressed (sentry_n_suppressed_quiet), never as drops. false: every open is written.
    "quiet_opens.enabled": Key(True, _bool, BOOL),
    "quiet_opens.paths": Key(
        ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"], _str_list, STRS
    ),
    # Container runtimes asked for metadata (falco.yaml's container_engines; sockets are
    # looked up under $HOST_ROOT when Sentry runs in a container).
    "container_engines.docker.enabled": Key(True, _bool, BOOL),
    "container_engines.docker.sockets": Key(["/var/run/docker.sock"], _str_list, STRS),
    "container_engines.podman.enabled": Key(True, _bool, BOOL),
    "container_engines.podman.sockets": Key(["/run/podman/podman.sock"], _str_list, STRS),
    "container_engines.cri.enabled": Key(True, _bool, BOOL),
    "container_engines.cri.sockets": Key(
        [
            "/run/containerd/containerd.sock",
            "/run/crio/crio.sock",
            "/run/k3s/containerd/containerd.sock",
        ],
        _str_list,
        STRS,
    ),
    # An alert of a container whose metadata is still being fetched waits at most this long.
    "container_engines.alert_hold_ms": Key(500, _int, INT),
    "container_engines.lookup_timeout_ms": Key(2000, _positive_int, INT),
    "container_engines.poll_interval_ms": Key(1000, _positive_int, INT),
    "metrics.enabled": Key(True, _bool, BOOL),
    "metrics.endpoint": Key("/metrics", _str, STR),
}

# falco.yaml keys that mean nothing here: accepted, with a warning saying so.
IGNORED = {
    "syscall_event_timeouts": "Sentry's drivers report timeouts as drops",
    "output_timeout": "outputs never block the pipeline; see outputs.max_retries",
    "grpc": "Sentry has no gRPC server; use http_output or program_output",
    "grpc_output": "Sentry has no gRPC server; use http_output or program_output",
}

# Every mapping above a key: "webserver", "container_engines", "container_engines.cri" ...
_SECTIONS = {path.rsplit(".", i)[0] for path in SCHEMA for i in range(1, path.count(".") + 1)}


@dataclass
class Config:
    """A validated configuration; ``values`` maps every dotted key path to its value."""

    values: dict[str, Any]
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    given: frozenset[str] = frozenset()  # keys a file or -o set (the rest are defaults)
    files: list[Path] = field(default_factory=list)  # the main file, then its config_files

    def get(self, key: str) -> Any:
        return self.values[key]

    def section(self, name: str) -> dict[str, Any]:
        """All keys below ``name`` (``"webserver"`` -> ``{"enabled": ..., "listen_port": ...}``)."""
        prefix = name + "."
        return {k[len(prefix) :]: v for k, v in self.values.items() if k.startswith(prefix)}

    def rules_paths(self) -> list[Path]:
        """``rules_file`` entries expanded: files as given, directories as their sorted files."""
        base = self.path.parent if self.path else Path.cwd()
        out: list[Path] = []
        for entry in self.values["rules_file"]:
            p = Path(entry)
            if not p.is_absolute():
                p = base / p
            if p.is_dir():
                out.extend(sorted(q for q in p.iterdir() if q.is_file()))
            else:
                out.append(p)
        return out


def _where(path: Path | None, key: str) -> str:
    return f"{path}: {key}" if path else key


def _check(key: str, value: Any, origin: Path | None) -> Any:
    spec = SCHEMA[key]
    try:
        return spec.check(value)
    except TypeError:
        raise ConfigError(f"{_where(origin, key)}: expected {spec.kind}, got {value!r}") from None
    except ValueError as err:
        raise ConfigError(f"{_where(origin, key)}: {err} (got {value!r})") from None


def _flatten(
    doc: dict[str, Any], origin: Path | None, warnings: list[str], prefix: str = ""
) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in doc.items():
        key = prefix + str(name)
        if key == "rules_files":  # Falco 0.37+'s name for rules_file
            key = "rules_file"
        if not prefix and key in IGNORED:
            warnings.append(f"{_where(origin, key)}: ignored ({IGNORED[key]})")
        elif key in SCHEMA:
            flat[key] = _check(key, value, origin)
        elif key in _SECTIONS:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise ConfigError(f"{_where(origin, key)}: expected a mapping, got {value!r}")
            flat.update(_flatten(value, origin, warnings, key + "."))
        else:
            warnings.append(f"{_where(origin, key)}: unknown key, ignored")
    return flat


def _known_path(parts: list[str | int]) -> bool:
    """Whether ``-o`` names a key Sentry has (or a part of one, or a section of them)."""
    names = [p for p in parts if isinstance(p, str)]
    for i in range(len(names), 0, -1):
        head = ".".join(names[:i])
        if head in SCHEMA or head in IGNORED:
            return True
    return ".".join(names) in _SECTIONS


def parse_override(text: str) -> tuple[str, Any]:
    """``-o webserver.listen_port=9000`` -> ``("webserver.listen_port", 9000)`` (checked)."""
    key, parts, value = parse_assignment(text)
    if not _known_path(parts):
        raise ConfigError(f"-o {text}: unknown key '{key}'")
    if key in SCHEMA:
        return key, _check(key, value, None)
    return key, value


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> Config:
    """Read ``path`` (default ``/etc/sentry/sentry.yaml`` if present) and the files its
    ``config_files`` names, then apply ``-o`` overrides.

    ``SENTRY_CONFIG`` in the environment names the default file when ``path`` is None.
    """
    values = {k: copy.deepcopy(spec.default) for k, spec in SCHEMA.items()}
    warnings: list[str] = []
    origin: Path | None = None
    if path is None:
        env = os.environ.get("SENTRY_CONFIG")
        candidate = Path(env) if env else DEFAULT_PATH
        origin = candidate if candidate.is_file() else None
    else:
        origin = Path(path)
        if not origin.is_file():
            raise ConfigError(f"{origin}: no such configuration file")
    doc: dict[str, Any] = {}
    files: list[Path] = []
    if origin is not None:
        doc = read_document(origin)
        files = [
            origin,
            *include_config_files(doc, origin, SCHEMA["config_files"].default, warnings),
        ]
    for text in overrides:
        key, parts, value = parse_assignment(text)
        if not _known_path(parts):
            raise ConfigError(f"-o {text}: unknown key '{key}'")
        set_path(doc, _doc_path(doc, parts), value, text)
    flat = _flatten(doc, origin, warnings)
    values.update(flat)
    return Config(values, origin, warnings, frozenset(flat), files)


def _doc_path(doc: dict[str, Any], parts: list[str | int]) -> list[str | int]:
    """``-o rules_files[0]=x`` edits the document's rules_file when that is the name it uses."""
    if parts and parts[0] == "rules_files" and "rules_file" in doc:
        return ["rules_file", *parts[1:]]
    if parts and parts[0] == "rules_file" and "rules_files" in doc:
        return ["rules_files", *parts[1:]]
    return parts


def apply_log_settings(cfg: Config) -> None:
    """``log_level``, ``log_stderr`` and ``log_syslog`` for Sentry's own log lines; syslog is
    the listener ``syslog_output.socket`` names (``/dev/log`` by default)."""
    configure_log(
        cfg.get("log_level"),
        cfg.get("log_stderr"),
        cfg.get("syslog_output.socket") if cfg.get("log_syslog") else None,
    )
