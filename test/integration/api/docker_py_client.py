"""docker-py's high-level API against Wharf's Engine API, step by step.

Run by test/integration/api/docker-py.test.ts with DOCKER_HOST pointing at `wharf system service`:

    python3 docker_py_client.py REGISTRY_HOST:PORT WORK_DIR

Every step prints one line `STEP <name> ok|fail|pending <detail>` and the script goes on after a failure, so one run
shows everything docker-py trips on. A step is `pending` (not a failure) when it needs an endpoint that Wharf does not
serve yet and the service answered 404 "page not found" for it; the test names those steps. The exit status is 1 when
any step failed. Loopback only: the registry is `wharf registry serve` on 127.0.0.1, the ports are published on
127.0.0.1.
"""

import io
import json
import os
import socket
import sys
import tarfile
import time
import traceback
import urllib.request

import docker
from docker.errors import APIError, NotFound

REGISTRY = sys.argv[1]
WORK = sys.argv[2]
failed = []


def report(name, status, detail=""):
    detail = " ".join(str(detail).split())[:600]
    print(f"STEP {name} {status} {detail}", flush=True)


def step(name, pending_endpoint=None):
    """Runs the function as one step. pending_endpoint: the endpoint it needs that Wharf may not serve yet."""

    def run(fn):
        try:
            fn()
            report(name, "ok")
        except Exception as err:  # noqa: BLE001 - every failure is reported, the script goes on
            if (
                pending_endpoint
                and isinstance(err, APIError)
                and err.status_code == 404
                and "page not found" in str(err)
            ):
                report(name, "pending", f"needs {pending_endpoint}: {err}")
                return fn
            failed.append(name)
            report(name, "fail", f"{type(err).__name__}: {err} | {traceback.format_exc().splitlines()[-3:]}")
        return fn

    return run


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(port, path="/"):
    last = None
    for _ in range(50):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as r:
                return r.read().decode()
        except Exception as err:  # noqa: BLE001 - the server may not listen yet
            last = err
            time.sleep(0.1)
    raise last


# docker-py 5 pins API 1.41 by default, 7 negotiates ("auto"): both are what their users get from from_env().
client = docker.from_env(timeout=60)
api = client.api
state = {}
started_at = int(time.time()) - 1


@step("ping/version/info")
def _():
    check(client.ping() is True, "ping is True")
    v = client.version()
    check(v["ApiVersion"] and v["Os"] == "linux", f"version: {v}")
    info = client.info()
    check(isinstance(info["Images"], int) and info["OSType"] == "linux", f"info: {info.get('OSType')}")


@step("images.list/get")
def _():
    tags = [t for i in client.images.list() for t in i.tags]
    check("busybox:latest" in tags, f"busybox in {tags}")
    image = client.images.get("busybox")
    check(image.id.startswith("sha256:"), image.id)
    check(image.attrs["Config"]["Cmd"] == ["sh"], image.attrs["Config"])
    check(client.images.list(name="busybox")[0].id == image.id, "list(name=)")
    try:
        client.images.get("nope:v9")
        raise AssertionError("get of a missing image")
    except docker.errors.ImageNotFound:
        pass


@step("images.build", pending_endpoint="POST /build")
def _():
    dockerfile = b"FROM busybox\nRUN echo built > /built\nCMD [\"cat\", \"/built\"]\n"
    image, logs = client.images.build(fileobj=io.BytesIO(dockerfile), tag="pybuilt:v1", rm=True)
    check("pybuilt:v1" in image.tags, f"tags {image.tags}")
    check(any("stream" in entry for entry in logs), "build log has stream lines")
    check(client.containers.run("pybuilt:v1", remove=True) == b"built\n", "the built image runs")
    client.images.remove("pybuilt:v1")


@step("images.push")
def _():
    repo = f"{REGISTRY}/py/bb"
    check(client.images.get("busybox").tag(repo, "v1"), "tag")
    lines = list(client.images.push(repo, tag="v1", stream=True, decode=True))
    errors = [entry for entry in lines if "error" in entry]
    check(not errors, f"push errors {errors}")
    check(any("aux" in entry and entry["aux"].get("Digest") for entry in lines), f"aux digest in {lines[-2:]}")
    state["pushed"] = f"{repo}:v1"


@step("images.remove/pull")
def _():
    ref = state["pushed"]
    client.images.remove(ref)
    check(not any(ref in i.tags for i in client.images.list()), "removed")
    image = client.images.pull(f"{REGISTRY}/py/bb", tag="v1")
    check(ref in image.tags, f"pulled {image.tags}")
    client.images.remove(ref)
    try:
        client.images.pull(f"{REGISTRY}/py/bb", tag="nope")
        raise AssertionError("pull of a missing tag")
    except NotFound:
        pass


