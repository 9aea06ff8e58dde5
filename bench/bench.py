#!/usr/bin/env python3
"""orch's benchmarks: prints medians over several runs, and the ratio to a baseline where the
issue names one. Run by hand, not in CI:

    cargo build --release && python3 bench/bench.py [--runs 5] [--only NAME]

Each case builds its project in a temp folder, runs the release binary, and cleans up every
process it started (by pid, via `orch down` and the ORCH_PROJECT marker) even on failure.
"""
import argparse
import os
import signal
import socket
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORCH = str(ROOT / "target" / "release" / "orch")
# Another orch to time the same cases with (`--baseline-orch PATH`), for before/after figures.
BASELINE_ORCH = None


def orch(project, *args, check=True, binary=None):
    out = subprocess.run([binary or ORCH, *args], cwd=project, capture_output=True, text=True)
    if check and out.returncode != 0:
        raise RuntimeError(f"orch {' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out


def pids_carrying(*variables):
    """Pids of every process whose environment holds one of these `NAME=value` entries."""
    needles = [v.encode() for v in variables]
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            env = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(needle in env for needle in needles):
            pids.append(int(entry))
    return pids


def marked_pids(project):
    """Pids of every process carrying the project's marker, and its supervisor."""
    root = str(Path(project).resolve())
    return pids_carrying(f"ORCH_PROJECT={root}", f"ORCH_SUPERVISOR={root}")


def cleanup(project):
    subprocess.run([ORCH, "down"], cwd=project, capture_output=True, timeout=30)
    for pid in marked_pids(project):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


class Project:
    def __init__(self, manifest):
        self.tmp = tempfile.TemporaryDirectory(prefix="orch-bench-")
        self.path = self.tmp.name
        Path(self.path, "procs.toml").write_text(manifest)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        cleanup(self.path)
        self.tmp.cleanup()


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def many_sleepers(n, head=""):
    return head + "".join(
        f'[services.s{i}]\ncmd = "sh -c \'touch ready.{i}; exec sleep 3600\'"\n' for i in range(n)
    )


def rss_of(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def supervisor_pid(project):
    import json
    return json.loads(Path(project, ".orch", "supervisor.lock").read_text())["pid"]


def bench_up_100(runs):
    ups, touched, pss, rsss, downs = [], [], [], [], []
    for _ in range(runs):
        with Project(many_sleepers(100)) as p:
            start = time.perf_counter()
            orch(p, "up")
            ups.append(time.perf_counter() - start)
            # `up` returns when all were spawned; each touches its file a moment later.
            while len(list(Path(p).glob("ready.*"))) < 100:
                time.sleep(0.001)
            touched.append(time.perf_counter() - start)
            ps_times = [timed(lambda: orch(p, "ps")) for _ in range(20)]
            pss.append(statistics.median(ps_times))
            rsss.append(rss_of(supervisor_pid(p)))
            downs.append(timed(lambda: orch(p, "down")))
            assert not marked_pids(p), "processes left after down"
    baseline = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            # The same 100 processes spawned by a bash loop, until all have touched their file.
            script = 'for i in $(seq 0 99); do sh -c "touch ready.$i; exec sleep 3600" & echo $! >> pids; done'
            start = time.perf_counter()
            subprocess.run(["bash", "-c", script], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while len(list(Path(d).glob("ready.*"))) < 100:
                time.sleep(0.001)
            baseline.append(time.perf_counter() - start)
            for pid in Path(d, "pids").read_text().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
    report("up of 100 services (no supervisor before)", ups, target=0.300)
    report("up of 100 services until all 100 touched their file", touched, baseline=baseline, baseline_name="bash loop")
    report("ps with 100 running", pss, target=0.005)
    report("down of 100 services", downs, target=0.100)
    mib = statistics.median(rsss) / (1 << 20)
    print(f"  supervisor RSS with 100 services: median {mib:.1f} MiB (target <= 10 MB)")


def bench_log_throughput(runs):
    lines = 1_000_000
    # 99 characters and a newline: 100 bytes a line.
    writer = f"python3 -c \"import sys; line = 'x' * 99 + chr(10); sys.stdout.writelines(line for _ in range({lines}))\""
    orch_times, direct = [], []
    for _ in range(runs):
        with Project(f'[services.flood]\ncmd = "{writer.replace(chr(34), chr(92) + chr(34))}"\noneshot = true\nlog = {{ max_size = "1GB" }}\n') as p:
            log = Path(p, ".orch", "logs", "flood.log")

            def run():
                orch(p, "up")
                # up returns when the oneshot exited; the pump may still be draining the pipe.
                while log_lines(log) < lines:
                    time.sleep(0.005)

            orch_times.append(timed(run))
            count = log_lines(log)
            assert count == lines, f"{count} lines in the log, expected {lines}"
        with tempfile.TemporaryDirectory() as d:
            direct.append(timed(lambda: subprocess.run(["sh", "-c", f"{writer} > {d}/out"], check=True)))
    report("1,000,000 lines of 100 bytes into the log", orch_times, baseline=direct, baseline_name="cmd > file", ratio_target=1.5)


def log_lines(path):
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Listens 200 ms after its process started (by the kernel's record of the start, so that
# python's own start-up time is part of the 200 ms, as it would be for a faster program).
LISTENER = Path(__file__).resolve().parent / "listen_after.py"


def bench_chain(runs):
    times = []
    for _ in range(runs):
        ports = [free_port() for _ in range(10)]
        manifest = ""
        for i, port in enumerate(ports):
            listener = f"python3 {LISTENER} {port}"
            manifest += f'[services.c{i}]\ncmd = "{listener}"\nready = {{ tcp = "127.0.0.1:{port}" }}\n'
            if i:
                manifest += f'depends_on = ["c{i - 1}"]\n'
        with Project(manifest) as p:
            times.append(timed(lambda: orch(p, "up")))
    report("chain of 10 services, each listening 200 ms after start", times, target=2.1)


def report(name, samples, target=None, baseline=None, baseline_name=None, ratio_target=None):
    med = statistics.median(samples)
    line = f"  {name}: median {fmt(med)} over {len(samples)} runs (min {fmt(min(samples))}, max {fmt(max(samples))})"
    if target is not None:
        line += f"; target <= {fmt(target)}: {'ok' if med <= target else 'MISSED'}"
    print(line)
    if baseline:
        base = statistics.median(baseline)
        ratio = med / base
        extra = f"; target <= {ratio_target}x: {'ok' if ratio <= ratio_target else 'MISSED'}" if ratio_target else ""
        print(f"    {baseline_name}: median {fmt(base)}; ratio {ratio:.2f}x{extra}")


def fmt(seconds):
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def ps_json(project):
    import json
    return json.loads(orch(project, "ps", "--json").stdout)


def bench_reload(runs):
    """Saving a one-line env change with 50 services running, until the changed service runs
    again (its new process has touched its file); the other 49 must keep their pids."""
    services = "".join(
        f'[services.s{i}]\ncmd = "sh -c \'touch started.$GEN; exec sleep 3600\'"\nenv = {{ GEN = "g0" }}\n'
        for i in range(50)
    )
    times = []
    for run in range(runs):
        with Project(services) as p:
            orch(p, "up")
            before = {s["name"]: s["pid"] for s in ps_json(p)}
            manifest = Path(p, "procs.toml")
            changed = manifest.read_text().replace('env = { GEN = "g0" }', 'env = { GEN = "g1" }', 1)
            tmp = Path(p, "procs.toml.tmp")
            tmp.write_text(changed)
            start = time.perf_counter()
            os.rename(tmp, manifest)  # an editor's save
            deadline = start + 10
            while not Path(p, "started.g1").exists():
                if time.perf_counter() > deadline:
                    raise RuntimeError("the reload did not happen")
                time.sleep(0.001)
            times.append(time.perf_counter() - start)
            after = {s["name"]: s["pid"] for s in ps_json(p)}
            moved = [n for n in before if before[n] != after.get(n)]
            assert moved == ["s0"], f"pids that changed: {moved}"
    report("reload: save of a one-line env change (50 running) until that service runs again", times, target=0.300)


def bench_adoption(runs):
    """SIGKILL the supervisor with 100 services running; `orch ps` starts a new one, which
    adopts all 100 before it answers."""
    times = []
    for _ in range(runs):
        with Project(many_sleepers(100)) as p:
            orch(p, "up")
            before = {s["name"]: s["pid"] for s in ps_json(p)}
            os.kill(supervisor_pid(p), signal.SIGKILL)
            time.sleep(0.05)
            start = time.perf_counter()
            rows = ps_json(p)
            times.append(time.perf_counter() - start)
            assert all(r["adopted"] for r in rows), "not all adopted"
            assert {r["name"]: r["pid"] for r in rows} == before, "a service was restarted"
    report("supervisor restart + adoption of 100 running services (orch ps)", times, target=0.200)


def bench_min_uptime(runs):
    """`up` of 100 services with no readiness check, with `min_uptime` off ("0s") and on (the
    default 1 s): the window is one for all of them, not one per service. With --baseline-orch,
    the same `up` by that orch (which had no min_uptime) for the before/after ratio."""
    def up_times(head, binary=None):
        times = []
        for _ in range(runs):
            with Project(many_sleepers(100, head)) as p:
                times.append(timed(lambda: orch(p, "up", binary=binary)))
        return times

    off = up_times('min_uptime = "0s"\n')
    on = up_times("")
    if BASELINE_ORCH:
        before = up_times("", binary=BASELINE_ORCH)
        report("up of 100, min_uptime off", off, baseline=before, baseline_name="before min_uptime", ratio_target=1.1)
    else:
        report("up of 100, min_uptime off", off)
    report("up of 100, min_uptime 1s (one window for all)", on, baseline=off, baseline_name="off")
    print(f"    the window costs {fmt(statistics.median(on) - statistics.median(off))} (1 s is one window)")


def bench_deep_chain(runs, depth=2000):
    """A depends_on chain of 2000 sleepers: `down` stops them dependents first, one level
    (here: one service) at a time; it must be linear in the number of services."""
    manifest = 'min_uptime = "0s"\n'
    for i in range(depth):
        manifest += f'[services.c{i}]\ncmd = "sleep 3600"\n'
        if i:
            manifest += f'depends_on = ["c{i - 1}"]\n'
    ups, downs = [], []
    for _ in range(runs):
        with Project(manifest) as p:
            ups.append(timed(lambda: orch(p, "up")))
            downs.append(timed(lambda: orch(p, "down")))
            assert not marked_pids(p), "processes left after down"
    report(f"up of a depends_on chain of {depth}", ups)
    report(f"down of a depends_on chain of {depth}", downs)


def syscalls_over(pid, seconds):
    """System calls every thread of pid makes over `seconds`, counted by `strace -c -f`."""
    tasks = [t.name for t in Path(f"/proc/{pid}/task").iterdir()]
    args = ["timeout", "-s", "INT", str(seconds), "strace", "-c", "-f"]
    for task in tasks:
        args += ["-p", task]
    out = subprocess.run(args, capture_output=True, text=True).stderr
    totals = [line.split()[3] for line in out.splitlines() if line.rstrip().endswith(" total")]
    return int(totals[0]) if totals else 0


def bench_idle(runs, seconds=5):
    if shutil.which("strace") is None:
        print("  idle: skipped (no strace)")
        return
    rates = []
    for _ in range(runs):
        with Project(many_sleepers(100)) as p:
            orch(p, "up")
            time.sleep(0.5)  # what up set going (a state save) lands before the window
            rates.append(syscalls_over(supervisor_pid(p), seconds) / seconds)
    print(f"  idle supervisor with 100 services: median {statistics.median(rates):.1f} system calls/s "
          f"over {seconds} s (min {min(rates):.1f}, max {max(rates):.1f}); target 0")


def bench_watch(runs, files=10_000):
    """Restart on source change (target: 150 ms plus the service's own start, here a `sh` and a
    `touch`, a few ms): a service watching `src/**/*.py` over 10,000 files in 100
    folders. From the save of one file until the new process has touched its file (the
    service's own start is a `sh` that touches and execs sleep), then the supervisor's RSS and
    its system calls over 5 s of quiet."""
    service = (
        '[services.web]\ncmd = "sh -c \'touch started.$(date +%s%N); exec sleep 3600\'"\n'
        'min_uptime = "0s"\nwatch = ["src/**/*.py"]\n'
    )
    saves, rss, calls = [], [], []
    for _ in range(runs):
        with Project(service) as p:
            for i in range(files):
                folder = Path(p, "src", f"pkg{i % 100}")
                folder.mkdir(parents=True, exist_ok=True)
                Path(folder, f"m{i}.py").write_text("x = 1\n")
            orch(p, "up")
            time.sleep(0.5)
            sup = supervisor_pid(p)
            rss.append(rss_of(sup))
            if shutil.which("strace"):
                calls.append(syscalls_over(sup, 5) / 5)
            before = set(Path(p).glob("started.*"))
            start = time.perf_counter()
            Path(p, "src", "pkg7", "m7.py").write_text("x = 2\n")
            deadline = start + 10
            while set(Path(p).glob("started.*")) == before:
                if time.perf_counter() > deadline:
                    raise RuntimeError("the save did not restart the service")
                time.sleep(0.001)
            saves.append(time.perf_counter() - start)
    report(f"watch: save of one of {files} watched files until the service runs again (quiet window 100 ms)",
           saves, target=0.160)
    print(f"  watch: supervisor RSS watching {files} files: median {statistics.median(rss) / 1e6:.1f} MB")
    if calls:
        print(f"  watch: idle supervisor watching {files} files: median {statistics.median(calls):.1f} system calls/s")


ACCEPTOR = "import socket, sys\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n" \
    "s.bind(('127.0.0.1', int(sys.argv[1])))\ns.listen(256)\nwhile True: s.accept()[0].close()\n"


def bench_health(runs, n=100, seconds=5):
    """100 services with a tcp healthcheck every second against one listener: the supervisor's
    RSS, and its CPU and system calls over 5 s (each check is a connect, no process)."""
    port = free_port()
    services = f'[services.listener]\ncmd = ["python3", "acceptor.py", "{port}"]\nready = {{ tcp = "127.0.0.1:{port}" }}\n'
    services += "".join(
        f'[services.s{i}]\ncmd = "sleep 3600"\nmin_uptime = "0s"\ndepends_on = ["listener"]\n'
        f'healthcheck = {{ tcp = "127.0.0.1:{port}", interval = "1s" }}\n'
        for i in range(n)
    )
    rss, cpu, calls = [], [], []
    for _ in range(runs):
        with Project(services) as p:
            Path(p, "acceptor.py").write_text(ACCEPTOR)
            orch(p, "up")
            time.sleep(1.5)
            sup = supervisor_pid(p)
            rss.append(rss_of(sup))
            ticks = lambda: sum(int(x) for x in Path(f"/proc/{sup}/stat").read_text().rsplit(")", 1)[1].split()[11:13])
            before = ticks()
            if shutil.which("strace"):
                calls.append(syscalls_over(sup, seconds) / seconds)
            else:
                time.sleep(seconds)
            cpu.append((ticks() - before) / os.sysconf("SC_CLK_TCK") / seconds * 100)
            assert all(s.get("health") == "healthy" for s in ps_json(p) if s["name"] != "listener"), "a check failed"
    print(f"  health: supervisor with {n} services checked every second: RSS median {statistics.median(rss) / 1e6:.1f} MB, "
          f"CPU median {statistics.median(cpu):.1f} % of a core (under strace)"
          + (f", {statistics.median(calls):.0f} system calls/s" if calls else ""))


def cpu_ticks(pid):
    return sum(int(x) for x in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])


def bench_tui(runs, n=100, seconds=5):
    """`orch tui` in tmux on 100 services: its CPU while the project is quiet and while one
    service floods its output, and the delay from a state change (a stop that returned) to the
    screen showing it."""
    if not shutil.which("tmux"):
        print("  tui: skipped (no tmux)")
        return
    services = many_sleepers(n)
    quiet, flood, delay = [], [], []
    for run in range(runs):
        with Project(services) as p:
            orch(p, "up")
            sock = f"orch-bench-{os.getpid()}-{run}"
            tmux = lambda *a: subprocess.run(["tmux", "-L", sock, *a], capture_output=True, text=True)
            tmux("new-session", "-d", "-x", "120", "-y", "40", f"cd {p} && exec {ORCH} tui --no-up")
            try:
                time.sleep(1.5)
                tui = int(tmux("list-panes", "-F", "#{pane_pid}").stdout.split()[0])
                before = cpu_ticks(tui)
                time.sleep(seconds)
                quiet.append((cpu_ticks(tui) - before) / os.sysconf("SC_CLK_TCK") / seconds * 100)
                orch(p, "start", "flood", "--", "sh", "-c", "while :; do echo flood line; done")
                before = cpu_ticks(tui)
                time.sleep(seconds)
                flood.append((cpu_ticks(tui) - before) / os.sysconf("SC_CLK_TCK") / seconds * 100)
                orch(p, "stop", "flood")
                orch(p, "stop", "s1")
                stopped = time.perf_counter()
                while "s1 " not in tmux("capture-pane", "-p").stdout or not any(
                    line.split()[:2] == ["s1", "stopped"] for line in tmux("capture-pane", "-p").stdout.splitlines()
                ):
                    if time.perf_counter() - stopped > 5:
                        raise RuntimeError("the screen never showed s1 stopped")
                    time.sleep(0.005)
                delay.append(time.perf_counter() - stopped)
            finally:
                tmux("kill-server")
    print(f"  tui: {n} services: CPU median {statistics.median(quiet):.1f} % of a core while quiet, "
          f"{statistics.median(flood):.1f} % while one service floods; a state change on screen "
          f"{statistics.median(delay) * 1000:.0f} ms after the stop returned (median)")


def bench_dashboard(runs, n=100, seconds=5):
    """`orch dashboard` on 100 services: how long `/api/services` takes, and, while one service
    floods its output, the lines a page is sent per second (paced at 500), the lines it is told
    were dropped, and the dashboard's CPU and memory."""
    import json
    import urllib.request
    services = many_sleepers(n)
    answer, sent, told, cpu, rss = [], [], [], [], []
    for _ in range(runs):
        with Project(services) as p:
            orch(p, "up")
            dash = subprocess.Popen([ORCH, "dashboard", "--no-up"], cwd=p, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
            try:
                url = dash.stdout.readline().strip()
                base, token = url.split("/?token=")
                headers = {"Authorization": f"Bearer {token}"}
                for _ in range(20):
                    start = time.perf_counter()
                    with urllib.request.urlopen(urllib.request.Request(base + "/api/services", headers=headers)) as r:
                        assert len(json.load(r)) == n
                    answer.append(time.perf_counter() - start)
                orch(p, "start", "flood", "--", "sh", "-c", "while :; do echo flood line; done")
                events = urllib.request.urlopen(urllib.request.Request(base + "/api/events", headers=headers))
                lines = dropped = 0
                event = None
                before = cpu_ticks(dash.pid)
                start = time.perf_counter()
                while time.perf_counter() - start < seconds:
                    line = events.readline().decode().rstrip("\n")
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "line":
                        lines += 1
                    elif line.startswith("data: ") and event == "dropped":
                        dropped += json.loads(line[6:])["lines"]
                elapsed = time.perf_counter() - start
                cpu.append((cpu_ticks(dash.pid) - before) / os.sysconf("SC_CLK_TCK") / elapsed * 100)
                rss.append(rss_of(dash.pid))
                sent.append(lines / elapsed)
                told.append(dropped / elapsed)
                events.close()
                orch(p, "stop", "flood")
            finally:
                dash.kill()
                dash.wait()
    print(f"  dashboard: {n} services: /api/services median {fmt(statistics.median(answer))}; "
          f"under a flood a page is sent {statistics.median(sent):.0f} lines/s and told of "
          f"{statistics.median(told):.0f} lines/s dropped; the dashboard's CPU median "
          f"{statistics.median(cpu):.1f} % of a core, RSS {statistics.median(rss) / 1024 / 1024:.1f} MiB")


CASES = {
    "up100": bench_up_100,
    "min_uptime": bench_min_uptime,
    "deep_chain": bench_deep_chain,
    "logs": bench_log_throughput,
    "chain": bench_chain,
    "reload": bench_reload,
    "adopt": bench_adoption,
    "idle": bench_idle,
    "watch": bench_watch,
    "health": bench_health,
    "tui": bench_tui,
    "dashboard": bench_dashboard,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=sorted(CASES))
    parser.add_argument("--orch", help="the orch binary to time (default: target/release/orch)")
    parser.add_argument("--baseline-orch", help="another orch binary to time the same cases with")
    args = parser.parse_args()
    global BASELINE_ORCH, ORCH
    BASELINE_ORCH = args.baseline_orch
    ORCH = str(Path(args.orch).resolve()) if args.orch else ORCH
    if not Path(ORCH).exists():
        sys.exit("build first: cargo build --release")
    print(f"orch benchmarks, {args.runs} runs each, {os.cpu_count()} cores")
    for name, case in CASES.items():
        if args.only in (None, name):
            case(args.runs)


if __name__ == "__main__":
    main()
