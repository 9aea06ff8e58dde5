#!/usr/bin/env python3
"""orch side by side with peer tools (foreman, honcho, supervisord, pm2, pitchfork) and the raw
limit (what the kernel does with a shell loop), over N services. Run by hand, not in CI:

    python3 bench/peers.py [--runs 5] [--sizes 10,100,300,1000] [--orch PATH]
                           [--only up,rss,down,ps,idle,logs_tail,up_again,log_lines]
                           [--peers foreman,honcho,supervisord,pm2,pitchfork]

Every workload runs the same N services, `sh -c 'touch ready.$i; exec sleep 3600'`, through each
tool; "up" is timed until all N ready files exist, for every tool. Each table row is a median
over --runs runs, with its ratio to orch and to the raw limit; the last line of each table is
each tool's growth exponent over N (least squares slope of log(figure) against log(N)).

A peer that is not installed is skipped with a line that says so. Every process a run starts is
ended, even on failure: each run's processes carry a marker in their environment
(PEERS_BENCH=<run folder>, and orch's own ORCH_PROJECT marker), the tool's own stop command is
asked first, then every marked pid and every process group this script started is SIGKILLed by
pid/pgid. Nothing is ever killed by name.
"""
import argparse
import json
import math
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # no bench/__pycache__ in the work tree
import bench  # noqa: E402  (bench/bench.py: Project, cleanup, marked_pids, rss_of, syscalls_over)

MARKER = "PEERS_BENCH"
SCRIPT = "touch ready.{i}; exec sleep 3600"
SERVICE = "sh -c '" + SCRIPT + "'"
READY_TIMEOUT = 300.0  # seconds for N services to be up, per tool and run
DOWN_TIMEOUT = 300.0  # supervisord stops one program at a time: ~0.2 s each
MB = 1_000_000  # RSS figures are in MB (10^6 bytes), as the targets are
PY_BIN = Path(sys.executable).parent  # where `pip install` put honcho and supervisor

# The targets for orch: workload -> {N: ("ratio" to the raw limit | "abs" seconds/bytes, bound)}
TARGETS = {
    "up": {100: ("ratio", 1.2), 1000: ("ratio", 1.15)},
    "rss": {100: ("abs", 8 * MB), 1000: ("abs", 25 * MB)},
    "down": {100: ("abs", 0.020), 1000: ("abs", 0.120)},
    "ps": {1000: ("abs", 0.008)},
}


# ---------------------------------------------------------------- processes


def now():
    return time.perf_counter()


def wait_for(predicate, timeout, what, interval=0.001):
    """Poll predicate until it holds; raise after timeout seconds (a bounded wait)."""
    deadline = now() + timeout
    while not predicate():
        if now() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def ready_count(folder):
    return sum(1 for name in os.listdir(folder) if name.startswith("ready."))


def alive(pid):
    """True while pid is a process that is not a zombie (a zombie has exited; pid 1 here may not
    reap orphans, so an exited orphan can stay a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def marked(folder):
    """Every live process of this run: our marker, or orch's (bench.marked_pids)."""
    root = str(Path(folder).resolve())
    pids = set(bench.pids_carrying(f"{MARKER}={root}", f"ORCH_PROJECT={root}", f"ORCH_SUPERVISOR={root}"))
    pids.discard(os.getpid())
    return {p for p in pids if alive(p)}


def describe(pids):
    out = []
    for pid in sorted(pids)[:5]:
        try:
            out.append(f"{pid} {Path(f'/proc/{pid}/cmdline').read_bytes().replace(bytes(1), b' ').decode()[:80]}")
        except OSError:
            out.append(str(pid))
    return "; ".join(out) + (f" and {len(pids) - 5} more" if len(pids) > 5 else "")