@step("containers.run (foreground, output)")
def _():
    out = client.containers.run("busybox", ["sh", "-c", "echo hi; echo err >&2"], remove=True)
    check(out == b"hi\n", f"stdout {out!r}")
    both = client.containers.run("busybox", ["sh", "-c", "echo hi; echo err >&2"], remove=True, stderr=True)
    check(sorted(both.split()) == [b"err", b"hi"], f"stdout+stderr {both!r}")
    try:
        client.containers.run("busybox", ["sh", "-c", "echo bad >&2; exit 3"], remove=True)
        raise AssertionError("a failing command raises")
    except docker.errors.ContainerError as err:
        check(err.exit_status == 3 and b"bad" in err.stderr, f"ContainerError {err.exit_status} {err.stderr!r}")


@step("volumes.create/list/get")
def _():
    vol = client.volumes.create("pyvol", labels={"k": "v"})
    check(vol.name == "pyvol" and vol.attrs["Labels"] == {"k": "v"}, vol.attrs)
    check("pyvol" in [v.name for v in client.volumes.list()], "listed")
    check(client.volumes.list(filters={"label": "k=v"})[0].name == "pyvol", "label filter")
    check(client.volumes.get("pyvol").attrs["Mountpoint"], "get")


@step("containers.run (detach, auto_remove, ports, volumes, environment)")
def _():
    port = free_port()
    c = client.containers.run(
        "busybox",
        ["sh", "-c", 'echo "$GREETING" > /data/index.html; echo started; exec httpd -f -p 80 -h /data'],
        detach=True,
        auto_remove=True,
        name="pyweb",
        ports={"80/tcp": ("127.0.0.1", port)},
        volumes={"pyvol": {"bind": "/data", "mode": "rw"}},
        environment={"GREETING": "hello from docker-py"},
        labels={"suite": "docker-py"},
    )
    state["web"] = c
    c.reload()
    check(c.status == "running", c.status)
    check(c.name == "pyweb", c.name)
    check(c.ports.get("80/tcp", [{}])[0].get("HostPort") == str(port), f"ports {c.ports}")
    check(c.labels == {"suite": "docker-py"}, c.labels)
    check(http_get(port) == "hello from docker-py\n", "httpd serves the volume")
    check([x.name for x in client.containers.list(filters={"label": "suite=docker-py"})] == ["pyweb"], "list filter")


@step("containers.logs (stream too)")
def _():
    c = state["web"]
    for _ in range(50):
        if c.logs() == b"started\n":
            break
        time.sleep(0.1)
    check(c.logs() == b"started\n", f"logs {c.logs()!r}")
    check(c.logs(timestamps=True).split(b" ", 1)[1] == b"started\n", "timestamps")
    lines = c.logs(stream=True, follow=False)
    check(b"".join(lines) == b"started\n", "stream without follow")
    s = client.containers.run("busybox", ["sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done"], detach=True)
    got = b"".join(s.logs(stream=True, follow=True))
    check(got == b"line1\nline2\nline3\n", f"followed {got!r}")
    check(s.wait()["StatusCode"] == 0, "wait")
    s.remove()


@step("exec_run (no tty, tty, demux, exit code, environment, workdir)")
def _():
    c = state["web"]
    r = c.exec_run(["sh", "-c", "echo out; echo err >&2; exit 4"])
    check(r.exit_code == 4, f"exit code {r.exit_code}")
    check(sorted(r.output.split()) == [b"err", b"out"], f"output {r.output!r}")
    r = c.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
    check(r.output == (b"out\n", b"err\n"), f"demux {r.output!r}")
    r = c.exec_run(["sh", "-c", "tty; echo hi"], tty=True)
    check(r.exit_code == 0 and r.output.endswith(b"hi\r\n") and b"/dev/pts/" in r.output, f"tty {r.output!r}")
    r = c.exec_run("pwd", workdir="/data", environment={"X": "1"})
    check(r.output == b"/data\n", f"workdir {r.output!r}")
    r = c.exec_run(["sh", "-c", 'echo "$X"'], environment={"X": "from-env"}, user="www")
    check(r.output == b"from-env\n", f"env {r.output!r}")
    r = c.exec_run(["sh", "-c", "echo a; sleep 0.2; echo b"], stream=True)
    check(b"".join(r.output) == b"a\nb\n", "streamed exec")
    # Detached: docker-py inspects the exec right after its start, which still runs (ExitCode null).
    r = c.exec_run("sleep 1", detach=True)
    check(r.exit_code is None and not r.output, f"detached exec {r!r}")
    try:
        r = c.exec_run("no-such-command")
        check(r.exit_code in (126, 127), f"missing command exit {r.exit_code}")
    except APIError as err:
        # dockerd 20.10+ answers the start of a missing command with 400 (hijacked connections cannot).
        check(err.status_code in (400, 404, 500), str(err))


