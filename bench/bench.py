#!/usr/bin/env python3
"""make bench: measures MMS on loopback and writes bench/results.json.

Figures: dispatch latency (job POST -> first output byte of its first command, read by a log long poll),
log latency (a line written by a job -> read by a console-style log long poll), cancel latency
(cancel POST -> SIGTERM seen by the job), stored log chunks for a quick 3,000-line job and for 3,600
one-line appends (a slow recorder), reading a 100 MB log back in 1 MiB answers (MB/s, byte-exact),
10,000 simulated agents (ping every 5 s over short-lived connections, each holding a `next` long poll) with ping p99 and server RSS, small GET requests per
second with wrk against mms-server and nginx in the same run, and the console's frame time and RSS
with 10,000 agents; container job start overhead beside `podman run --rm IMAGE true` and SSH jump point readiness
(bench/containers.py; `MMS_BENCH_ONLY=containers` runs just those); and (bench/upgrade.py) 20 agents upgrading
themselves while jobs run. Bounded: every phase has a count and a deadline; loopback only.
"""
import asyncio, json, os, platform, random, re, resource, shutil, signal, socket, statistics
import subprocess, sys, tempfile, time, urllib.request, uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "release")
OUT = os.path.join(ROOT, "bench", "results.json")
TMP = tempfile.mkdtemp(prefix="mms-bench-")
PROCS = []


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def ms(v):
    return None if v is None else round(v * 1000, 2)


def start(cmd, log, **kw):
    f = open(os.path.join(TMP, log), "wb")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kw)
    PROCS.append(p)
    return p


def stop_all():
    for p in reversed(PROCS):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.time() + 15
    for p in PROCS:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None


class Server:
    def __init__(self, name, extra=()):
        data = os.path.join(TMP, name)
        self.proc = start([os.path.join(BIN, "mms-server"), "--port", "0", "--data-dir", data, *extra], name + ".log")
        deadline = time.time() + 20
        self.url = None
        while time.time() < deadline and self.url is None:
            with open(os.path.join(TMP, name + ".log"), "rb") as f:
                m = re.search(rb"listening on (http://[0-9.]+:(\d+))", f.read())
            if m:
                self.url, self.port = m.group(1).decode(), int(m.group(2))
            else:
                time.sleep(0.05)
        if not self.url:
            raise SystemExit("mms-server did not start")
        self.token = open(os.path.join(data, "admin.token")).read().strip()

    def call(self, method, path, body=None, token=None, timeout=30, raw=False):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + (token or self.token))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            payload = r.read()
            if raw:
                return r.status, dict(r.headers), payload
            return json.loads(payload) if payload else None


