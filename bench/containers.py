"""The container job and SSH jump point rows of `make bench` (issue 14); `MMS_BENCH_ONLY=containers` runs only these.

One `mms-agent start --container-runtime podman --ssh-jump-point` (release binary) on the bench's server, with a
bench-owned containers.conf (../shared/FIELD-NOTES.md "Podman"), a busybox + static bash image built here under a
unique name, an authorized keys file in the bench's temp dir (never ~/.ssh) and, when sshd is installed, a private
sshd on a free port reading that file; then the same with `mms-agent serve` (a push agent) in its place. Rows:
- container job start overhead: job POST -> the main container's first output line read by a log long poll,
  beside `podman run --rm IMAGE true` timed in the same run (interleaved, same CONTAINERS_CONF);
- SSH jump point ready: job POST (and the job's startedAt) -> its key line in the keys file AND `sshCommand` on
  GET /api/v1/jobs/{id}; then a real `ssh` login through the jump point, when sshd runs here.
A row that cannot run here says "skipped: why". Everything made here (containers, networks, the image, the agent,
sshd, keys, files) is removed at the end.
"""
import datetime, os, re, shutil, signal, subprocess, time, uuid

import bench as b

N = 15
RESOURCE = "containerbench"


def podman_env(conf):
    return dict(os.environ, CONTAINERS_CONF=conf)


