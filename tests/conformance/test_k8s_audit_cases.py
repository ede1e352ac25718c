"""Falco 0.28.1's k8s audit cases (test/falco_k8s_audit_tests.yaml), through ``sentry run``.

Each case replays its audit file with ``sentry run -e FILE --json`` and Falco's rules, and
must detect what Falco detects (rule counts and priorities) and say what Falco says on
stderr. Then the same audit events are POSTed, one request per line, to a running
``sentry run`` with its web server on 127.0.0.1, and the alerts must be the same.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from falco_case_files import SENTRY, as_list, case_names, check_detection, load_cases

from sentry_daemon import SentryDaemon

pytestmark = pytest.mark.conformance

CASE_FILES = ("falco_k8s_audit_tests.yaml",)


@pytest.fixture(scope="module")
def cases(falco_dir: Path) -> dict[str, dict[str, Any]]:
    return load_cases(falco_dir, CASE_FILES)


@dataclass
class Replay:
    code: int
    alerts: list[dict[str, Any]]
    stderr: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- alerts\n{self.alerts}\n--- stderr\n{self.stderr[-3000:]}"


def _rules_args(test_dir: Path, case: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for f in as_list(case["rules_file"]):
        args += ["-r", str((test_dir / f).resolve())]
    return args


def _parse_alerts(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


_REPLAYS: dict[str, Replay] = {}


def replay(test_dir: Path, name: str, case: dict[str, Any]) -> Replay:
    """``sentry run -r ... -e TRACE --json`` for one case (cached: the HTTP test reuses it)."""
    if name not in _REPLAYS:
        cmd = [
            *SENTRY,
            "run",
            *_rules_args(test_dir, case),
            "-e",
            str(test_dir / case["trace_file"]),
            "--json",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=test_dir)
        _REPLAYS[name] = Replay(proc.returncode, _parse_alerts(proc.stdout), proc.stderr)
    return _REPLAYS[name]


def check_case(case: dict[str, Any], res: Replay) -> None:
    assert res.code == case.get("exit_status", 0), str(res)
    check_detection(
        case,
        Counter(a["rule"] for a in res.alerts),
        Counter(a["priority"] for a in res.alerts),
        res,
    )
    for pattern in as_list(case.get("stderr_contains")):
        # Falco's text for a bad audit line; ours says the same: line number, the line, why.
        assert re.search(re.escape(pattern), res.stderr), f"{pattern!r} not in\n{res}"
    for alert in res.alerts:
        assert {"time", "rule", "priority", "source", "output", "output_fields"} <= set(alert)
        assert alert["source"] == "k8s_audit"
        # As Falco's json event formatter: stamped with %jevt.time (the line's own time),
        # every value text.
        fields = alert["output_fields"]
        assert fields["jevt.time"] == alert["output"].split(": ", 1)[0], alert
        assert "evt.time" not in fields
        assert all(isinstance(v, str) for v in fields.values()), fields


@pytest.mark.parametrize("name", case_names(CASE_FILES))
def test_case_replayed_with_sentry_run_e(
    name: str, cases: dict[str, dict[str, Any]], falco_dir: Path
) -> None:
    case = cases[name]
    check_case(case, replay(falco_dir / "test", name, case))


def test_multi_valued_fields_print_in_parentheses(
    cases: dict[str, dict[str, Any]], falco_dir: Path
) -> None:
    """Falco's ``images=%ka.req.pod.containers.image`` on a two-container pod: ``(a,b)``."""
    name = "create_privileged_2nd_container_pod"
    case = cases[name]
    test_dir = falco_dir / "test"
    res = replay(test_dir, name, case)
    line = (test_dir / case["trace_file"]).read_text().splitlines()[0]
    images = [c["image"] for c in json.loads(line)["requestObject"]["spec"]["containers"]]
    assert len(images) > 1
    expected = "(" + ",".join(images) + ")"
    [alert] = res.alerts
    assert f"images={expected}" in alert["output"], alert
    assert alert["output_fields"]["ka.req.pod.containers.image"] == expected


# -- the same events through the webhook of a running daemon --------------------------------


class Daemon(SentryDaemon):
    """``sentry run`` with only its web server (no syscall source), on 127.0.0.1."""

    def __init__(self, rules: list[str], config: Path, cwd: Path):
        config.write_text(
            "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n"
            "  listen_port: 0\nstdout_output:\n  enabled: true\n"
        )
        super().__init__(
            ["-c", str(config), *rules, "--json", "--disable-source", "syscall"],
            cwd=cwd,
            start_timeout=300,
        )

    def post(self, body: bytes) -> int:
        return self.request("/k8s-audit", body, {"Content-Type": "application/json"})[0]


def _groups(cases: dict[str, dict[str, Any]]) -> dict[tuple[str, ...], list[str]]:
    groups: dict[tuple[str, ...], list[str]] = {}
    for name in sorted(cases):
        groups.setdefault(tuple(as_list(cases[name]["rules_file"])), []).append(name)
    return groups