def wait_for(cond, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise SystemExit("timed out waiting for " + what)


def read_log_until(srv, job_id, needle, deadline):
    """Console-style reader: log long polls from offset 0 until `needle` appears; returns (bytes, time seen)."""
    offset, buf = 0, b""
    while time.time() < deadline:
        status, headers, body = srv.call("GET", f"/api/v1/jobs/{job_id}/log?offset={offset}&wait=10", raw=True, timeout=20)
        now = time.time()
        buf += body
        offset += len(body)
        if needle in buf:
            return buf, now
        if headers.get("X-Log-Complete") == "true" and not body:
            break
    raise SystemExit(f"job {job_id}: {needle!r} never arrived; log: {buf[-300:]!r}")


def bench_dispatch(srv, n=40, resource="bench"):
    lat = []
    for i in range(n):
        marker = f"first-output-{i}"
        t0 = time.time()
        job = srv.call("POST", "/api/v1/jobs", {"name": f"dispatch {i}", "commands": [f"echo {marker}"], "resources": [resource]})
        _, seen = read_log_until(srv, job["id"], (marker + "\n").encode() + b"", t0 + 30)
        lat.append(seen - t0)
        wait_for(lambda: srv.call("GET", f"/api/v1/jobs/{job['id']}")["state"] == "completed", 30, "job end")
    return lat


def bench_log(srv, lines=200, reader=None, resource="bench"):
    """A line's trip from the job to a log long poll (on `reader`, another replica, when given)."""
    script = f"for i in $(seq 1 {lines}); do echo \"t=$(date +%s.%N)\"; sleep 0.02; done"
    job = srv.call("POST", "/api/v1/jobs", {"name": "log latency", "commands": [script], "resources": [resource]})
    srv = reader or srv
    offset, lat, pending = 0, [], b""
    deadline = time.time() + 60
    while time.time() < deadline and len(lat) < lines:
        _, headers, body = srv.call("GET", f"/api/v1/jobs/{job['id']}/log?offset={offset}&wait=10", raw=True, timeout=20)
        now = time.time()
        offset += len(body)
        pending += body
        *complete, pending = pending.split(b"\n")
        for line in complete:
            if line.startswith(b"t="):
                lat.append(now - float(line[2:]))
        if headers.get("X-Log-Complete") == "true":
            break
    return lat


def bench_cancel(srv, n=15, resource="bench"):
    lat = []
    for i in range(n):
        mark = os.path.join(TMP, f"cancel-{resource}-{i}")
        script = f"trap 'date +%s.%N > {mark}; exit 0' TERM; echo ready; while true; do sleep 0.01; done"
        job = srv.call("POST", "/api/v1/jobs", {"name": f"cancel {i}", "commands": [script], "resources": [resource]})
        read_log_until(srv, job["id"], b"ready\n", time.time() + 30)
        time.sleep(0.05)  # let the loop start
        t0 = time.time()
        srv.call("POST", f"/api/v1/jobs/{job['id']}/cancel")
        wait_for(lambda: os.path.exists(mark) and os.path.getsize(mark) > 0, 20, "SIGTERM mark")
        lat.append(float(open(mark).read().strip()) - t0)
        wait_for(lambda: srv.call("GET", f"/api/v1/jobs/{job['id']}")["state"] == "completed", 30, "cancelled job end")
    return lat


def bench_log_read_100mb(srv, size=100_000_000):
    """A job writes `size` bytes of base64 text to a file and to its log; once it has completed, the log is
    read back with GET .../log?offset=N (1 MiB answers at most) over one keep-alive connection, from 0 to
    the end, and compared with the file by SHA-256. Returns the figures for results.json."""
    import hashlib, http.client
    path = os.path.join(TMP, "log100.txt")
    raw = size * 3 // 4 + 1024  # base64 of this is a bit more than `size` bytes
    script = f"head -c {raw} /dev/urandom | base64 | head -c {size} > {path} && cat {path}"
    t0 = time.time()
    job = srv.call("POST", "/api/v1/jobs", {"name": "log 100 MB", "commands": [script], "resources": ["bench"]})
    done = wait_for(lambda: (lambda j: j if j["state"] == "completed" else None)(srv.call("GET", f"/api/v1/jobs/{job['id']}")),
                    600, "the 100 MB job to complete")
    job_seconds = time.time() - t0
    with open(path, "rb") as f:
        want = hashlib.file_digest(f, "sha256").hexdigest()
    expected = os.path.getsize(path) + len(f"$ {script}\n")
    os.remove(path)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    digest, offset, reads, prefix = hashlib.sha256(), 0, 0, b""
    echo = f"$ {script}\n".encode()
    t1 = time.perf_counter()
    while True:
        conn.request("GET", f"/api/v1/jobs/{job['id']}/log?offset={offset}", headers={"Authorization": "Bearer " + srv.token})
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise SystemExit(f"log read at {offset}: HTTP {r.status}")
        reads += 1
        if len(prefix) < len(echo):  # the job's first line is the echoed command, not part of the file
            take = min(len(echo) - len(prefix), len(body))
            prefix += body[:take]
            digest.update(body[take:])
        else:
            digest.update(body)
        offset += len(body)
        if not body and r.getheader("X-Log-Complete") == "true":
            break
        if len(body) > (1 << 20):
            raise SystemExit(f"log read at {offset}: {len(body)} bytes, more than 1 MiB")
    seconds = time.perf_counter() - t1
    conn.close()
    exact = prefix == echo and digest.hexdigest() == want and offset == expected
    return {"bytes": offset, "reads": reads, "seconds": round(seconds, 3), "mb_per_s": round(offset / seconds / 1e6, 1),
            "byte_exact": exact, "job_result": done["result"], "job_seconds": round(job_seconds, 2), "target_mb_per_s": 200}


def stored_chunks(data_dir, job_id):
    """Rows of log_chunks for a job, read from the server's database in read-only mode."""
    import sqlite3
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'mms.sqlite3')}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT COUNT(*) FROM log_chunks WHERE job_id = ?", (job_id,)).fetchone()[0]
    finally:
        db.close()


