#!/usr/bin/env python3
"""make bench, self-upgrade: 20 real agents (supervisor + agent proper each) on one server offering the built
mms-agent; the served file is replaced by a copy with bytes appended (another SHA-256, the same version) while
jobs run and more are queued. Measures the time from the server offering the new binary (GET /api/v1/version
shows its agentSHA256) until every agent is Idle again on it, in ping intervals (target <= 3), and checks that
every job passed on its first attempt (none lost, none rescheduled).

Run alone: python3 bench/upgrade.py [BIN_DIR] (default .build/release); bench.py runs it as one phase.
"""
import os, shutil, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (shares start/stop_all/Server/wait_for and the temp dir)

AGENTS = 20
PING = 5


def agents(srv):
    return srv.call("GET", "/api/v1/agents")["agents"]


def serve(src, served):
    tmp = served + ".tmp"
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o755)
    os.rename(tmp, served)


def sha256(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run(results):
    served = os.path.join(bench.TMP, "served-mms-agent")
    serve(os.path.join(bench.BIN, "mms-agent"), served)
    old = sha256(served)
    srv = bench.Server("upgrade", ["--auto-register-key", "up-key", "--ping-interval", str(PING), "--agent-binary", served])
    for i in range(AGENTS):
        bench.start([os.path.join(bench.BIN, "mms-agent"), "start", "--server", srv.url, "--name", f"up-{i:02d}",
                     "--work-dir", os.path.join(bench.TMP, f"up-{i:02d}"), "--auto-register-key", "up-key"], f"up-{i:02d}.log")
    bench.wait_for(lambda: len([a for a in agents(srv) if a["status"] == "idle" and a["binarySHA256"] == old]) == AGENTS,
                   60, "20 agents idle")

    # Work in flight when the new binary appears: half the fleet busy for 2 s, and as many jobs again queued.
    jobs = [srv.call("POST", "/api/v1/jobs", {"name": f"busy-{i}", "commands": ["sleep 2", "echo done"]})["id"]
            for i in range(AGENTS // 2)]
    bench.wait_for(lambda: sum(1 for a in agents(srv) if a["status"] == "building") >= AGENTS // 2, 30, "jobs building")
    new = os.path.join(bench.TMP, "next-mms-agent")
    shutil.copyfile(served, new)
    with open(new, "ab") as f:
        f.write(b"bench: another SHA-256, the same program")
    new_sha = sha256(new)
    serve(new, served)
    bench.wait_for(lambda: srv.call("GET", "/api/v1/version").get("agentSHA256") == new_sha, 3 * PING, "the server offering it")
    offered = time.time()
    jobs += [srv.call("POST", "/api/v1/jobs", {"name": f"queued-{i}", "commands": ["echo queued"]})["id"]
             for i in range(AGENTS // 2)]
    seen_upgrading = set()

    def all_upgraded():
        listed = agents(srv)
        seen_upgrading.update(a["uuid"] for a in listed if a["status"] == "upgrading")
        return all(a["binarySHA256"] == new_sha and a["status"] == "idle" for a in listed)
    bench.wait_for(all_upgraded, 20 * PING, "every agent idle on the new binary")
    took = time.time() - offered
    bench.wait_for(lambda: all(srv.call("GET", f"/api/v1/jobs/{j}")["state"] == "completed" for j in jobs), 60, "jobs done")
    done = [srv.call("GET", f"/api/v1/jobs/{j}") for j in jobs]
    audit = srv.call("GET", "/api/v1/audit?limit=1000")["entries"]
    results["upgrade_fleet"] = {
        "agents": AGENTS, "ping_interval_s": PING, "seconds": round(took, 2),
        "ping_intervals": round(took / PING, 2), "target_ping_intervals": 3,
        "seen_upgrading": len(seen_upgrading),
        "jobs": len(done), "jobs_passed_first_attempt": sum(1 for j in done if j["result"] == "passed" and j["attempt"] == 1),
        "audit_upgrade_entries": sum(1 for e in audit if e["action"] == "agent.upgrade"),
    }
    return results["upgrade_fleet"]


def row(r, print_row):
    u = r.get("upgrade_fleet")
    if not u:
        return
    ok = u["ping_intervals"] <= u["target_ping_intervals"] and u["jobs_passed_first_attempt"] == u["jobs"]
    print_row(f"self-upgrade: {u['agents']} agents Idle on new SHA", f"{u['seconds']} s = {u['ping_intervals']} x {u['ping_interval_s']} s",
              "<= 3 pings", ok)
    print_row("  jobs passed on attempt 1 / jobs; audit entries", f"{u['jobs_passed_first_attempt']} / {u['jobs']}; "
              f"{u['audit_upgrade_entries']}", "all", u["jobs_passed_first_attempt"] == u["jobs"])


if __name__ == "__main__":
    if len(sys.argv) > 1:
        bench.BIN = os.path.abspath(sys.argv[1])
    out = {}
    try:
        print(run(out))
    finally:
        bench.stop_all()
        shutil.rmtree(bench.TMP, ignore_errors=True)