def kill_pid(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


class Run:
    """One run's folder and everything it started: the process groups (start_new_session) and,
    through the marker, every descendant. close() ends them all."""

    def __init__(self, tool):
        self.tmp = tempfile.mkdtemp(prefix=f"peers-{tool.name}-")
        self.dir = str(Path(self.tmp).resolve())
        self.env = dict(os.environ, **{MARKER: self.dir})
        self.groups = []
        self.popens = []
        self.tool = tool

    def spawn(self, argv, stdout=subprocess.DEVNULL, env=None, **kw):
        """Start a process in its own session (so its group can be killed by pgid)."""
        p = subprocess.Popen(argv, cwd=self.dir, env=env or self.env, stdin=subprocess.DEVNULL,
                             stdout=stdout, stderr=subprocess.STDOUT if stdout is not subprocess.DEVNULL
                             else subprocess.DEVNULL, start_new_session=True, **kw)
        self.groups.append(p.pid)
        self.popens.append(p)
        return p

    def run(self, argv, timeout=120, env=None, check=True):
        out = subprocess.run(argv, cwd=self.dir, env=env or self.env, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, argv))} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
        return out

    def close(self):
        try:
            self.tool.stop(self)  # the tool's own way first (pm2 kill, supervisorctl shutdown, …)
        except Exception:
            pass
        for pgid in self.groups:
            kill_group(pgid)
        for pid in self.tool.known_pids(self):
            kill_pid(pid)
        for pid in marked(self.dir):
            kill_pid(pid)
        for p in self.popens:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        try:
            wait_for(lambda: not marked(self.dir), 10, "the run's processes to end", interval=0.05)
        except TimeoutError as e:
            print(f"    warning: {e}: {sorted(marked(self.dir))}", file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- tools


class Tool:
    """One tool. write() makes its config for N services, start() starts them (returning once
    the tool's command returns; the caller waits for the ready files), supervisor() is the pid
    whose RSS is its figure, status() the argv of its status command, down() asks it to stop
    everything (the caller waits until every process is gone)."""

    name = "?"
    status_name = None

    def missing(self):
        return None

    def write(self, run, n, cmd):
        raise NotImplementedError

    def start(self, run):
        raise NotImplementedError

    def supervisor(self, run):
        return None

    def status(self, run):
        return None

    def down(self, run):
        raise NotImplementedError

    def stop(self, run):
        """Best-effort stop used by cleanup."""

    def settled(self, run, n):
        """Whether the tool is ready to be stopped (see Foreground.settled)."""
        return True

    def known_pids(self, run):
        return [p for p in [self.supervisor_quiet(run)] if p]

    def supervisor_quiet(self, run):
        try:
            return self.supervisor(run)
        except Exception:
            return None

    def log_file(self, run, name):
        """Where service `name`'s output lands, for the 1M-lines workload (None: not a file)."""
        return None

    log_note = "its output does not go to a file"

    def write_oneshot(self, run, cmd):
        """Config for one service `flood` running cmd once (1M-lines workload); None: no file."""
        return None


def which(name, *extra):
    for d in extra:
        if Path(d, name).exists():
            return str(Path(d, name))
    return shutil.which(name)


class Orch(Tool):
    name = "orch"
    status_name = "orch ps"
    binary = "/tmp/orch-before"

    def missing(self):
        return None if Path(self.binary).exists() else f"no orch binary at {self.binary}"

    def manifest(self, services):
        return 'min_uptime = "0s"\n' + "".join(
            f'[services.{name}]\ncmd = {json.dumps(cmd)}\nlog = {{ max_size = "1GB" }}\n' + extra
            for name, cmd, extra in services)

    def write(self, run, n, cmd):
        Path(run.dir, "procs.toml").write_text(self.manifest([(f"s{i}", cmd(i), "") for i in range(n)]))

    def write_oneshot(self, run, cmd):
        Path(run.dir, "procs.toml").write_text(self.manifest([("flood", cmd, "oneshot = true\n")]))
        return True

    def start(self, run):
        run.run([self.binary, "up"], timeout=READY_TIMEOUT)

    def supervisor(self, run):
        return bench.supervisor_pid(run.dir)

    def status(self, run):
        return [self.binary, "ps"]

    def down(self, run):
        run.run([self.binary, "down"], timeout=DOWN_TIMEOUT)

    def stop(self, run):
        if Path(run.dir, "procs.toml").exists():
            run.run([self.binary, "down"], timeout=30, check=False)

    def log_file(self, run, name):
        return Path(run.dir, ".orch", "logs", f"{name}.log")


def write_procfile(run, services):
    Path(run.dir, "Procfile").write_text("".join(f"{name}: {cmd}\n" for name, cmd in services))


class Foreground(Tool):
    """foreman and honcho: a Procfile, run in the foreground; the foreground process is the
    supervisor; down is SIGTERM to it, timed until it and every child have exited."""

    def write(self, run, n, cmd):
        # foreman and honcho run each line with `sh -c` themselves: the line is the script, as a
        # Procfile is written (an `sh -c '…'` line would be a shell in a shell, whose inner
        # process foreman's SIGTERM to the outer one leaves running).
        write_procfile(run, [(f"s{i}", SCRIPT.format(i=i)) for i in range(n)])

    def write_oneshot(self, run, cmd):
        write_procfile(run, [("flood", cmd)])
        return True

    def argv(self):
        raise NotImplementedError

    def start(self, run):
        # Their output (every service's, prefixed) to a file: the 1M-lines workload reads it,
        # and settled() its "started" lines.
        run.fg_log = Path(run.dir, "fg.log")
        with open(run.fg_log, "wb") as out:
            run.fg = run.spawn(self.argv(), stdout=out)

    def settled(self, run, n):
        # honcho learns its children's pids through a queue, after they run: a SIGTERM before
        # it has them all crashes its shutdown (KeyError: 'pid') and it hangs. So down is timed
        # from when the tool has said "started" for all N (both print one line per start).
        return run.fg_log.read_bytes().count(b"started") >= n

    def supervisor(self, run):
        return run.fg.pid

    def down(self, run):
        run.fg.send_signal(signal.SIGTERM)

    def stop(self, run):
        fg = getattr(run, "fg", None)
        if fg and fg.poll() is None:
            fg.send_signal(signal.SIGTERM)
            try:
                fg.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def log_file(self, run, name):
        return getattr(run, "fg_log", None)


class Foreman(Foreground):
    name = "foreman"

    def missing(self):
        return None if which("foreman") else "foreman not installed (apt-get install ruby-foreman)"

    def argv(self):
        return [which("foreman"), "start", "-f", "Procfile", "-d", "."]


class Honcho(Foreground):
    name = "honcho"

    def missing(self):
        return None if which("honcho", PY_BIN) else "honcho not installed (pip install honcho)"

    def argv(self):
        # The real script, not a pyenv shim (whose bash start-up is no part of honcho).
        return [which("honcho", PY_BIN), "-f", "Procfile", "-d", ".", "start"]


class Supervisord(Tool):
    name = "supervisord"
    status_name = "supervisorctl status"

    def missing(self):
        return None if which("supervisord", PY_BIN) else "supervisor not installed (pip install supervisor)"

    def conf(self, run, programs):
        d = run.dir
        head = f"""[unix_http_server]
file={d}/supervisor.sock

[supervisord]
logfile={d}/supervisord.log
pidfile={d}/supervisord.pid
childlogdir={d}
minfds=16384
minprocs=4096
directory={d}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{d}/supervisor.sock
"""
        body = "".join(f"""
[program:{name}]
command={cmd}
directory={d}
autostart=true
startsecs=0
autorestart={'false' if out else 'true'}
stopsignal=TERM
stopwaitsecs=10
stdout_logfile={out or 'NONE'}
stdout_logfile_maxbytes=0
redirect_stderr=true
""" for name, cmd, out in programs)
        Path(d, "supervisord.conf").write_text(head + body)

    def write(self, run, n, cmd):
        self.conf(run, [(f"s{i}", cmd(i), None) for i in range(n)])

    def write_oneshot(self, run, cmd):
        self.conf(run, [("flood", cmd, f"{run.dir}/flood.log")])
        return True

    def ctl(self, run, *args, check=True):
        return run.run([which("supervisorctl", PY_BIN), "-c", "supervisord.conf", *args], check=check)

    def start(self, run):
        # Daemonizes: returns once the daemon forked; its pidfile names the daemon.
        run.run([which("supervisord", PY_BIN), "-c", "supervisord.conf"])
        wait_for(lambda: self.supervisor_quiet(run), 30, "supervisord's pidfile")

    def supervisor(self, run):
        return int(Path(run.dir, "supervisord.pid").read_text().strip())

    def status(self, run):
        return [which("supervisorctl", PY_BIN), "-c", "supervisord.conf", "status"]

    def down(self, run):
        self.ctl(run, "shutdown")

    def stop(self, run):
        pid = self.supervisor_quiet(run)
        if pid and alive(pid):
            self.ctl(run, "shutdown", check=False)
            try:
                wait_for(lambda: not alive(pid), 15, "supervisord to exit", interval=0.02)
            except TimeoutError:
                pass

    def log_file(self, run, name):
        return Path(run.dir, f"{name}.log")


class Pm2(Tool):
    name = "pm2"
    status_name = "pm2 jlist"

    def missing(self):
        return None if which("pm2") else "pm2 not installed (npm install -g pm2)"

    def env(self, run):
        return dict(run.env, PM2_HOME=f"{run.dir}/.pm2")

    def apps(self, run, apps):
        eco = {"apps": [dict({"name": name, "script": "/bin/sh", "args": ["-c", cmd], "interpreter": "none",
                              "cwd": run.dir, "autorestart": not out, "merge_logs": True,
                              "out_file": out or "/dev/null", "error_file": out or "/dev/null"})
                        for name, cmd, out in apps]}
        Path(run.dir, "ecosystem.config.json").write_text(json.dumps(eco))

    def write(self, run, n, cmd):
        self.apps(run, [(f"s{i}", cmd(i), None) for i in range(n)])

    def write_oneshot(self, run, cmd):
        self.apps(run, [("flood", cmd, f"{run.dir}/flood.log")])
        return True

    def pm2(self, run, *args, check=True, timeout=READY_TIMEOUT):
        return run.run([which("pm2"), *args], env=self.env(run), check=check, timeout=timeout)

    def start(self, run):
        self.pm2(run, "start", "ecosystem.config.json")

    def supervisor(self, run):
        return int(Path(run.dir, ".pm2", "pm2.pid").read_text().strip())

    def status(self, run):
        return [which("pm2"), "jlist"]

    def status_env(self, run):
        return self.env(run)

    def down(self, run):
        self.pm2(run, "kill", timeout=DOWN_TIMEOUT)

    def stop(self, run):
        if Path(run.dir, ".pm2", "pm2.pid").exists():
            self.pm2(run, "kill", check=False, timeout=60)

    def log_file(self, run, name):
        return Path(run.dir, f"{name}.log")


class Pitchfork(Tool):
    """pitchfork (`cargo install pitchfork-cli`): a pitchfork.toml with `ready_delay = 0` (else
    it waits 3 s per daemon), its state in HOME/XDG folders inside the run folder, so that its
    supervisor is this run's alone."""

    name = "pitchfork"
    status_name = "pitchfork list"
    binary = None

    def missing(self):
        self.binary = which("pitchfork", "/work/.peers/bin")
        return None if self.binary else "pitchfork not installed (cargo install pitchfork-cli --root /work/.peers)"

    def env(self, run):
        home = f"{run.dir}/home"
        Path(home).mkdir(exist_ok=True)
        return dict(run.env, HOME=home, XDG_STATE_HOME=f"{home}/.local/state",
                    XDG_CONFIG_HOME=f"{home}/.config", XDG_CACHE_HOME=f"{home}/.cache",
                    XDG_DATA_HOME=f"{home}/.local/share", PITCHFORK_NO_WEB="1")

    def toml(self, run, daemons):
        Path(run.dir, "pitchfork.toml").write_text("".join(
            f"[daemons.{name}]\nrun = {json.dumps(cmd)}\nready_delay = 0\n" + extra
            for name, cmd, extra in daemons))

    def write(self, run, n, cmd):
        self.toml(run, [(f"s{i}", cmd(i), "") for i in range(n)])

    # Its daemons' output goes into an SQLite database (state/pitchfork/logs/logs.db), not a
    # file: the 1M-lines workload, which times lines into a file, skips it.
    log_note = "its logs go into an SQLite database (logs/logs.db), not a file"

    def pf(self, run, *args, check=True, timeout=READY_TIMEOUT):
        return run.run([self.binary, *args], env=self.env(run), check=check, timeout=timeout)

    def start(self, run):
        self.pf(run, "start", "--all")

    def supervisor(self, run):
        state = Path(run.dir, "home", ".local", "state", "pitchfork")
        pid_file = state / "supervisor.pid"
        if pid_file.exists():
            return int(pid_file.read_text().strip())
        # Else the process in the marked set whose command is the pitchfork supervisor.
        for pid in marked(run.dir):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmdline and cmdline[0].endswith(b"pitchfork") and b"supervisor" in cmdline:
                return pid
        return None

    def status(self, run):
        return [self.binary, "list"]

    def status_env(self, run):
        return self.env(run)

    def down(self, run):
        self.pf(run, "stop", "--all", check=False, timeout=DOWN_TIMEOUT)
        self.pf(run, "supervisor", "stop", timeout=DOWN_TIMEOUT)

    def stop(self, run):
        if Path(run.dir, "home").exists():
            self.pf(run, "supervisor", "stop", check=False, timeout=30)



PEERS = {t.name: t for t in (Foreman(), Honcho(), Supervisord(), Pm2(), Pitchfork())}


# ---------------------------------------------------------------- workloads

# Results: figures[workload][tool][N] = list of samples (seconds, bytes or calls/s)
def record(figures, workload, tool, n, value):
    figures.setdefault(workload, {}).setdefault(tool, {}).setdefault(n, []).append(value)


def cycle(tool, n, figures, only, idle_seconds, status_calls):
    """One run of tool with N services: up (until all ready), RSS, status, idle, down."""
    run = Run(tool)
    try:
        tool.write(run, n, lambda i: SERVICE.format(i=i))
        start = now()
        tool.start(run)
        wait_for(lambda: ready_count(run.dir) >= n, READY_TIMEOUT, f"{n} ready files")
        record(figures, "up", tool.name, n, now() - start)
        sup = tool.supervisor(run)
        if "rss" in only and sup:
            record(figures, "rss", tool.name, n, bench.rss_of(sup))
        argv = tool.status(run)
        if "ps" in only and argv:
            env = tool.status_env(run) if hasattr(tool, "status_env") else None
            times = []
            for _ in range(status_calls):
                t = now()
                run.run(argv, env=env)
                times.append(now() - t)
            record(figures, "ps", tool.name, n, statistics.median(times))
        if "idle" in only and n == 100 and sup and shutil.which("strace"):
            time.sleep(0.5)  # what the start set going settles before the window
            record(figures, "idle", tool.name, n, bench.syscalls_over(sup, idle_seconds) / idle_seconds)
        if "down" in only:
            wait_for(lambda: tool.settled(run, n), 30, f"{tool.name} to report {n} started")
            pids = marked(run.dir) | ({sup} if sup else set())
            start = now()
            tool.down(run)
            try:
                wait_for(lambda: not any(alive(p) for p in pids), DOWN_TIMEOUT, "every process to exit")
            except TimeoutError as e:
                raise TimeoutError(f"{e}; left: {describe([p for p in pids if alive(p)])}") from None
            record(figures, "down", tool.name, n, now() - start)
            left = marked(run.dir)
            if left:
                print(f"    warning: {tool.name} left {len(left)} processes after down", file=sys.stderr)
    finally:
        run.close()


class Raw(Tool):
    name = "raw"

    def stop(self, run):
        pass


def raw_up(n):
    """The same N processes spawned by a bash loop, until all have touched their file."""
    run = Run(Raw())
    try:
        script = f'for i in $(seq 0 {n - 1}); do sh -c "touch ready.$i; exec sleep 3600" & done'
        start = now()
        p = run.spawn(["bash", "-c", script])
        wait_for(lambda: ready_count(run.dir) >= n, READY_TIMEOUT, f"{n} ready files")
        elapsed = now() - start
        p.wait(timeout=30)
        return elapsed
    finally:
        run.close()


def raw_down(n):
    """Kill N sleepers (our own children) and reap them all."""
    run = Run(Raw())
    procs = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen(["sleep", "3600"], env=run.env, stdin=subprocess.DEVNULL))
        start = now()
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=DOWN_TIMEOUT)
        return now() - start
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        run.close()