def sh(line, env, timeout=120):
    p = subprocess.run(["/bin/sh", "-c", line], env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, (p.stdout + p.stderr).strip()


def prepare_podman(d, image):
    """Writes containers.conf and builds `image`; returns (env, None) or (None, why podman cannot run here)."""
    if not shutil.which("podman"):
        return None, "podman is not installed (make deps installs it)"
    for tool in ("/bin/busybox", "/bin/bash-static"):
        if not os.access(tool, os.X_OK):
            return None, f"{tool} is missing (Debian busybox-static, bash-static)"
    conf = os.path.join(d, "containers.conf")
    with open(conf, "w") as f:
        f.write('[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
                '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
    env = podman_env(conf)
    root = os.path.join(d, "image-root")
    build = (f"set -e; r={root}; mkdir -p $r/bin $r/etc $r/tmp; chmod 1777 $r/tmp; cp /bin/busybox $r/bin/; "
             "for a in $(/bin/busybox --list); do [ $a = busybox ] || ln -sf busybox $r/bin/$a; done; "
             "cp /bin/bash-static $r/bin/bash; echo 'root:x:0:0:root:/root:/bin/sh' > $r/etc/passwd; "
             f"tar -C $r -c . | podman import --change 'CMD [\"/bin/sh\"]' - {image} >/dev/null; rm -rf $r")
    rc, out = sh(build, env)
    if rc != 0:
        return None, "cannot build the bench image: " + out[-200:]
    rc, out = sh(f"podman run --rm {image} true", env)
    return (env, None) if rc == 0 else (None, "podman cannot run a container here: " + out[-200:])


def start_sshd(d):
    """A private sshd on a free port reading d/authorized_keys; returns (port, process, None) or (None, None, why not)."""
    for tool in ("/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen"):
        if not os.access(tool, os.X_OK):
            return None, None, f"{tool} is missing"
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mms-bench-host", "-f", f"{d}/host_key"], check=True)
    port = free_port()
    with open(f"{d}/sshd_config", "w") as f:
        f.write(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n"
                f"StrictModes no\nUsePAM no\nPidFile {d}/sshd.pid\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                "PermitRootLogin prohibit-password\nLogLevel ERROR\n")
    proc = b.start(["/usr/sbin/sshd", "-D", "-e", "-f", f"{d}/sshd_config"], "sshd.log")
    try:
        b.wait_for(lambda: b._can_connect(port), 10, "sshd")
    except SystemExit:
        stop(proc)
        return None, None, "sshd did not start: " + open(os.path.join(b.TMP, "sshd.log")).read()[-200:]
    return port, proc, None


def stop(proc):
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_agent(srv, work_dir, keys_file, ssh_port, env):
    """The bench's container + jump point agent; returns (process, uuid) once it is idle."""
    name = "bench-containers-" + uuid.uuid4().hex[:6]
    runtime = ["--container-runtime", "podman"] if env is not None else []
    proc = b.start([os.path.join(b.BIN, "mms-agent"), "start", "--server", srv.url, "--name", name, "--work-dir", work_dir,
                    "--resources", RESOURCE, "--auto-register-key", "bench-key", *runtime, "--ssh-jump-point",
                    "--authorized-keys", keys_file, "--ssh-host", "127.0.0.1", "--ssh-port", str(ssh_port)],
                   "container-agent.log", env=env or dict(os.environ))

    def idle():
        return next((a["uuid"] for a in srv.call("GET", "/api/v1/agents")["agents"] if a["name"] == name and a["status"] == "idle"), None)
    return proc, b.wait_for(idle, 60, "the container agent to be idle")


def wait_done(srv, job_id, seconds=60):
    job = b.wait_for(lambda: (lambda j: j if j["state"] == "completed" else None)(srv.call("GET", f"/api/v1/jobs/{job_id}")),
                     seconds, f"job {job_id} to complete")
    if job["result"] != "passed":
        raise SystemExit(f"job {job_id}: {job['result']}: {job.get('failureReason')}")
    return job


def bench_container_start(srv, image, env, n=N):
    """Interleaved: `podman run --rm IMAGE true` timed, then a container job POST -> its first output line read."""
    runtime, jobs = [], []
    for i in range(n + 1):  # the first pair warms both up and is not counted
        t0 = time.time()
        rc, out = sh(f"podman run --rm {image} true", env)
        if rc != 0:
            raise SystemExit("podman run: " + out[-200:])
        t1 = time.time()
        job = srv.call("POST", "/api/v1/jobs", {"name": f"container start {i}", "commands": ["echo first"],
                                                "containers": [{"name": "main", "image": image}], "resources": [RESOURCE]})
        _, seen = b.read_log_until(srv, job["id"], b"\nfirst\n", t1 + 120)
        wait_done(srv, job["id"])
        if i:
            runtime.append(t1 - t0)
            jobs.append(seen - t1)
    j50, r50 = b.pct(jobs, 50), b.pct(runtime, 50)
    return {"job_p50": b.ms(j50), "job_p90": b.ms(b.pct(jobs, 90)), "runtime_p50": b.ms(r50),
            "runtime_p90": b.ms(b.pct(runtime, 90)), "difference_p50": b.ms(j50 - r50), "n": n, "target_difference_ms": 500}


def started_at(job):
    text = job.get("startedAt")
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def bench_jump_point(srv, work_dir, keys_file, client_key, ssh_port, with_sshd, n=N):
    """Job POST -> key line in the keys file and sshCommand on the job; then a real ssh login when sshd runs."""
    pub = open(client_key + ".pub").read().split()[1]
    from_post, from_start, logins = [], [], []
    for i in range(n):
        t0 = time.time()
        job = srv.call("POST", "/api/v1/jobs", {"name": f"jump point {i}", "resources": [RESOURCE],
                                                "commands": ["echo up", "while [ ! -e stop ]; do sleep 0.05; done"],
                                                "sshPublicKeys": [open(client_key + ".pub").read().strip()]})
        ready, seen = wait_ready(srv, job["id"], keys_file, pub, t0 + 30)
        if seen["sshCommand"] != f"ssh -t -p {ssh_port} {pwd_name()}@127.0.0.1":
            raise SystemExit(f"job {job['id']}: unexpected sshCommand {seen['sshCommand']!r}")
        from_post.append(ready - t0)
        if started_at(seen) is not None:
            from_start.append(ready - started_at(seen))
        job_dir = os.path.join(work_dir, "jobs", str(job["id"]))
        if with_sshd:
            logins.append(ssh_login(client_key, ssh_port, job_dir))
        open(os.path.join(job_dir, "stop"), "w").close()
        wait_done(srv, job["id"])
        b.wait_for(lambda: f"mms-job-{job['id']}" not in read(keys_file), 10, f"job {job['id']}'s key to go")
    out = {"p50": b.ms(b.pct(from_post, 50)), "p99": b.ms(b.pct(from_post, 99)), "n": n, "target_ms": 1000,
           "from_started_p50": b.ms(b.pct(from_start, 50)), "from_started_p99": b.ms(b.pct(from_start, 99))}
    ok = [x for x in logins if x is not None]
    if logins:
        out.update(ssh_login_p50=b.ms(b.pct(ok, 50)), ssh_login_p99=b.ms(b.pct(ok, 99)), ssh_logins=f"{len(ok)}/{len(logins)}")
    return out


def wait_ready(srv, job_id, keys_file, pub, deadline):
    """Polls the keys file and GET /api/v1/jobs/{id} until both show the jump point; returns (when, the job)."""
    key_t = cmd_t = seen = None
    while (key_t is None or cmd_t is None) and time.time() < deadline:
        if key_t is None and any(pub in line and line.endswith(f" mms-job-{job_id}") for line in read(keys_file).splitlines()):
            key_t = time.time()
        if cmd_t is None:
            seen = srv.call("GET", f"/api/v1/jobs/{job_id}")
            if seen.get("sshCommand"):
                cmd_t = time.time()
        time.sleep(0.005)
    if key_t is None or cmd_t is None:
        raise SystemExit(f"jump point of job {job_id} not ready in time (key seen: {key_t is not None}, "
                         f"sshCommand seen: {cmd_t is not None}, state {seen and seen['state']})")
    return max(key_t, cmd_t), seen


def ssh_login(client_key, port, job_dir):
    """A real `ssh … pwd` through the jump point; its time, or None when it did not land in the job dir."""
    args = ["ssh", "-F", "/dev/null", "-i", client_key, "-p", str(port), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=10", f"{pwd_name()}@127.0.0.1", "pwd"]
    t0 = time.time()
    p = subprocess.run(args, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    return time.time() - t0 if p.returncode == 0 and p.stdout.strip() == job_dir else None


def pwd_name():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def cleanup(agent, work_dir, env):
    """Stops the agent (it removes its containers), then removes anything of ours still there; returns what was left."""
    stop(agent)
    left = []
    if env is not None:
        for kind, ls, rm in (("container", "podman ps -a --filter label=mms.owner={} --format '{{{{.Names}}}}'", "podman rm -f -t 0"),
                             ("network", "podman network ls --filter label=mms.owner={} --format '{{{{.Name}}}}'", "podman network rm -f")):
            names = [x for x in sh(ls.format(work_dir), env)[1].splitlines() if x and not x.startswith("failed to connect to syslog")]
            for name in names:
                sh(f"{rm} {name}", env)
            left += [f"{kind} {x}" for x in names]
    return left


def start_push_agent(srv, work_dir, keys_file, ssh_port, env):
    """The same agent as a push agent (`mms-agent serve --insecure-http` on 127.0.0.1) added to `srv`; returns
    (process, uuid) once it is idle. The ssh command's host is left to the agent: the host of the URL it was added with."""
    secret = uuid.uuid4().hex + uuid.uuid4().hex
    runtime = ["--container-runtime", "podman"] if env is not None else []
    log = "container-push-agent.log"
    proc = b.start([os.path.join(b.BIN, "mms-agent"), "serve", "--insecure-http", "--host", "127.0.0.1", "--port", "0",
                    "--work-dir", work_dir, *runtime, "--ssh-jump-point", "--authorized-keys", keys_file, "--ssh-port", str(ssh_port)],
                   log, env=dict(env or os.environ, MMS_AGENT_AUTH_TOKEN_SECRET=secret))
    url = b.wait_for(lambda: (re.search(r"serving on (http://\S+)", read(os.path.join(b.TMP, log))) or [None, None])[1],
                     30, "the container push agent to serve")
    agent = srv.call("POST", "/api/v1/agents/push", {"name": "bench-containers-push-" + uuid.uuid4().hex[:6], "url": url,
                                                     "authTokenSecret": secret, "resources": [RESOURCE]})
    b.wait_for(lambda: srv.call("GET", f"/api/v1/agents/{agent['uuid']}")["status"] == "idle", 30, "the container push agent to be idle")
    return proc, agent["uuid"]


def remove_agent(srv, agent_uuid):
    """Disables and deletes a stopped agent, so the rest of the bench does not see it go Lost Contact."""
    try:
        srv.call("PATCH", f"/api/v1/agents/{agent_uuid}", {"configState": "disabled"})
        srv.call("DELETE", f"/api/v1/agents/{agent_uuid}")
    except (SystemExit, Exception):
        pass


def measure(srv, results, prefix, image, env, why, work_dir, keys_file, client_key, port, ssh_port, ssh_why):
    """The two rows for the agent that is running now, under `prefix` ("" pull, "push_" push)."""
    try:
        results[prefix + "container_start_ms"] = {"skipped": why} if why else bench_container_start(srv, image, env)
    except (SystemExit, Exception) as e:
        results[prefix + "container_start_ms"] = {"error": str(e)[-300:]}
    try:
        if client_key is None:
            results[prefix + "ssh_jump_ms"] = {"skipped": "ssh-keygen is missing (Debian openssh-client)"}
        else:
            results[prefix + "ssh_jump_ms"] = bench_jump_point(srv, work_dir, keys_file, client_key, port, ssh_port is not None)
            if ssh_why:
                results[prefix + "ssh_jump_ms"]["ssh_login"] = "skipped: " + ssh_why
    except (SystemExit, Exception) as e:
        results[prefix + "ssh_jump_ms"] = {"error": str(e)[-300:]}


def run(srv, results):
    """Adds results["container_start_ms"] and results["ssh_jump_ms"] (a pull agent), and the same with "push_" in front
    (a push agent); each a figure dict, or {"skipped": why}."""
    d = os.path.join(b.TMP, "containers")
    os.makedirs(d)
    image = f"localhost/mms-bench-{uuid.uuid4().hex[:10]}:1"
    env, why = prepare_podman(d, image)
    keys_file = os.path.join(d, "authorized_keys")
    open(keys_file, "w").close()
    client_key, ssh_port, sshd, ssh_why = None, None, None, None
    if shutil.which("ssh-keygen"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mms-bench", "-f", f"{d}/client_key"], check=True)
        client_key = f"{d}/client_key"
        ssh_port, sshd, ssh_why = start_sshd(d)
    port = ssh_port or free_port()  # without sshd the ssh command still names a port
    try:
        for prefix, starter in (("", start_agent), ("push_", start_push_agent)):
            work_dir = os.path.join(d, (prefix or "pull_") + "agent")
            agent, agent_uuid = None, None
            try:
                agent, agent_uuid = starter(srv, work_dir, keys_file, port, env)
                measure(srv, results, prefix, image, env, why, work_dir, keys_file, client_key, port, ssh_port, ssh_why)
            except (SystemExit, Exception) as e:
                results.setdefault(prefix + "container_start_ms", {"error": str(e)[-300:]})
            finally:
                left = cleanup(agent, work_dir, env)
                if agent_uuid:
                    remove_agent(srv, agent_uuid)
                if left:
                    results.setdefault(prefix + "container_start_ms", {})["left_behind"] = left
    finally:
        if env is not None:
            sh(f"podman rmi -f {image}", env)
        stop(sshd)


def rows(r, row):
    """The table rows (bench.table's `row`): the pull agent's, then the push agent's."""
    for prefix, who in (("", ""), ("push_", "push agent: ")):
        container_rows(r.get(prefix + "container_start_ms"), who, row)
        jump_rows(r.get(prefix + "ssh_jump_ms"), who, row)


def container_rows(c, who, row):
    if c is None:
        return
    if "job_p50" in c:
        row(who + "container job start (POST -> first output)", f"p50 {c['job_p50']} ms, p90 {c['job_p90']} ms", "", None)
        row("  podman run --rm IMAGE true / difference", f"p50 {c['runtime_p50']} ms (p90 {c['runtime_p90']}) / "
            f"{c['difference_p50']:+} ms",
            "<= +500 ms", c["difference_p50"] <= 500)
    else:
        row(who + "container job start overhead", "skipped: " + c["skipped"] if "skipped" in c else "FAILED: " + c.get("error", "?"),
            "<= +500 ms", None if "skipped" in c else False)
    if c.get("left_behind"):
        row("  left behind (removed by the bench)", ", ".join(c["left_behind"]), "none", False)


def jump_rows(s, who, row):
    if s is None:
        return
    if "p50" in s:
        row(who + "SSH jump point ready (POST -> key + sshCommand)", f"p50 {s['p50']} ms, p99 {s['p99']} ms", "<= 1000 ms",
            s["p99"] <= 1000)
        row("  from the job's startedAt", f"p50 {s['from_started_p50']} ms, p99 {s['from_started_p99']} ms", "", None)
        if "ssh_login_p50" in s:
            row("  real ssh login through it (ssh ... pwd)", f"p50 {s['ssh_login_p50']} ms, {s['ssh_logins']} ok", "", None)
        elif "ssh_login" in s:
            row("  real ssh login through it", s["ssh_login"], "", None)
    else:
        row(who + "SSH jump point ready", "skipped: " + s["skipped"] if "skipped" in s else "FAILED: " + s.get("error", "?"),
            "<= 1000 ms", None if "skipped" in s else False)