def bench_log_chunks(srv, data_dir, lines=3000, appends=3600):
    """Stored chunks for (a) a quick job printing `lines` short lines, through the real agent, and (b) a slow
    recorder's `appends` one-line appends (a line a second for an hour, compressed in time) made one by one
    through the agent API by a fake agent registered for the purpose."""
    import http.client
    job = srv.call("POST", "/api/v1/jobs", {"name": "3000 lines", "resources": ["bench"],
                                            "commands": [f"for i in $(seq 1 {lines}); do echo \"line $i\"; done"]})
    wait_for(lambda: srv.call("GET", f"/api/v1/jobs/{job['id']}")["state"] == "completed", 60, "the 3000-line job")
    quick = stored_chunks(data_dir, job["id"])

    uid, secret = str(uuid.uuid4()), uuid.uuid4().hex
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)

    def agent_call(method, path, body=None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = {"Authorization": "Bearer " + secret}
        if data is not None:
            headers["Content-Type"] = "application/octet-stream" if isinstance(body, bytes) else "application/json"
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        payload = r.read()
        if r.status >= 300 and r.status != 204:
            raise SystemExit(f"{method} {path}: HTTP {r.status} {payload[:200]!r}")
        return json.loads(payload) if payload else None

    agent_call("POST", "/api/v1/agents/register", {
        "uuid": uid, "name": "slow-recorder", "hostname": "bench", "os": "linux", "version": VERSION,
        "resources": ["slow-recorder"], "environments": [], "autoRegisterKey": "bench-key"})
    slow = srv.call("POST", "/api/v1/jobs", {"name": "slow recorder", "commands": ["true"], "resources": ["slow-recorder"]})
    message = agent_call("GET", f"/api/v1/agents/{uid}/next?wait=10")
    if not message or message.get("type") != "job" or message["job"]["id"] != slow["id"]:
        raise SystemExit(f"the fake recorder agent did not get its job: {message!r}")
    attempt, offset = message["job"]["attempt"], message["job"]["logSize"]
    agent_call("POST", f"/api/v1/jobs/{slow['id']}/state", {"attempt": attempt, "state": "building"})
    for i in range(appends):
        line = f"{time.strftime('%H:%M:%S')} frame {i:05d} recorded\n".encode()
        size = agent_call("POST", f"/api/v1/jobs/{slow['id']}/log?attempt={attempt}&offset={offset}", line)["size"]
        offset += len(line)
        if size != offset:
            raise SystemExit(f"slow recorder append {i}: the server holds {size} bytes, expected {offset}")
    agent_call("POST", f"/api/v1/jobs/{slow['id']}/state", {"attempt": attempt, "state": "completed", "result": "passed", "exitCode": 0})
    conn.close()
    return {"quick_job_lines": lines, "quick_job_chunks": quick, "target_quick_job_chunks": 4,
            "slow_appends": appends, "slow_chunks": stored_chunks(data_dir, slow["id"]), "target_slow_chunks": 60}


async def connect(host, port):
    """A non-blocking socket connected without a resolver round trip (asyncio's streams resolve in a thread)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await loop.sock_connect(sock, (host, port))
    except OSError:
        sock.close()
        raise
    return sock


async def read_response(sock):
    """Reads one HTTP response (Content-Length framed); returns its status."""
    loop = asyncio.get_running_loop()
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = await loop.sock_recv(sock, 65536)
        if not chunk:
            raise ConnectionResetError("closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    m = re.search(rb"content-length: (\d+)", head, re.I)
    need = int(m.group(1)) if m else 0
    while len(rest) < need:
        chunk = await loop.sock_recv(sock, 65536)
        if not chunk:
            raise ConnectionResetError("closed")
        rest += chunk
    return int(head.split(b" ", 2)[1])


async def http_once(host, port, request, timeout=30):
    sock = await asyncio.wait_for(connect(host, port), timeout)
    try:
        await asyncio.get_running_loop().sock_sendall(sock, request)
        return await asyncio.wait_for(read_response(sock), timeout)
    finally:
        sock.close()


async def register_fleet(srv, count):
    """Registers `count` simulated agents and authorizes them; returns [(uuid, secret)]."""
    host, port = "127.0.0.1", srv.port
    agents = [(str(uuid.uuid4()), uuid.uuid4().hex) for _ in range(count)]
    sem = asyncio.Semaphore(64)

    async def register(u, s):
        body = json.dumps({"uuid": u, "name": "sim-" + u[:8], "hostname": "sim", "os": "linux", "version": VERSION,
                           "resources": ["sim"], "environments": []}).encode()
        req = (f"POST /api/v1/agents/register HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {s}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        async with sem:
            return await http_once(host, port, req)

    codes = await asyncio.gather(*(register(u, s) for u, s in agents))
    if any(c not in (200, 202) for c in codes):
        raise SystemExit(f"registration failed: {set(codes)}")
    for i in range(0, count, 2000):
        srv.call("PATCH", "/api/v1/agents", {"uuids": [u for u, _ in agents[i:i + 2000]], "configState": "enabled"})
    return agents


async def fleet_worker(port, agents, end, out):
    """Each agent holds a `next` poll on its own connection and pings every 5 s on short-lived ones."""
    host = "127.0.0.1"
    loop = asyncio.get_running_loop()
    ping_lat, errors, polls_open, polls_max = [], [0], [0], [0]

    async def poller(u, s):
        req = f"GET /api/v1/agents/{u}/next?wait=20 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {s}\r\n\r\n".encode()
        await asyncio.sleep(random.random() * 4)
        try:
            sock = await connect(host, port)
        except OSError:
            errors[0] += 1
            return
        polls_open[0] += 1
        polls_max[0] = max(polls_max[0], polls_open[0])
        try:
            while time.time() < end:
                await loop.sock_sendall(sock, req)
                await read_response(sock)
        except OSError:
            if time.time() < end:
                errors[0] += 1
        finally:
            polls_open[0] -= 1
            sock.close()

    async def pinger(u, s):
        body = b'{"runtimeState":"idle"}'
        req = (f"POST /api/v1/agents/{u}/ping HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {s}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        await asyncio.sleep(5 + random.random() * 5)  # after the polls are open
        while time.time() < end - 1:
            t0 = time.perf_counter()
            sock = None
            try:
                sock = await connect(host, port)
                await loop.sock_sendall(sock, req)
                code = await read_response(sock)
                if code == 200:
                    ping_lat.append(time.perf_counter() - t0)
                else:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
            finally:
                if sock:
                    sock.close()
            await asyncio.sleep(5)

    await asyncio.gather(*(poller(u, s) for u, s in agents), *(pinger(u, s) for u, s in agents))
    out.put((ping_lat, errors[0], polls_max[0]))


def _worker_main(port, agents, end, out):
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    asyncio.run(fleet_worker(port, agents, end, out))


def fleet(srv, count, seconds, workers=2, ports=None):
    """10k simulated agents split over `workers` client processes (one Python loop cannot drive them all),
    each process on one of `ports` (several replicas of one cluster) or on `srv`."""
    import multiprocessing as mp
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    agents = asyncio.run(register_fleet(srv, count))
    end = time.time() + seconds
    out = mp.Queue()
    ports = ports or [srv.port]
    procs = [mp.Process(target=_worker_main, args=(ports[i % len(ports)], agents[i::workers], end, out)) for i in range(workers)]
    for p in procs:
        p.start()
    samples = []
    while time.time() < end:
        time.sleep(1)
        samples.append(rss_kib(srv.proc.pid) or 0)
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    pings = [x for r in results for x in r[0]]
    return pings, sum(r[1] for r in results), sum(r[2] for r in results), samples


def wrk(url, seconds=5):
    out = subprocess.run(["wrk", "-t2", "-c50", f"-d{seconds}s", url], capture_output=True, text=True, timeout=seconds + 30).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else None


def nginx_server():
    root = os.path.join(TMP, "nginx")
    os.makedirs(os.path.join(root, "html"), exist_ok=True)
    with open(os.path.join(root, "html", "healthz"), "w") as f:
        f.write('{"status":"ok"}')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = os.path.join(root, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; worker_processes 2; pid {root}/nginx.pid; error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {root}; proxy_temp_path {root}; fastcgi_temp_path {root};
  uwsgi_temp_path {root}; scgi_temp_path {root};
  server {{ listen 127.0.0.1:{port}; root {root}/html; default_type application/json; }} }}
""")
    start(["nginx", "-c", conf, "-p", root], "nginx.log")
    wait_for(lambda: _can_connect(port), 10, "nginx")
    return f"http://127.0.0.1:{port}/healthz"


