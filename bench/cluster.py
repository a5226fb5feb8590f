"""make bench, cluster column: three mms-server replicas on one throwaway PostgreSQL 15.

Figures: dispatch (job POST on replica A -> first output byte read by a log long poll on C, the agent
polling B), log latency (agent appending through B, reader on C), cancel (POST on A, agent on B),
cross-replica wake (a job POST on A -> the `next` poll held on B answers), 10,000 simulated agents
spread over the three (ping p99, every poll held), and how long agents of a killed replica take to be
served by another. Bounded like the rest of the bench; loopback only.
"""
import datetime, json, os, re, signal, subprocess, threading, time, urllib.error, urllib.request, uuid

import bench as b

PGBIN = "/usr/lib/postgresql/15/bin"


def as_postgres(*cmd):
    prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    return subprocess.run(prefix + list(cmd), capture_output=True, text=True, timeout=60)


class Postgres:
    """A throwaway cluster in the bench's temp dir, stopped by `stop`."""

    def __init__(self):
        self.dir = os.path.join(b.TMP, "pg")
        os.makedirs(self.dir)
        if os.getuid() == 0:
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(b.TMP, pw.pw_uid, pw.pw_gid)  # postgres must reach its dir
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        r = as_postgres(f"{PGBIN}/initdb", "-D", self.dir, "-A", "trust", "-U", "mms", "--no-sync")
        if r.returncode != 0:
            raise SystemExit("initdb failed: " + r.stderr)
        with __import__("socket").socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        r = as_postgres(f"{PGBIN}/pg_ctl", "-D", self.dir, "-l", os.path.join(self.dir, "log"), "-w", "-o",
                        f"-k {self.dir} -p {self.port} -c listen_addresses=127.0.0.1 -c max_connections=200", "start")
        if r.returncode != 0:
            raise SystemExit("pg_ctl start failed: " + r.stderr + r.stdout)
        as_postgres(f"{PGBIN}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "mms", "mms")
        self.url = f"postgres://mms@127.0.0.1:{self.port}/mms"

    def stop(self):
        as_postgres(f"{PGBIN}/pg_ctl", "-D", self.dir, "-m", "fast", "-w", "stop")


class Replica(b.Server):
    """An mms-server on the shared database with the cluster's admin token."""

    def __init__(self, name, db, token, extra=()):
        data = os.path.join(b.TMP, name)
        os.makedirs(data, exist_ok=True)
        with open(os.path.join(data, "admin.token"), "w") as f:
            f.write(token)
        super().__init__(name, ["--database", db, "--admin-token", token, "--replica-id", name, *extra])


def read_log_until(reader, job_id, needle, deadline):
    return b.read_log_until(reader, job_id, needle, deadline)


def dispatch(a, c, n=40):
    lat = []
    for i in range(n):
        marker = f"cluster-first-{i}"
        t0 = time.time()
        job = a.call("POST", "/api/v1/jobs", {"name": f"cd {i}", "commands": [f"echo {marker}"], "resources": ["bench"]})
        _, seen = read_log_until(c, job["id"], (marker + "\n").encode(), t0 + 30)
        lat.append(seen - t0)
        b.wait_for(lambda: c.call("GET", f"/api/v1/jobs/{job['id']}")["state"] == "completed", 30, "job end")
    return lat


def log_latency(a, c, lines=200):
    return b.bench_log(a, lines, reader=c)


def cancel(a, c, n=15):
    lat = []
    for i in range(n):
        mark = os.path.join(b.TMP, f"cluster-cancel-{i}")
        script = f"trap 'date +%s.%N > {mark}; exit 0' TERM; echo ready; while true; do sleep 0.01; done"
        job = a.call("POST", "/api/v1/jobs", {"name": f"cc {i}", "commands": [script], "resources": ["bench"]})
        read_log_until(c, job["id"], b"ready\n", time.time() + 30)
        time.sleep(0.05)
        t0 = time.time()
        a.call("POST", f"/api/v1/jobs/{job['id']}/cancel")
        b.wait_for(lambda: os.path.exists(mark) and os.path.getsize(mark) > 0, 20, "SIGTERM mark")
        lat.append(float(open(mark).read().strip()) - t0)
        b.wait_for(lambda: c.call("GET", f"/api/v1/jobs/{job['id']}")["state"] == "completed", 30, "cancelled job end")
    return lat


def cross_wake(a, bb, n=100):
    """A fake agent registered on A holds `next` on B; a job POSTed on A: time until B's poll answers."""
    u, secret = str(uuid.uuid4()), uuid.uuid4().hex
    reg = {"uuid": u, "name": "wake-probe", "hostname": "bench", "os": "linux", "version": b.VERSION,
           "resources": ["wake"], "environments": []}
    a.call("POST", "/api/v1/agents/register", reg, token=secret)
    a.call("PATCH", f"/api/v1/agents/{u}", {"configState": "enabled"})
    lat = []
    for i in range(n):
        got = {}

        def poll():
            got["job"] = bb.call("GET", f"/api/v1/agents/{u}/next?wait=20", token=secret, timeout=30)
            got["at"] = time.time()

        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.05)  # the poll is held on B
        t0 = time.time()
        job = a.call("POST", "/api/v1/jobs", {"name": f"wake {i}", "commands": ["true"], "resources": ["wake"]})
        t.join(30)
        if got.get("job") and got["job"].get("job", {}).get("id") == job["id"]:
            lat.append(got["at"] - t0)
        a.call("POST", f"/api/v1/jobs/{job['id']}/state",
               {"attempt": 1, "state": "completed", "result": "passed", "exitCode": 0}, token=secret)
    return lat


