#!/usr/bin/python3
"""Drives korc's API server with the real Python kubernetes client (Debian python3-kubernetes).

Usage: /usr/bin/python3 python_client.py http://127.0.0.1:PORT

Each step prints one "ok: <step>" line; the first failure prints "FAIL: <step>: <why>" and
exits 1. python_client_test.cc runs this against a fresh `korc apiserver` and checks the
exit code and the "ok:" lines. The client builds request bodies from its models, so they
carry no apiVersion/kind, and it refuses responses whose required fields are null — both
are what this exercises.
"""

import json
import sys
import threading
import traceback

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

NS = "default"
# A socket read timeout on every call, so a server that never answers fails the step
# instead of hanging the test.
TIMEOUT = 30

step = "start"


class Failure(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failure(why)


def ok(what):
    print("ok: " + what, flush=True)


def api_error(call, status, reason):
    """Runs call, which must raise an ApiException with this HTTP status and Status reason."""
    try:
        call()
    except ApiException as e:
        check(e.status == status, "status %s, want %s (body %s)" % (e.status, status, e.body))
        body = json.loads(e.body)
        check(body.get("kind") == "Status", "error body is not a Status: %s" % e.body)
        check(body.get("code") == status, "Status.code %s, want %s" % (body.get("code"), status))
        check(body.get("reason") == reason,
              "Status.reason %r, want %r" % (body.get("reason"), reason))
        return body
    raise Failure("no ApiException, want %s %s" % (status, reason))


def pod_model(name, labels):
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]))


def rc_model(name, replicas):
    labels = {"app": name}
    return client.V1ReplicationController(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1ReplicationControllerSpec(
            replicas=replicas,
            selector=labels,
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[
                    client.V1Container(
                        name="mysql",
                        image="mysql",
                        ports=[client.V1ContainerPort(container_port=3306)],
                        env=[client.V1EnvVar(name="MYSQL_ROOT_PASSWORD", value="secret")])
                ]))))