def _can_connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def console_frame():
    exe = os.path.join(BIN, "mms-bench")
    out = subprocess.run([exe, "console-frame", "10000"], capture_output=True, text=True, timeout=120)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": (out.stderr or out.stdout).strip()[-200:]}


def console_big_log(srv, opens=5):
    """The console opening a 1,000,000-line log in tmux: Enter on the job -> its last line on screen, and the console's RSS."""
    job = srv.call("POST", "/api/v1/jobs", {"name": "big-log", "commands": ["seq 1 1000000"], "resources": ["bench"]})
    wait_for(lambda: srv.call("GET", f"/api/v1/jobs/{job['id']}")["state"] == "completed", 120, "the 1,000,000-line job")
    sock = "mms-bench-" + uuid.uuid4().hex[:8]

    def tmux(*args):
        return subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", *args], capture_output=True, text=True, timeout=10).stdout

    def shows(pred, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            rows = [r.strip() for r in tmux("capture-pane", "-p", "-t", "b").splitlines()]
            if pred(rows):
                return time.time()
        raise SystemExit("console: timed out; screen:\n" + "\n".join(rows))

    console = os.path.join(BIN, "mms-console")
    tmux("new-session", "-d", "-s", "b", "-x", "120", "-y", "40",
         f"exec env TERM=tmux-256color MMS_ADMIN_TOKEN={srv.token} {console} --server {srv.url}")
    try:
        pid = int(tmux("display-message", "-p", "-t", "b", "#{pane_pid}").strip())
        shows(lambda rows: any("? help" in r for r in rows))
        tmux("send-keys", "-t", "b", "2")
        shows(lambda rows: any("big-log" in r for r in rows))
        times, rss = [], []
        for _ in range(opens):
            t0 = time.time()
            tmux("send-keys", "-t", "b", "Enter")
            times.append(shows(lambda rows: "1000000" in rows) - t0)
            rss.append(rss_kib(pid) or 0)
            tmux("send-keys", "-t", "b", "Escape")
            shows(lambda rows: "1000000" not in rows)
        return {"open_ms_p50": ms(pct(times, 50)), "open_ms_max": ms(max(times)), "n": len(times),
                "rss_mib": round(max(rss) / 1024, 1), "target_ms": 500, "target_rss_mib": 100}
    finally:
        tmux("kill-server")


VERSION = "0.0.0"


def bench_push(srv, results):
    """The same three latencies with a push agent (`mms-agent serve` over HTTPS, a CA made here) driven by `srv`."""
    d = os.path.join(TMP, "push-tls")
    os.makedirs(d)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    for args in (["req", "-x509", *ec, "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem", "-days", "2", "-subj", "/CN=bench CA",
                  "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                 ["req", *ec, "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr", "-subj", "/CN=127.0.0.1"],
                 ["x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key", "-CAcreateserial",
                  "-out", f"{d}/server.pem", "-days", "2", "-extfile", f"{d}/ext"]):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    secret = uuid.uuid4().hex + uuid.uuid4().hex
    env = dict(os.environ, MMS_AGENT_AUTH_TOKEN_SECRET=secret)
    start([os.path.join(BIN, "mms-agent"), "serve", "--host", "127.0.0.1", "--port", "0", "--work-dir", os.path.join(TMP, "push"),
           "--tls-cert-path", f"{d}/server.pem", "--tls-key-path", f"{d}/server.key"], "push.log", env=env)
    url = wait_for(lambda: (re.search(r"serving on (https://\S+)", open(os.path.join(TMP, "push.log")).read()) or [None, None])[1],
                   20, "push agent start")
    agent = srv.call("POST", "/api/v1/agents/push", {"name": "bench-push", "url": url, "authTokenSecret": secret,
                                                     "resources": ["pushbench"], "caCert": open(f"{d}/ca.pem").read()})
    wait_for(lambda: srv.call("GET", f"/api/v1/agents/{agent['uuid']}")["status"] == "idle", 30, "push agent idle")
    d = bench_dispatch(srv, resource="pushbench")
    results["push_dispatch_ms"] = {"p50": ms(pct(d, 50)), "p99": ms(pct(d, 99)), "n": len(d), "target_p99": 50}
    lg = bench_log(srv, resource="pushbench")
    results["push_log_ms"] = {"p50": ms(pct(lg, 50)), "p99": ms(pct(lg, 99)), "n": len(lg), "target_p99": 250}
    c = bench_cancel(srv, resource="pushbench")
    results["push_cancel_ms"] = {"p50": ms(pct(c, 50)), "p99": ms(pct(c, 99)), "n": len(c), "target_p99": 500}


def main():
    global VERSION
    VERSION = subprocess.run([os.path.join(BIN, "mms-agent"), "version"], capture_output=True, text=True).stdout.split()[-1]
    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"}
    try:
        srv = Server("server", ["--auto-register-key", "bench-key"])
        start([os.path.join(BIN, "mms-agent"), "start", "--server", srv.url, "--name", "bench-agent", "--work-dir",
               os.path.join(TMP, "agent"), "--resources", "bench", "--auto-register-key", "bench-key"], "agent.log")
        wait_for(lambda: any(a["status"] == "idle" for a in srv.call("GET", "/api/v1/agents")["agents"]), 30, "agent idle")
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        sys.modules.setdefault("bench", sys.modules[__name__])  # cluster.py and containers.py share this run's state
        import containers
        if os.environ.get("MMS_BENCH_ONLY") == "push":  # just the push agent rows (not written to results.json)
            bench_push(srv, results)
            table(results)
            return
        if os.environ.get("MMS_BENCH_ONLY") == "containers":  # just the container and jump point rows (not written either)
            containers.run(srv, results)
            table(results)
            return
        d = bench_dispatch(srv)
        results["dispatch_ms"] = {"p50": ms(pct(d, 50)), "p99": ms(pct(d, 99)), "n": len(d), "target_p99": 10}
        lg = bench_log(srv)
        results["log_ms"] = {"p50": ms(pct(lg, 50)), "p99": ms(pct(lg, 99)), "n": len(lg), "target_p99": 5}
        c = bench_cancel(srv)
        results["cancel_ms"] = {"p50": ms(pct(c, 50)), "p99": ms(pct(c, 99)), "n": len(c), "target_p99": 5}
        bench_push(srv, results)
        containers.run(srv, results)
        results["log_chunks"] = bench_log_chunks(srv, os.path.join(TMP, "server"))
        results["log_read_100mb"] = bench_log_read_100mb(srv)

        fleet_srv = Server("fleet")
        pings, errors, polls, samples = fleet(fleet_srv, 10_000, 45)
        results["fleet_10k"] = {
            "agents": 10_000, "pings": len(pings), "errors": errors,
            "ping_p50_ms": ms(pct(pings, 50)), "ping_p99_ms": ms(pct(pings, 99)), "target_ping_p99_ms": 50,
            "polls_open_max": polls, "server_rss_mib": round(max(samples, default=0) / 1024, 1)}

        mms_rps = wrk(srv.url + "/healthz")
        nginx_rps = wrk(nginx_server())
        results["http_get_rps"] = {"mms_server": mms_rps, "nginx_static": nginx_rps,
                                   "ratio": round(mms_rps / nginx_rps, 2) if mms_rps and nginx_rps else None, "target_ratio": 1.0}
        results["console"] = console_frame()
        results["console_big_log"] = console_big_log(srv)
        if os.environ.get("MMS_BENCH_UPGRADE", "1") != "0":
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            sys.modules.setdefault("bench", sys.modules[__name__])  # upgrade.py shares this run's state
            import upgrade
            upgrade.run(results)
        stop_all()
        PROCS.clear()
        if os.environ.get("MMS_BENCH_CLUSTER", "1") != "0":
            import cluster
            cluster.run(results)
    finally:
        stop_all()
        shutil.rmtree(TMP, ignore_errors=True)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(results, f, indent=2)
    table(results)


def table(r):
    def row(name, value, target, ok):
        mark = "" if ok is None else ("met" if ok else "MISSED")
        print(f"| {name:<44} | {value:>24} | {target:>12} | {mark:<6} |")
    print(f"MMS bench, {r['date']}, {r['machine']}\n")
    print(f"| {'figure':<44} | {'measured':>24} | {'target':>12} | {'':<6} |")
    print(f"|{'-' * 46}|{'-' * 26}|{'-' * 14}|{'-' * 8}|")
    for key, label, target in [("dispatch_ms", "dispatch latency (POST -> first output byte)", 10),
                               ("log_ms", "log latency (job line -> console read)", 5),
                               ("cancel_ms", "cancel latency (POST -> SIGTERM in job)", 5),
                               ("push_dispatch_ms", "push agent: dispatch (POST -> first byte)", 50),
                               ("push_log_ms", "push agent: log latency", 250),
                               ("push_cancel_ms", "push agent: cancel (POST -> SIGTERM)", 500)]:
        v = r.get(key, {})
        row(label, f"p50 {v.get('p50')} ms, p99 {v.get('p99')} ms", f"p99 <= {target} ms",
            None if v.get("p99") is None else v["p99"] <= target)
    if "containers" in sys.modules:
        sys.modules["containers"].rows(r, row)
    rd = r.get("log_read_100mb", {})
    row("log read, 100 MB in 1 MiB answers", f"{rd.get('mb_per_s')} MB/s" + ("" if rd.get("byte_exact", True) else ", NOT EXACT"),
        ">= 200 MB/s", None if rd.get("mb_per_s") is None else rd["mb_per_s"] >= 200 and rd.get("byte_exact") is True)
    ch = r.get("log_chunks", {})
    row("stored chunks, quick job of 3,000 lines", f"{ch.get('quick_job_chunks')}", "<= 4",
        None if ch.get("quick_job_chunks") is None else ch["quick_job_chunks"] <= 4)
    row("stored chunks, 3,600 one-line appends", f"{ch.get('slow_chunks')}", "<= 60",
        None if ch.get("slow_chunks") is None else ch["slow_chunks"] <= 60)
    f = r.get("fleet_10k", {})
    row("10k agents: ping latency", f"p50 {f.get('ping_p50_ms')} ms, p99 {f.get('ping_p99_ms')} ms", "p99 < 50 ms",
        None if f.get("ping_p99_ms") is None else f["ping_p99_ms"] < 50)
    row("10k agents: polls held / errors / pings", f"{f.get('polls_open_max')} / {f.get('errors')} / {f.get('pings')}", "", None)
    row("10k agents: server RSS", f"{f.get('server_rss_mib')} MiB", "", None)
    h = r.get("http_get_rps", {})
    row("GET req/s mms-server vs nginx static", f"{h.get('mms_server')} vs {h.get('nginx_static')}", ">= 1.0x",
        None if h.get("ratio") is None else h["ratio"] >= 1.0)
    row("  ratio", f"{h.get('ratio')}x", "", None)
    c = r.get("console", {})
    row("console frame, 10k agents", f"{c.get('frame_ms')} ms", "< 5 ms", None if c.get("frame_ms") is None else c["frame_ms"] < 5)
    row("console RSS, 10k agents", f"{c.get('rss_mib')} MiB", "", None)
    row("console frame, 10k agents + detail pane (160x48)", f"{c.get('detail_frame_ms')} ms", "< 2 ms",
        None if c.get("detail_frame_ms") is None else c["detail_frame_ms"] < 2)
    row("console first frame, 10k agents (JSON -> screen)", f"{c.get('first_frame_ms')} ms", "< 300 ms",
        None if c.get("first_frame_ms") is None else c["first_frame_ms"] < 300)
    row("fleet history, 24 h on the wire", f"{c.get('stats_24h_kib')} KiB", "< 50 KB",
        None if c.get("stats_24h_kib") is None else c["stats_24h_kib"] * 1024 < 50_000)
    b = r.get("console_big_log", {})
    row("console opens 1M-line log (Enter -> tail)", f"p50 {b.get('open_ms_p50')} ms, {b.get('rss_mib')} MiB",
        "500 ms/100 MiB", None if b.get("open_ms_max") is None else b["open_ms_max"] < 500 and b["rss_mib"] < 100)
    if r.get("upgrade_fleet"):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import upgrade
        upgrade.row(r, row)
    cl = r.get("cluster")
    if cl:
        def lat(key, label, target):
            v = cl.get(key, {})
            row(label, f"p50 {v.get('p50')} ms, p99 {v.get('p99')} ms", f"p99 <= {target} ms" if target else "",
                None if v.get("p99") is None or not target else v["p99"] <= target)
        lat("dispatch_ms", "cluster: dispatch (POST on A, agent on B, read C)", 50)
        lat("log_ms", "cluster: log latency (agent via B, reader on C)", None)
        lat("cancel_ms", "cluster: cancel (POST on A, agent on B)", None)
        lat("cross_wake_ms", "cluster: cross-replica wake (POST A -> poll B)", 100)
        f = cl.get("fleet_10k", {})
        row("cluster: 10k agents over 3 replicas, ping", f"p50 {f.get('ping_p50_ms')} ms, p99 {f.get('ping_p99_ms')} ms",
            "p99 < 50 ms", None if f.get("ping_p99_ms") is None else f["ping_p99_ms"] < 50)
        row("cluster: polls held / errors / pings", f"{f.get('polls_open_max')} / {f.get('errors')} / {f.get('pings')}", "", None)
        fo = cl.get("failover_s", {})
        row("cluster: agents of a killed replica served", f"{fo.get('agents_moved_max_s')} s ({fo.get('moved')} moved)",
            "<= 10 s", None if fo.get("agents_moved_max_s") is None else fo["agents_moved_max_s"] <= 10)


if __name__ == "__main__":
    main()