def failover(replicas, token, agents=3):
    """Real agents listing A first; kill -9 of A; seconds until each is served by another replica."""
    lst = ",".join(r.url for r in replicas)
    names = [f"fo-{i}" for i in range(agents)]
    for name in names:
        b.start([os.path.join(b.BIN, "mms-agent"), "start", "--server", lst, "--name", name, "--work-dir",
                 os.path.join(b.TMP, name), "--resources", "fo", "--auto-register-key", "bench-key"], name + ".log")
    b.wait_for(lambda: sum(1 for x in replicas[1].call("GET", "/api/v1/agents", timeout=120)["agents"]
                           if x["name"] in names and x["status"] == "idle") == agents, 120, "failover agents idle")
    time.sleep(1)
    killed = time.time()
    replicas[0].proc.send_signal(signal.SIGKILL)
    moved = []
    deadline = time.time() + 30
    while time.time() < deadline and len(moved) < agents:
        moved = []
        for name in names:
            text = open(os.path.join(b.TMP, name + ".log"), errors="replace").read()
            m = re.search(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) mms-agent: server \S+ unreachable .*; using", text)
            if m:
                at = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
                moved.append(at.timestamp() - killed)
        time.sleep(0.2)
    # Served: the next replica answers each agent's calls (its job-less pings and polls are accepted).
    job = replicas[1].call("POST", "/api/v1/jobs", {"name": "after failover", "commands": ["true"], "resources": ["fo"]})
    b.wait_for(lambda: replicas[1].call("GET", f"/api/v1/jobs/{job['id']}")["state"] == "completed", 30, "job after failover")
    return moved, time.time() - killed


def run(results):
    pg = Postgres()
    token = uuid.uuid4().hex
    try:
        reps = [Replica(f"replica-{i}", pg.url, token, ["--auto-register-key", "bench-key"]) for i in range(3)]
        a, bb, c = reps
        b.start([os.path.join(b.BIN, "mms-agent"), "start", "--server", f"{bb.url},{a.url},{c.url}", "--name",
                 "cluster-agent", "--work-dir", os.path.join(b.TMP, "cluster-agent"), "--resources", "bench",
                 "--auto-register-key", "bench-key"], "cluster-agent.log")
        b.wait_for(lambda: any(x["status"] == "idle" for x in a.call("GET", "/api/v1/agents")["agents"]), 30, "cluster agent")
        out = {}
        d = dispatch(a, c)
        out["dispatch_ms"] = {"p50": b.ms(b.pct(d, 50)), "p99": b.ms(b.pct(d, 99)), "n": len(d), "target_p99": 50}
        lg = log_latency(a, c)
        out["log_ms"] = {"p50": b.ms(b.pct(lg, 50)), "p99": b.ms(b.pct(lg, 99)), "n": len(lg)}
        cn = cancel(a, c)
        out["cancel_ms"] = {"p50": b.ms(b.pct(cn, 50)), "p99": b.ms(b.pct(cn, 99)), "n": len(cn)}
        w = cross_wake(a, bb)
        out["cross_wake_ms"] = {"p50": b.ms(b.pct(w, 50)), "p99": b.ms(b.pct(w, 99)), "n": len(w), "target_p99": 100}
        fleet_size = int(os.environ.get("MMS_BENCH_CLUSTER_FLEET", "10000"))
        pings, errors, polls, samples = b.fleet(a, fleet_size, 45, ports=[r.port for r in reps], workers=3)
        out["fleet_10k"] = {"agents": fleet_size, "replicas": 3, "pings": len(pings), "errors": errors,
                            "ping_p50_ms": b.ms(b.pct(pings, 50)), "ping_p99_ms": b.ms(b.pct(pings, 99)),
                            "target_ping_p99_ms": 50, "polls_open_max": polls}
        t0 = time.time()
        listed = len(bb.call("GET", "/api/v1/agents", timeout=120)["agents"])
        out["list_after_fleet_s"] = round(time.time() - t0, 2)
        print(f"GET /agents on B after the fleet: {listed} agents in {out['list_after_fleet_s']} s", flush=True)
        moved, served = failover(reps, token)
        out["failover_s"] = {"agents_moved_max_s": round(max(moved), 2) if moved else None, "moved": len(moved),
                             "job_served_after_s": round(served, 2), "target_s": 10}
        results["cluster"] = out
    finally:
        b.stop_all()
        pg.stop()