def run(host):
    global step
    conf = client.Configuration()
    conf.host = host
    v1 = client.CoreV1Api(client.ApiClient(conf))

    step = "list namespaces"
    names = [n.metadata.name for n in v1.list_namespace(_request_timeout=TIMEOUT).items]
    check("default" in names, "namespaces %s lack default" % names)
    ok(step + " " + ",".join(sorted(names)))

    step = "create pod"
    pod = v1.create_namespaced_pod(NS, pod_model("py-pod", {"app": "py", "role": "probe"}),
                                   _request_timeout=TIMEOUT)
    check(pod.kind == "Pod" and pod.api_version == "v1",
          "kind/apiVersion %s/%s" % (pod.kind, pod.api_version))
    check(pod.metadata.uid, "no uid")
    check(pod.metadata.resource_version, "no resourceVersion")
    ok(step)

    step = "create rc"
    rc = v1.create_namespaced_replication_controller(NS, rc_model("py-rc", 1),
                                                     _request_timeout=TIMEOUT)
    check(rc.kind == "ReplicationController", "kind %s" % rc.kind)
    check(rc.spec.replicas == 1, "replicas %s" % rc.spec.replicas)
    ok(step)

    step = "read pod"
    pod = v1.read_namespaced_pod("py-pod", NS, _request_timeout=TIMEOUT)
    check(pod.metadata.labels == {"app": "py", "role": "probe"}, "labels %s" % pod.metadata.labels)
    check(pod.spec.containers[0].image == "busybox", "image %s" % pod.spec.containers[0].image)
    check(pod.status.phase == "Pending", "phase %s" % pod.status.phase)
    ok(step + " phase=" + pod.status.phase)

    step = "read rc"
    rc = v1.read_namespaced_replication_controller("py-rc", NS, _request_timeout=TIMEOUT)
    c = rc.spec.template.spec.containers[0]
    check(c.ports[0].container_port == 3306, "ports %s" % c.ports)
    check(c.env[0].name == "MYSQL_ROOT_PASSWORD", "env %s" % c.env)
    check(rc.spec.selector == {"app": "py-rc"}, "selector %s" % rc.spec.selector)
    ok(step)

    step = "patch rc replicas"
    # A dict body goes out as a strategic merge patch.
    rc = v1.patch_namespaced_replication_controller("py-rc", NS, {"spec": {"replicas": 3}},
                                                    _request_timeout=TIMEOUT)
    check(rc.spec.replicas == 3, "replicas %s after patch" % rc.spec.replicas)
    rc = v1.read_namespaced_replication_controller("py-rc", NS, _request_timeout=TIMEOUT)
    check(rc.spec.replicas == 3, "replicas %s read back" % rc.spec.replicas)
    ok(step + " 3")

    step = "patch rc label"
    rc = v1.patch_namespaced_replication_controller(
        "py-rc", NS, {"metadata": {"labels": {"tier": "db"}}}, _request_timeout=TIMEOUT)
    check(rc.metadata.labels == {"app": "py-rc", "tier": "db"}, "labels %s" % rc.metadata.labels)
    ok(step + " tier=db")

    step = "json patch rc"
    # A list body goes out as a JSON patch.
    rc = v1.patch_namespaced_replication_controller(
        "py-rc", NS, [{"op": "replace", "path": "/spec/replicas", "value": 2}],
        _request_timeout=TIMEOUT)
    check(rc.spec.replicas == 2, "replicas %s after json patch" % rc.spec.replicas)
    ok(step + " 2")

    step = "read scale"
    scale = v1.read_namespaced_replication_controller_scale("py-rc", NS, _request_timeout=TIMEOUT)
    check(scale.spec.replicas == 2, "scale.spec.replicas %s" % scale.spec.replicas)
    ok(step)

    step = "list with label selector"
    rcs = v1.list_namespaced_replication_controller(NS, label_selector="tier=db",
                                                    _request_timeout=TIMEOUT)
    check([r.metadata.name for r in rcs.items] == ["py-rc"], "rcs %s" % rcs.items)
    pods = v1.list_namespaced_pod(NS, label_selector="app=py,role=probe", _request_timeout=TIMEOUT)
    check([p.metadata.name for p in pods.items] == ["py-pod"], "pods %s" % pods.items)
    none = v1.list_namespaced_pod(NS, label_selector="app=nothing", _request_timeout=TIMEOUT)
    check(none.items == [], "app=nothing matched %s" % none.items)
    ok(step)

    step = "service and node"
    svc = v1.create_namespaced_service(NS, client.V1Service(
        metadata=client.V1ObjectMeta(name="py-svc"),
        spec=client.V1ServiceSpec(selector={"app": "py-rc"},
                                  ports=[client.V1ServicePort(port=3306, target_port=3306)])),
        _request_timeout=TIMEOUT)
    check(svc.spec.ports[0].port == 3306, "ports %s" % svc.spec.ports)
    node = v1.create_node(client.V1Node(metadata=client.V1ObjectMeta(name="py-node")),
                          _request_timeout=TIMEOUT)
    check(node.metadata.name == "py-node", "node %s" % node.metadata.name)
    check([n.metadata.name for n in v1.list_node(_request_timeout=TIMEOUT).items] == ["py-node"],
          "nodes listed")
    ok(step)

    step = "list all namespaces"
    pods = v1.list_pod_for_all_namespaces(_request_timeout=TIMEOUT)
    check("py-pod" in [p.metadata.name for p in pods.items], "py-pod missing")
    v1.list_node(_request_timeout=TIMEOUT)
    v1.list_event_for_all_namespaces(_request_timeout=TIMEOUT)
    v1.list_service_for_all_namespaces(_request_timeout=TIMEOUT)
    ok(step)

    step = "watch"
    # Without a resourceVersion the stream opens with the current pods as ADDED; the first of
    # them proves the stream is open, and only then does another thread create a pod, which
    # must arrive as ADDED on the same stream. timeout_seconds makes the server end the
    # stream, and with it the loop.
    created = {}

    def create_during_watch():
        try:
            created["pod"] = v1.create_namespaced_pod(NS, pod_model("py-watched", {"app": "w"}),
                                                      _request_timeout=TIMEOUT)
        except Exception as e:  # reported by the main thread
            created["error"] = e

    creator = threading.Thread(target=create_during_watch)
    creator_started = False
    seen = []
    for event in watch.Watch().stream(v1.list_namespaced_pod, NS, timeout_seconds=5,
                                      _request_timeout=TIMEOUT):
        obj = event["object"]
        check(isinstance(obj, client.V1Pod), "event object is %s" % type(obj))
        seen.append((event["type"], obj.metadata.name))
        if not creator_started:
            creator.start()
            creator_started = True
    check(seen, "the stream ended without an event")
    creator.join()
    if "error" in created:
        raise Failure("create during watch: %s" % created["error"])
    check(seen[0] == ("ADDED", "py-pod"), "first event %s, want ADDED py-pod" % (seen[0],))
    check(("ADDED", "py-watched") in seen, "no ADDED py-watched in %s" % seen)
    ok(step + " ADDED py-watched, stream ended")

    step = "404 NotFound"
    body = api_error(lambda: v1.read_namespaced_pod("no-such-pod", NS, _request_timeout=TIMEOUT),
                     404, "NotFound")
    check("no-such-pod" in body.get("message", ""), "message %r" % body.get("message"))
    ok(step)

    step = "409 AlreadyExists"
    api_error(lambda: v1.create_namespaced_replication_controller(NS, rc_model("py-rc", 1),
                                                                  _request_timeout=TIMEOUT),
              409, "AlreadyExists")
    ok(step)

    step = "422 Invalid"
    body = api_error(lambda: v1.create_namespaced_replication_controller(
        NS, rc_model("py-bad", -1), _request_timeout=TIMEOUT), 422, "Invalid")
    causes = body.get("details", {}).get("causes", [])
    check(any(c.get("field") == "spec.replicas" for c in causes), "causes %s" % causes)
    ok(step + " spec.replicas")

    step = "delete pods"
    for name in ("py-pod", "py-watched"):
        gone = v1.delete_namespaced_pod(name, NS, _request_timeout=TIMEOUT)
        check(gone.metadata.name == name, "delete returned %s" % gone.metadata.name)
        api_error(lambda: v1.read_namespaced_pod(name, NS, _request_timeout=TIMEOUT), 404,
                  "NotFound")
    ok(step)

    step = "delete rc"
    v1.delete_namespaced_replication_controller("py-rc", NS, _request_timeout=TIMEOUT)
    api_error(lambda: v1.read_namespaced_replication_controller("py-rc", NS,
                                                                _request_timeout=TIMEOUT),
              404, "NotFound")
    api_error(lambda: v1.delete_namespaced_replication_controller("py-rc", NS,
                                                                  _request_timeout=TIMEOUT),
              404, "NotFound")
    ok(step)

    step = "delete service and node"
    v1.delete_namespaced_service("py-svc", NS, _request_timeout=TIMEOUT)
    v1.delete_node("py-node", _request_timeout=TIMEOUT)
    check(v1.list_node(_request_timeout=TIMEOUT).items == [], "nodes left")
    ok(step)

    print("python client: all steps passed", flush=True)


def main():
    if len(sys.argv) != 2:
        print("usage: python_client.py http://HOST:PORT", file=sys.stderr)
        return 2
    try:
        run(sys.argv[1])
    except Failure as e:
        print("FAIL: %s: %s" % (step, e), flush=True)
        return 1
    except ApiException as e:
        print("FAIL: %s: ApiException %s %s: %s" % (step, e.status, e.reason, e.body), flush=True)
        return 1
    except Exception:
        print("FAIL: %s: %s" % (step, traceback.format_exc()), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