def bench_sizes(tools, sizes, runs, only, figures, idle_seconds, status_calls):
    for n in sizes:
        for r in range(runs):
            if "up" in only:
                record(figures, "up", "raw", n, raw_up(n))
            if "down" in only:
                record(figures, "down", "raw", n, raw_down(n))
            for tool in tools:
                if tool.name in FAILED:
                    continue
                t = now()
                try:
                    cycle(tool, n, figures, only, idle_seconds, status_calls)
                except Exception as e:  # a peer that fails at N is dropped from larger N
                    FAILED[tool.name] = f"failed at N={n} (run {r + 1}): {summary(e)}"
                    print(f"  {tool.name}: {FAILED[tool.name]}; skipped from here on", flush=True)
                    continue
                print(f"  [N={n} run {r + 1}/{runs}] {tool.name}: up {fmt(figures['up'][tool.name][n][-1])}"
                      f" (cycle {now() - t:.1f} s)", flush=True)


FAILED = {}


def summary(error):
    """An error's first line and, for a failed command, the last line it printed."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    return (lines[0] + (f" ... {lines[-1]}" if len(lines) > 1 else ""))[:400]

WRITER_LINES = 1_000_000
SENTINEL = "END-OF-FLOOD"
# 1,000,000 lines of 99 characters and a newline (100 bytes each), then one sentinel line by
# which the end is found without counting 100 MB on every poll.
WRITER = ("python3 -c \"import sys; line = 'x' * 99 + chr(10); "
          f"sys.stdout.writelines(line for _ in range({WRITER_LINES})); print('{SENTINEL}')\"")


def ended(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 65536))
            return SENTINEL.encode() in f.read()
    except OSError:
        return False


def count_full_lines(path):
    needle = b"x" * 99 + b"\n"
    total = 0
    with open(path, "rb") as f:
        rest = b""
        for chunk in iter(lambda: f.read(1 << 22), b""):
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            total += data[:cut].count(needle)
            rest = data[cut:]
    return total


def bench_log_lines(tools, runs, figures):
    """1M lines of 100 bytes from one service, until the last is in the tool's log file."""
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            start = now()
            subprocess.run(["sh", "-c", f"{WRITER} > {d}/out"], check=True)
            record(figures, "log_lines", "raw", 1, now() - start)
        for tool in tools:
            if tool.name in FAILED_LOG:
                continue
            run = Run(tool)
            try:
                if not tool.write_oneshot(run, WRITER):
                    FAILED_LOG[tool.name] = f"skipped: {tool.log_note}"
                    continue
                start = now()
                tool.start(run)
                wait_for(lambda: ended(tool.log_file(run, "flood")), READY_TIMEOUT, "the last line in the log", 0.005)
                elapsed = now() - start
                got = count_full_lines(tool.log_file(run, "flood"))
                if got != WRITER_LINES:
                    raise RuntimeError(f"{got} of {WRITER_LINES} lines in the log")
                record(figures, "log_lines", tool.name, 1, elapsed)
            except Exception as e:
                FAILED_LOG[tool.name] = summary(e)
                print(f"  log_lines: {tool.name}: {FAILED_LOG[tool.name]}", flush=True)
            finally:
                run.close()