@step("put_archive/get_archive")
def _():
    c = state["web"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"from the archive\n"
        info = tarfile.TarInfo("put.txt")
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    check(c.put_archive("/data", buf.getvalue()) is True, "put_archive")
    chunks, stat = c.get_archive("/data/put.txt")
    check(stat["name"] == "put.txt" and stat["size"] == len(data), f"stat {stat}")
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
        check(tar.extractfile("put.txt").read() == data, "content")
    _, dstat = c.get_archive("/data")
    check(dstat["name"] == "data" and dstat["mode"] & 0x80000000, f"dir stat {dstat}")
    try:
        c.get_archive("/nonexistent")
        raise AssertionError("missing path")
    except NotFound:
        pass


@step("containers.list/get/top/stop/wait (auto_remove)")
def _():
    c = state["web"]
    check(client.containers.get("pyweb").id == c.id, "get by name")
    check(c.id in [x.id for x in client.containers.list()], "listed")
    top = c.top()
    check(top["Titles"] and any("httpd" in " ".join(p) for p in top["Processes"]), f"top {top}")
    c.stop(timeout=2)
    result = c.wait(condition="removed")
    check(result["StatusCode"] in (0, 137, 143), f"wait {result}")
    try:
        client.containers.get("pyweb")
        raise AssertionError("auto_remove removed it")
    except NotFound:
        pass


@step("containers.create/start/wait/remove, volumes.remove")
def _():
    # docker-py sends the health check fields it was not given as null: Go's zero, "the image's".
    check_interval = {"test": ["CMD", "true"], "interval": 1_000_000_000}
    c = client.containers.create("busybox", ["sh", "-c", "exit 7"], name="pyexit", healthcheck=check_interval)
    check(c.status == "created", c.status)
    health = c.attrs["Config"]["Healthcheck"]
    check(health == {"Test": ["CMD", "true"], "Interval": 1_000_000_000}, f"healthcheck {health}")
    c.start()
    check(c.wait(timeout=30)["StatusCode"] == 7, "wait 7")
    c.reload()
    check(c.attrs["State"]["ExitCode"] == 7, "exit code in inspect")
    c.remove(v=True)
    client.volumes.get("pyvol").remove()
    check("pyvol" not in [v.name for v in client.volumes.list()], "volume removed")
    try:
        client.containers.get("pyexit")
        raise AssertionError("removed")
    except NotFound:
        pass


@step("containers.prune/images.prune")
def _():
    client.containers.create("busybox", "true", labels={"prune": "me"})
    pruned = client.containers.prune(filters={"label": "prune=me"})
    check(len(pruned["ContainersDeleted"] or []) == 1, f"prune {pruned}")
    check(isinstance(client.images.prune(filters={"dangling": True}), dict), "images.prune")


@step("events with filters")
def _():
    until = int(time.time()) + 1
    events = list(
        client.events(since=started_at, until=until, filters={"type": "container", "event": "die"}, decode=True)
    )
    check(events, "die events")
    check(all(e["Type"] == "container" and e["Action"] == "die" for e in events), f"filtered {events[:2]}")
    check(any(e["Actor"]["Attributes"].get("name") == "pyexit" for e in events), "pyexit died")
    check(all(e["Actor"]["Attributes"].get("exitCode") is not None for e in events), "exitCode attribute")
    vols = list(client.events(since=started_at, until=until, filters={"type": "volume"}, decode=True))
    check({e["Action"] for e in vols} >= {"create", "destroy"}, f"volume events {[e['Action'] for e in vols]}")
    # A live stream: the events of a container started after the call, then closed by the client.
    stream = client.events(filters={"type": "container", "event": "start"}, decode=True)
    c = client.containers.run("busybox", "true", detach=True, name="pyevents")
    first = next(stream)
    stream.close()
    check(first["Actor"]["Attributes"]["name"] == "pyevents", f"live event {first}")
    c.wait()
    c.remove()


@step("errors: 404 and 409")
def _():
    try:
        client.containers.get("nope")
        raise AssertionError("404")
    except NotFound as err:
        check("No such container" in str(err), str(err))
    c = client.containers.run("busybox", "sleep 30", detach=True, name="pybusy")
    try:
        client.containers.create("busybox", name="pybusy")
        raise AssertionError("name taken")
    except APIError as err:
        check(err.status_code == 409, str(err))
    try:
        c.remove()
        raise AssertionError("remove a running container")
    except APIError as err:
        check(err.status_code == 409, str(err))
    c.remove(force=True)


print(json.dumps({"failed": failed, "docker_py": docker.__version__, "python": sys.version.split()[0]}), flush=True)
sys.exit(1 if failed else 0)