def _group_ids() -> list[str]:
    from conformance_data import FALCO_DIR

    if not FALCO_DIR.is_dir():
        return ["<conformance data missing>"]
    groups = _groups(load_cases(FALCO_DIR, CASE_FILES))
    return [",".join(Path(f).stem for f in key) for key in groups]


def _comparable(alert: dict[str, Any]) -> tuple[str, str, str, str]:
    return (alert["rule"], alert["priority"], alert["time"], alert["output"])


@pytest.mark.parametrize("group", _group_ids())
def test_same_alerts_over_http(
    group: str, cases: dict[str, dict[str, Any]], falco_dir: Path, tmp_path: Path
) -> None:
    test_dir = falco_dir / "test"
    groups = {",".join(Path(f).stem for f in key): names for key, names in _groups(cases).items()}
    names = groups[group]
    expected: list[tuple[str, str, str, str]] = []
    for name in names:
        res = replay(test_dir, name, cases[name])
        assert res.code == 0, f"{name}: the replay itself failed\n{res}"
        expected += [_comparable(a) for a in res.alerts]
    daemon = Daemon(_rules_args(test_dir, cases[names[0]]), tmp_path / "sentry.yaml", test_dir)
    statuses: dict[str, list[int]] = {}
    try:
        for name in names:
            lines = (test_dir / cases[name]["trace_file"]).read_bytes().splitlines()
            statuses[name] = [daemon.post(line) for line in lines if line.strip()]
    finally:
        code, out = daemon.stop()
    got = [_comparable(a) for a in _parse_alerts(out)]
    assert code == 0, "".join(daemon.stderr)
    for name, codes in statuses.items():
        bad_input = "stderr_contains" in cases[name]  # the case of a line that is not an event
        assert all(c == (400 if bad_input else 200) for c in codes), f"{name}: {codes}"
    assert got == expected


# -- Sentry's own k8s audit rules on the same audit files ----------------------------------

OWN_RULES = Path(__file__).resolve().parents[2] / "rules" / "k8s_audit_rules.yaml"
OWN_EXPECTED = {
    "anonymous_creates_namespace_foo": "K8s Anonymous Request Allowed",
    "attach_cluster_admin_role": "K8s Binding To cluster-admin",
    "attach_pod": "K8s Exec Or Attach To Pod",
    "exec_pod": "K8s Exec Or Attach To Pod",
    "create_cluster_role_pod_exec": "K8s Role Grants Pod Exec",
    "create_cluster_role_wildcard_resources": "K8s Role With Wildcards",
    "create_cluster_role_wildcard_verbs": "K8s Role With Wildcards",
    "create_configmap_sensitive_values": "K8s ConfigMap Holds Credentials",
    "create_nginx_pod_hostnetwork": "K8s Pod Shares Host Namespaces",
    "create_nginx_pod_privileged": "K8s Privileged Pod Requested",
    "create_nginx_pod_privileged_2nd_container": "K8s Privileged Pod Requested",
    "create_nginx_pod_no_secctx_1st_container_privileged_2nd_container": (
        "K8s Privileged Pod Requested"
    ),
    "create_nginx_pod_sensitive_mount": "K8s Pod Mounts Sensitive Host Path",
    "create_nginx_pod_sensitive_mount_2nd_container": "K8s Pod Mounts Sensitive Host Path",
    "create_nginx_service_nodeport": "K8s NodePort Service Created",
    "create_pod_kube_public_namespace": "K8s Pod In System Namespace",
    "create_pod_kube_system_namespace": "K8s Pod In System Namespace",
    "create_serviceaccount_kube_public_namespace": "K8s Service Account In System Namespace",
    "create_serviceaccount_kube_system_namespace": "K8s Service Account In System Namespace",
    "delete_cluster_role_kube_aggregator": "K8s System Role Changed",
    "modify_cluster_role_node_problem_detector": "K8s System Role Changed",
    "delete_namespace_foo": "K8s Namespace Deleted",
    "delete_secret": "K8s Secret Deleted",
}
# Benign counterparts of the files above: our rules must stay quiet on them.
OWN_QUIET = [
    "create_nginx_pod_unprivileged",
    "create_nginx_pod_nohostnetwork",
    "create_nginx_pod_unsensitive_mount",
    "create_nginx_service_nonodeport",
    "create_configmap_no_sensitive_values",
    "create_service_account_token_secret",
    "minikube_creates_namespace_foo",
    "create_deployment",
]


def test_own_rules_load_cleanly() -> None:
    proc = subprocess.run(
        [*SENTRY, "rules", "validate", str(OWN_RULES)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "0 warnings" in proc.stdout + proc.stderr


@pytest.mark.parametrize("name", sorted(OWN_EXPECTED) + OWN_QUIET)
def test_own_rules_on_audit_files(name: str, trace_dir: Path) -> None:
    proc = subprocess.run(
        [
            *SENTRY,
            "run",
            "-r",
            str(OWN_RULES),
            "-e",
            str(trace_dir / "k8s_audit" / f"{name}.json"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rules = {a["rule"] for a in _parse_alerts(proc.stdout)}
    assert rules == ({OWN_EXPECTED[name]} if name in OWN_EXPECTED else set()), proc.stderr