FAILED_LOG = {}


def write_orch_log(path, size):
    """Append `size` bytes of records in orch's format to path."""
    t = datetime(2026, 12, 2, 10, 0, 0, tzinfo=timezone.utc)
    step = timedelta(microseconds=1000)
    written, i = 0, 0
    with open(path, "a") as f:
        while written < size:
            chunk = []
            for _ in range(10000):
                stamp = (t + step * i).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                chunk.append(f"{stamp} out line {i:09d} " + "y" * 60 + "\n")
                i += 1
            text = "".join(chunk)
            f.write(text)
            written += len(text)


def bench_orch_only(orch, runs, only, figures, calls=10):
    """orch's own cases: `logs -n 1000` of a 100 MB log vs tail, `up` on a project already up vs ps."""
    def median_of(run, argv):
        times = []
        for _ in range(calls):
            t = now()
            subprocess.run(argv, cwd=run.dir, env=run.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times.append(now() - t)
        return statistics.median(times)

    for _ in range(runs):
        if "logs_tail" in only:
            run = Run(orch)
            try:
                orch.write(run, 1, lambda i: SERVICE.format(i=i))
                orch.start(run)
                log = orch.log_file(run, "s0")
                write_orch_log(log, 100 * MB)
                record(figures, "logs_tail", "orch", 1, median_of(run, [orch.binary, "logs", "-n", "1000", "s0"]))
                record(figures, "logs_tail", "raw", 1, median_of(run, ["tail", "-n", "1000", str(log)]))
            finally:
                run.close()
        if "up_again" in only:
            run = Run(orch)
            try:
                orch.write(run, 100, lambda i: SERVICE.format(i=i))
                orch.start(run)
                wait_for(lambda: ready_count(run.dir) >= 100, READY_TIMEOUT, "100 ready files")
                record(figures, "up_again", "orch", 100, median_of(run, [orch.binary, "up"]))
                record(figures, "up_again", "raw", 100, median_of(run, [orch.binary, "ps"]))
            finally:
                run.close()


# ---------------------------------------------------------------- report


def fmt(seconds):
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def fmt_value(workload, v):
    if workload == "rss":
        return f"{v / MB:.1f} MB"
    if workload == "idle":
        return f"{v:.1f}/s"
    return fmt(v)


def growth(points):
    """Least squares slope of log(value) against log(N)."""
    pts = [(math.log(n), math.log(v)) for n, v in points if v > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / den if den else None


TITLES = {
    "up": "up of N services, until all N ready files exist (raw: a bash loop spawning the same)",
    "rss": "supervisor RSS with N services (foreman/honcho: the foreground process; pm2: God daemon)",
    "down": "down of N, until the supervisor and every process have exited (raw: kill N + reap)",
    "ps": "status with N running (orch ps, supervisorctl status, pm2 jlist, pitchfork list)",
    "idle": "idle supervisor with 100 services: system calls/s, strace -c -f on every thread",
    "logs_tail": "orch logs -n 1000 of a 100 MB log (raw: tail -n 1000 of the same file)",
    "up_again": "orch up on a project already up, 100 services (raw: orch ps)",
    "log_lines": "1,000,000 lines of 100 bytes into the log file (raw: cmd > file)",
}
RAW_NAMES = {"up": "bash loop", "down": "kill+reap", "logs_tail": "tail -n", "up_again": "orch ps",
             "log_lines": "cmd > file"}
SINGLE_TARGETS = {"logs_tail": ("abs", 0.003), "up_again": ("abs", 0.005), "idle": ("abs", 0),
                  "log_lines": ("ratio", 1.25)}


def target_note(workload, n, med, raw):
    kind_bound = TARGETS.get(workload, {}).get(n) or (SINGLE_TARGETS.get(workload) if workload in SINGLE_TARGETS else None)
    if not kind_bound:
        return ""
    kind, bound = kind_bound
    if kind == "ratio":
        if raw is None:
            return ""
        ok = med / raw <= bound
        return f"  target <= {bound}x raw: {'ok' if ok else 'MISSED'}"
    ok = med <= bound
    return f"  target <= {fmt_value(workload, bound)}: {'ok' if ok else 'MISSED'}"


def report(figures, order, runs):
    lines = []
    for workload in ["up", "rss", "down", "ps", "idle", "logs_tail", "up_again", "log_lines"]:
        data = figures.get(workload)
        if not data:
            continue
        lines.append("")
        lines.append(f"{TITLES[workload]} -- medians of {runs}")
        lines.append(f"  {'N':>5}  {'tool':<12} {'median':>10}  {'x orch':>7}  {'x raw':>7}")
        tools = [t for t in ["raw"] + order if t in data]
        sizes = sorted({n for t in tools for n in data[t]})
        for n in sizes:
            meds = {t: statistics.median(data[t][n]) for t in tools if n in data[t]}
            o, raw = meds.get("orch"), meds.get("raw")
            for t in tools:
                if t not in meds:
                    continue
                m = meds[t]
                xo = f"{m / o:.2f}x" if o else "-"
                xr = f"{m / raw:.2f}x" if raw else "-"
                name = RAW_NAMES.get(workload, "raw") if t == "raw" else t
                note = target_note(workload, n, m, raw) if t == "orch" else ""
                if len(data[t][n]) != runs:
                    note += f"  (median of {len(data[t][n])} runs)"
                lines.append(f"  {n if workload not in ('log_lines', 'logs_tail') else '-':>5}  {name:<12} "
                             f"{fmt_value(workload, m):>10}  {xo:>7}  {xr:>7}{note}")
        if len(sizes) > 1:
            grows = []
            for t in tools:
                g = growth([(n, statistics.median(data[t][n])) for n in sizes if n in data[t]])
                if g is not None:
                    grows.append(f"{RAW_NAMES.get(workload, 'raw') if t == 'raw' else t} N^{g:.2f}")
            lines.append("  grows as: " + ", ".join(grows))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="10,100,300,1000")
    parser.add_argument("--orch", default="/tmp/orch-before", help="the orch binary (default /tmp/orch-before)")
    workloads = ["up", "rss", "down", "ps", "idle", "logs_tail", "up_again", "log_lines"]
    parser.add_argument("--only", default=",".join(workloads), help="comma list of " + ",".join(workloads))
    parser.add_argument("--peers", default=",".join(PEERS), help="comma list of " + ",".join(PEERS))
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--status-calls", type=int, default=5, help="status calls per run (their median)")
    args = parser.parse_args()

    only = set(args.only.split(","))
    unknown = only - set(workloads)
    if unknown:
        sys.exit(f"unknown workloads: {', '.join(sorted(unknown))}")
    sizes = [int(s) for s in args.sizes.split(",")]
    Orch.binary = str(Path(args.orch).resolve())
    bench.ORCH = Orch.binary  # bench.cleanup / Project use it
    # 1000 services, each with pipes: lift our soft fd limit to the hard one (children inherit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    orch = Orch()
    if orch.missing():
        sys.exit(orch.missing())
    tools = [orch]
    for name in args.peers.split(","):
        if not name:
            continue
        if name not in PEERS:
            sys.exit(f"unknown peer {name}; known: {', '.join(PEERS)}")
        reason = PEERS[name].missing()
        if reason:
            print(f"skipped {name}: {reason}")
        else:
            tools.append(PEERS[name])
    print(f"orch vs peers: {', '.join(t.name for t in tools)}; N = {sizes}; {args.runs} runs; "
          f"{os.cpu_count()} cores; orch = {Orch.binary}; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", flush=True)

    figures = {}
    if only & {"up", "rss", "down", "ps", "idle"}:
        bench_sizes(tools, sizes, args.runs, only, figures, args.idle_seconds, args.status_calls)
    if only & {"logs_tail", "up_again"}:
        bench_orch_only(orch, args.runs, only, figures)
    if "log_lines" in only:
        bench_log_lines(tools, args.runs, figures)
    print(report(figures, [t.name for t in tools], args.runs))
    for name, why in {**FAILED, **{f"{k} (log_lines)": v for k, v in FAILED_LOG.items()}}.items():
        print(f"note: {name}: {why}")


if __name__ == "__main__":
    main()
