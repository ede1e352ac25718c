"""The Helm chart: lint, render with each values set, validate the manifests against the
Kubernetes schemas, and check what each driver kind mounts and sets."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy_tools import CHART, helm_template

from sentry.service.config import load_config

VALUES = {
    "default": [],
    "kmod": ["-f", str(CHART / "ci" / "kmod-values.yaml")],
    "ebpf": ["-f", str(CHART / "ci" / "ebpf-values.yaml")],
    "falcosidekick": ["-f", str(CHART / "ci" / "falcosidekick-values.yaml")],
    "webhook-only": ["-f", str(CHART / "ci" / "webhook-only-values.yaml")],
}


def render(helm: str, *args: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(helm_template(helm, *args)) if d]


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"{kind} {name or ''}: {len(found)} rendered"
    return found[0]


def pod_spec(docs: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = one(docs, "DaemonSet")["spec"]["template"]["spec"]
    return spec


def container(spec: dict[str, Any], name: str, init: bool = False) -> dict[str, Any]:
    (c,) = [c for c in spec["initContainers" if init else "containers"] if c["name"] == name]
    return c


def mounts(c: dict[str, Any]) -> dict[str, str]:
    return {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}


def env(c: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


@pytest.mark.parametrize("values", VALUES)
def test_lint_strict(helm: str, values: str) -> None:
    res = subprocess.run(
        [helm, "lint", "--strict", str(CHART), *VALUES[values]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 chart(s) failed" in res.stdout


@pytest.mark.parametrize("values", VALUES)
def test_manifests_pass_the_kubernetes_schemas(helm: str, values: str) -> None:
    docs = render(helm, *VALUES[values])
    kinds = sorted(d["kind"] for d in docs)
    assert {"ConfigMap", "DaemonSet", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"} <= set(
        kinds
    )
    version = kubernetes_validate.latest_version()
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            pytest.fail(f"{values}: {doc['kind']} {doc['metadata']['name']}: {err.message}")


@pytest.mark.parametrize("values", VALUES)
def test_sentry_yaml_loads_in_sentry_without_warnings(
    helm: str, values: str, tmp_path: Path
) -> None:
    docs = render(helm, *VALUES[values])
    conf = tmp_path / "sentry.yaml"
    conf.write_text(one(docs, "ConfigMap", "sentry")["data"]["sentry.yaml"])
    cfg = load_config(conf)
    assert cfg.warnings == []
    assert cfg.get("webserver.listen_port") == 8765


def test_default_is_auto_with_loader_and_both_drivers_mounts(helm: str) -> None:
    spec = pod_spec(render(helm))
    loader = container(spec, "sentry-driver-loader", init=True)
    agent = container(spec, "sentry")
    assert loader["image"] == "localhost/sentry-driver-loader:0.1.0"
    assert "args" not in loader  # the loader's own order: module first, then eBPF
    assert env(agent)["SENTRY_DRIVER"] == "auto"
    assert env(agent)["HOST_ROOT"] == env(loader)["HOST_ROOT"] == "/host"
    assert env(agent)["SENTRY_K8S_NODE_NAME"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert {
        "/host/dev",
        "/host/sys/module",
        "/host/lib/modules",
        "/host/usr",
        "/host/sys/kernel/btf",
        "/host/proc",
        "/host/etc",
    } <= set(mounts(loader))
    assert agent["securityContext"] == {"runAsUser": 0, "privileged": True}
    assert spec["hostPID"] is True
    assert agent["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8765}
    assert agent["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 8765}
    assert agent["resources"]["limits"] == {"cpu": "1000m", "memory": "1024Mi"}
    tolerated = {t["key"] for t in spec["tolerations"]}
    assert tolerated == {"node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane"}


def test_kmod_mounts_dev_and_sys_module_and_passes_the_drivers_repo(helm: str) -> None:
    spec = pod_spec(render(helm, *VALUES["kmod"]))
    loader = container(spec, "sentry-driver-loader", init=True)
    agent = container(spec, "sentry")
    assert env(agent)["SENTRY_DRIVER"] == "kmod"
    assert env(loader)["SENTRY_DRIVERS_REPO"] == "http://drivers.example.invalid/sentry"
    assert {"/host/dev", "/host/sys/module", "/host/lib/modules"} <= set(mounts(loader))
    assert "/host/sys/kernel/btf" not in mounts(agent)
    paths = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
    assert paths["dev-fs"] == "/dev" and paths["sys-module"] == "/sys/module"


def test_ebpf_has_no_dev_or_sys_module_and_loads_custom_rules(helm: str) -> None:
    docs = render(helm, *VALUES["ebpf"])
    spec = pod_spec(docs)
    loader = container(spec, "sentry-driver-loader", init=True)
    agent = container(spec, "sentry")
    assert loader["args"] == ["--ebpf"]
    assert env(agent)["SENTRY_DRIVER"] == "ebpf"
    for c in (loader, agent):
        assert "/host/dev" not in mounts(c) and "/host/sys/module" not in mounts(c)
        assert mounts(c)["/host/sys/kernel/btf"] == "btf"
    rules = one(docs, "ConfigMap", "sentry-rules")["data"]
    assert list(rules) == ["rules-local.yaml"]
    assert yaml.safe_load(rules["rules-local.yaml"])[0]["rule"] == "Shell in a test pod"
    assert mounts(agent)["/etc/sentry/rules.d"] == "rules"


def test_least_privileged_ebpf_gets_capabilities_not_privileged(helm: str) -> None:
    spec = pod_spec(
        render(helm, "--set", "driver.kind=ebpf", "--set", "driver.ebpf.leastPrivileged=true")
    )
    ctx = container(spec, "sentry")["securityContext"]
    assert "privileged" not in ctx
    assert {"BPF", "PERFMON"} <= set(ctx["capabilities"]["add"])


def test_container_engine_sockets_mounted_under_host_once_each(helm: str) -> None:
    spec = pod_spec(render(helm))
    agent = mounts(container(spec, "sentry"))
    for sock in (
        "/var/run/docker.sock",
        "/run/containerd/containerd.sock",
        "/run/crio/crio.sock",
        "/run/k3s/containerd/containerd.sock",
        "/run/podman/podman.sock",
    ):
        assert "/host" + sock in agent
    docs = render(
        helm,
        "--set",
        "collectors.containerEngine.engines.docker.enabled=false",
        "--set",
        "collectors.containerEngine.engines.podman.sockets[0]=/run/containerd/containerd.sock",
    )
    spec = pod_spec(docs)
    agent = mounts(container(spec, "sentry"))
    assert "/host/var/run/docker.sock" not in agent
    names = [v["name"] for v in spec["volumes"]]
    assert len(names) == len(set(names))
    conf = yaml.safe_load(one(docs, "ConfigMap", "sentry")["data"]["sentry.yaml"])
    engines = conf["container_engines"]
    assert engines["docker"]["enabled"] is False
    assert engines["podman"]["sockets"] == ["/run/containerd/containerd.sock"]
    assert engines["cri"]["enabled"] is True and engines["alert_hold_ms"] == 500


def test_collectors_disabled_turns_every_engine_off(helm: str) -> None:
    docs = render(helm, "--set", "collectors.enabled=false")
    conf = yaml.safe_load(one(docs, "ConfigMap", "sentry")["data"]["sentry.yaml"])
    assert {e["enabled"] for k, e in conf["container_engines"].items() if isinstance(e, dict)} == {
        False
    }
    assert not [m for m in mounts(container(pod_spec(docs), "sentry")) if "sock" in m]


def test_falcosidekick_gets_falco_json_over_http_output(helm: str) -> None:
    docs = render(helm, *VALUES["falcosidekick"])
    conf = yaml.safe_load(one(docs, "ConfigMap", "sentry")["data"]["sentry.yaml"])
    assert conf["http_output"]["enabled"] is True
    assert conf["http_output"]["url"] == "http://falcosidekick.falco.svc.cluster.local:2801/"
    assert conf["json_output"] is True and conf["json_include_output_property"] is True
    docs = render(
        helm, "--set", "falcosidekick.enabled=true", "--set", "falcosidekick.url=http://sk:2801/"
    )
    conf = yaml.safe_load(one(docs, "ConfigMap", "sentry")["data"]["sentry.yaml"])
    assert conf["http_output"]["url"] == "http://sk:2801/"


def test_webserver_service_on_8765(helm: str) -> None:
    svc = one(render(helm), "Service")
    assert svc["spec"]["ports"] == [
        {"name": "http", "port": 8765, "targetPort": "http", "protocol": "TCP"}
    ]
    assert svc["spec"]["selector"]["app.kubernetes.io/name"] == "sentry"


def test_webhook_only_runs_unprivileged_without_host_mounts(helm: str) -> None:
    spec = pod_spec(render(helm, *VALUES["webhook-only"]))
    agent = container(spec, "sentry")
    assert "initContainers" not in spec and "hostPID" not in spec
    assert agent["securityContext"]["runAsNonRoot"] is True
    assert not [m for m in mounts(agent) if m.startswith("/host")]
    assert agent["args"][-2:] == ["--disable-source", "syscall"]


def test_rbac_binds_the_service_account_read_only(helm: str) -> None:
    docs = render(helm)
    role = one(docs, "ClusterRole")
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    assert verbs <= {"get", "list", "watch"}
    binding = one(docs, "ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "sentry", "namespace": "sentry"}
    ]
    assert pod_spec(docs)["serviceAccountName"] == "sentry"


def test_bad_driver_kind_is_refused_by_name(helm: str) -> None:
    res = subprocess.run(
        [helm, "template", "s", str(CHART), "--set", "driver.kind=modern_bpf"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode != 0
    assert "driver.kind must be auto, kmod or ebpf" in res.stderr


def test_chart_app_version_is_the_package_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    version = (CHART.parents[2] / "driver" / "VERSION").read_text().strip()
    assert chart["appVersion"] == version, "bump Chart.yaml's appVersion with driver/VERSION"
