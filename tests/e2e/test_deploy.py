# SPDX-License-Identifier: MIT
"""deploy/k8s/: every manifest against the official Kubernetes API schemas
(npm kubernetes-models, through tests/deploy/validate.mjs), broken copies
rejected (so the check can fail), and the policies the DaemonSet promises
(README.md of deploy/k8s): host PID namespace, not privileged, every
capability dropped but a justified few, read-only root and host mounts,
liveness on /healthz, runs on every node, bounded resources."""
import copy
import json
import re

import pytest

import deployment as dep
from deployment import agent_container, pod_spec, security, the

# The capabilities loading needs, each justified in daemonset.yaml and
# checked needed by test_image.py::test_image_fails_without_each_capability.
CAPS = {"BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH",
        "CHECKPOINT_RESTORE", "SETPCAP", "SYSLOG"}
# Host paths sysscope reads (--proc, cgroups, the runtimes' metadata).
HOST_PATHS = {"/proc", "/sys/fs/cgroup",
              "/run/containerd/io.containerd.runtime.v2.task",
              "/run/containers/storage/overlay-containers",
              "/var/lib/docker/containers"}


@pytest.fixture(scope="module")
def deps():
    return dep.node_deps()


@pytest.fixture(scope="module")
def objects(deps):
    return dep.manifests(deps)


@pytest.fixture(scope="module")
def ds(objects):
    return the("DaemonSet", objects)


# ---- schemas ------------------------------------------------------------------

def test_every_manifest_is_valid(deps):
    rc, _, out = dep.validate([dep.K8S_DIR], deps, json_out=False)
    assert rc == 0, out
    lines = [l for l in out.splitlines() if l.startswith(("ok", "FAIL"))]
    assert lines and all(l.startswith("ok") for l in lines), out


def test_manifests_hold_the_expected_objects(objects):
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["DaemonSet", "Namespace", "Service", "ServiceAccount"]


def mutate_container_port(ds):
    agent_container(ds)["ports"][0]["containerPort"] = "8080"


def mutate_unknown_pod_field(ds):
    pod_spec(ds)["hostPid"] = True          # the field is hostPID


def mutate_unknown_security_field(ds):
    agent_container(ds)["securityContext"]["readonlyRootFilesystem"] = True


def mutate_unknown_mount_field(ds):
    agent_container(ds)["volumeMounts"][0]["readonly"] = True


def mutate_missing_selector(ds):
    del ds["spec"]["selector"]


def mutate_bad_enum(ds):
    pod_spec(ds)["tolerations"][0]["operator"] = "Everything"


def mutate_caps_not_a_list(ds):
    agent_container(ds)["securityContext"]["capabilities"]["add"] = "BPF"


@pytest.mark.parametrize("mutate,expect", [
    (mutate_container_port, "containerPort must be integer"),
    (mutate_unknown_pod_field, 'unknown field "hostPid"'),
    (mutate_unknown_security_field, 'unknown field "readonlyRootFilesystem"'),
    (mutate_unknown_mount_field, 'unknown field "readonly"'),
    (mutate_missing_selector, "required property selector"),
    (mutate_bad_enum, "operator must be equal to one of the allowed values"),
    (mutate_caps_not_a_list, "capabilities/add must be array"),
])
def test_broken_copy_is_rejected(deps, ds, tmp_path, mutate, expect):
    broken = copy.deepcopy(ds)
    mutate(broken)
    # JSON is YAML: the same reader takes it.
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    rc, docs, out = dep.validate([path], deps)
    assert rc == 1, f"validate.mjs accepted a broken DaemonSet:\n{out}"
    errors = docs[0]["errors"]
    assert any(expect in e for e in errors), errors
    # ...and only for what was broken.
    assert len(errors) <= 2, errors


def test_broken_yaml_is_rejected(deps, tmp_path):
    text = (dep.K8S_DIR / "service.yaml").read_text()
    dup = tmp_path / "dup.yaml"
    dup.write_text(text.replace("  name: sysscope\n",
                                "  name: sysscope\n  name: other\n", 1))
    unknown = tmp_path / "kind.yaml"
    unknown.write_text(text.replace("kind: Service", "kind: Servise"))
    for path, expect in ((dup, "Map keys must be unique"),
                         (unknown, "unknown apiVersion/kind")):
        rc, docs, out = dep.validate([path], deps)
        assert rc == 1 and any(expect in e for e in docs[0]["errors"]), out


def test_the_original_passes_the_same_check(deps, ds, tmp_path):
    """The copies above fail for their change, not for being copies."""
    path = tmp_path / "same.json"
    path.write_text(json.dumps(ds))
    rc, docs, out = dep.validate([path], deps)
    assert rc == 0 and not docs[0]["errors"], out


# ---- policies -----------------------------------------------------------------

def test_objects_fit_together(objects, ds):
    ns = the("Namespace", objects)["metadata"]["name"]
    for o in objects:
        if o["kind"] != "Namespace":
            assert o["metadata"].get("namespace") == ns, o["metadata"]
    sa = the("ServiceAccount", objects)
    assert pod_spec(ds)["serviceAccountName"] == sa["metadata"]["name"]
    labels = ds["spec"]["template"]["metadata"]["labels"]
    for k, v in ds["spec"]["selector"]["matchLabels"].items():
        assert labels.get(k) == v
    svc = the("Service", objects)
    for k, v in svc["spec"]["selector"].items():
        assert labels.get(k) == v, "the Service selects no agent pod"
    names = {p["name"] for p in agent_container(ds)["ports"]}
    for p in svc["spec"]["ports"]:
        assert p["targetPort"] in names, p


def test_no_api_access(objects, ds):
    assert the("ServiceAccount", objects)["automountServiceAccountToken"] \
        is False
    assert pod_spec(ds)["automountServiceAccountToken"] is False


def test_host_pid_not_privileged(ds):
    spec = pod_spec(ds)
    assert spec.get("hostPID") is True
    assert not spec.get("hostNetwork") and not spec.get("hostIPC")
    sc = security(ds)
    assert sc.get("privileged") is not True
    assert sc.get("allowPrivilegeEscalation") is False
    assert sc.get("runAsUser") == 0


def test_capabilities_drop_all_add_only_the_justified(ds):
    caps = security(ds)["capabilities"]
    assert caps["drop"] == ["ALL"]
    added = caps["add"]
    assert len(added) == len(set(added)), added
    assert set(added) == CAPS, f"added {sorted(added)}, expected {sorted(CAPS)}"
    assert not {"SYS_ADMIN", "CAP_SYS_ADMIN", "ALL"} & set(added)


def test_each_capability_is_justified_in_a_comment():
    lines = (dep.K8S_DIR / "daemonset.yaml").read_text().splitlines()
    for cap in CAPS:
        i = next(i for i, l in enumerate(lines)
                 if re.fullmatch(rf"\s*- {cap}", l))
        assert lines[i - 1].strip().startswith("#"), \
            f"capability {cap}: no comment says why"


def test_seccomp_unconfined_only_with_a_reason(ds):
    sc = security(ds)
    kind = (sc.get("seccompProfile") or {}).get("type")
    if kind == "Unconfined":
        text = (dep.K8S_DIR / "daemonset.yaml").read_text()
        before = text[:text.index("type: Unconfined")].splitlines()[-12:]
        assert sum(l.strip().startswith("#") for l in before) >= 3, \
            "seccomp Unconfined without a comment saying why"
    assert (sc.get("appArmorProfile") or {}).get("type") != "Unconfined"


def test_read_only_root_and_host(ds):
    assert security(ds)["readOnlyRootFilesystem"] is True
    mounts = dep.host_mounts(ds)
    assert {src for src, *_ in mounts} == HOST_PATHS
    for src, dst, vm, vol in mounts:
        assert vm.get("readOnly") is True, f"{dst} is writable"
        assert vm.get("recursiveReadOnly") in ("IfPossible", "Enabled"), dst
        assert dst == "/host" + src, f"{src} mounted at {dst}, not /host{src}"
        assert not vm.get("mountPropagation") or \
            vm["mountPropagation"] == "None", dst
    # Nothing else is mounted: no writable volume of any kind.
    assert len(agent_container(ds)["volumeMounts"]) == len(mounts)
    # No runtime socket, nor a whole runtime state directory holding one.
    for src, *_ in mounts:
        assert src.rstrip("/") not in ("/", "/run", "/var/run",
                                       "/run/containerd", "/run/containers",
                                       "/var/lib/docker", "/run/crio")
        assert not src.endswith(".sock"), src


def test_args_match_mounts_and_contract(ds):
    args = agent_container(ds)["args"]
    assert args[0] == "agent"
    assert dep.arg_value(args, "host-root") == "/host"
    assert dep.arg_value(args, "proc") == "/host/proc"
    assert any(dst == "/host/proc" for _, dst, *_ in dep.host_mounts(ds))
    listen = dep.arg_value(args, "listen")
    port = next(p for p in agent_container(ds)["ports"]
                if p["name"] == "http")
    assert listen and listen.rsplit(":", 1)[1] == str(port["containerPort"])


def test_liveness_on_healthz(ds):
    c = agent_container(ds)
    for probe in ("livenessProbe", "readinessProbe"):
        get = c[probe]["httpGet"]
        assert get["path"] == "/healthz", probe
        assert get["port"] in ("http", 8080), probe


def test_runs_on_every_node(ds):
    tolerations = pod_spec(ds)["tolerations"]
    # operator Exists with no key and no effect tolerates every taint.
    assert any(t.get("operator") == "Exists" and not t.get("key") and
               not t.get("effect") for t in tolerations), tolerations
    assert not pod_spec(ds).get("affinity")
    assert set(pod_spec(ds).get("nodeSelector", {})) <= {"kubernetes.io/os"}


def test_resources_bounded_and_consistent(ds):
    c = agent_container(ds)
    res = c["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(res[kind]), res
    limit = dep.quantity(res["limits"]["memory"])
    cap = dep.size_arg(dep.arg_value(c["args"], "memory-limit"))
    # The limit holds the profiles (--memory-limit) plus the BPF maps,
    # charged to the pod's memory cgroup (~130 MiB at the default sizes).
    assert limit >= cap + 128 * 2**20, \
        f"memory limit {res['limits']['memory']} leaves no room beside " \
        f"--memory-limit for the BPF maps"
    assert dep.quantity(res["requests"]["memory"]) <= limit
    assert dep.quantity(res["requests"]["cpu"]) <= \
        dep.quantity(res["limits"]["cpu"])


def test_namespace_allows_the_pod(objects):
    labels = the("Namespace", objects)["metadata"].get("labels", {})
    # hostPID, hostPath and the added capabilities are refused by the
    # baseline and restricted Pod Security levels.
    assert labels.get("pod-security.kubernetes.io/enforce") == "privileged"
