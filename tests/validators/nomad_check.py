#!/usr/bin/env python3
"""Checks a job file of `orch export nomad`, read on stdin, with python-hcl2's parser.

Always: the file parses; it has job blocks, each with a type; each group has a count and
tasks, every task the raw_exec driver, a config with a command, and a restart block; a port
label a task's env or a service names is one of its group's network ports, and `${NOMAD_PORT_x}`
is a dynamic one; no string interpolates anything but Nomad's own variables.

--expect FEATURE,... also requires, somewhere in the file: service (a service with a check),
check_restart, prestart (a lifecycle prestart task), periodic (a batch job with crons),
dynamic-port, scaled (a count over 1), wait-for (a prestart task running `orch probe`).

--dump prints the decoded env and args of every task as JSON (to compare with the manifest).

Prints what is missing or wrong and exits 1; pip install python-hcl2 to run it.
"""

import argparse
import json
import re
import sys

import hcl2

FEATURES = {"service", "check_restart", "prestart", "periodic", "dynamic-port", "scaled", "wait-for"}
# The interpolations the exporter writes on purpose.
ALLOWED = re.compile(r"^(NOMAD_PORT_[A-Za-z0-9_]+|NOMAD_ALLOC_INDEX)$")


def string(raw):
    """A quoted HCL string as python-hcl2 keeps it, decoded: escapes, `$${` and `%%{`.
    Returns the text and the names it interpolates."""
    if not (isinstance(raw, str) and len(raw) >= 2 and raw[0] == raw[-1] == '"'):
        raise ValueError(f"not a quoted string: {raw!r}")
    body, out, names, i = raw[1:-1], [], [], 0
    escapes = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
    while i < len(body):
        c = body[i]
        if c == "\\":
            nxt = body[i + 1]
            if nxt == "u":
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
            else:
                out.append(escapes[nxt])
                i += 2
        elif body.startswith("$${", i) or body.startswith("%%{", i):
            out.append(c + "{")
            i += 3
        elif body.startswith("${", i) or body.startswith("%{", i):
            end = body.index("}", i)
            names.append(body[i + 2 : end])
            out.append(body[i : end + 1])
            i = end + 1
        else:
            out.append(c)
            i += 1
    return "".join(out), names


def labelled(blocks):
    """[{'"name"': body}, ...] as [(name, body)]."""
    for block in blocks or []:
        for label, body in block.items():
            if label.startswith("__"):
                continue
            yield string(label)[0], body


def first(body, key):
    value = body.get(key)
    return value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else None


class Checker:
    def __init__(self):
        self.problems = []
        self.seen = set()
        self.dump = {}

    def problem(self, where, text):
        self.problems.append(f"{where}: {text}")

    def text(self, where, raw):
        try:
            value, names = string(raw)
        except (ValueError, KeyError, IndexError) as e:
            self.problem(where, f"bad string: {e}")
            return ""
        for name in names:
            if not ALLOWED.match(name):
                self.problem(where, f"interpolates ${{{name}}}: a literal should be escaped as $${{")
        return value

    def job(self, name, job):
        kind = self.text(f"job {name}: type", job.get("type", '""'))
        if kind not in ("service", "batch"):
            self.problem(f"job {name}", f"type is {kind!r}")
        periodic = first(job, "periodic")
        if periodic:
            if kind != "batch" or not periodic.get("crons"):
                self.problem(f"job {name}", "a periodic job is batch and has crons")
            self.seen.add("periodic")
        groups = list(labelled(job.get("group")))
        if not groups:
            self.problem(f"job {name}", "no group")
        for group_name, group in groups:
            self.group(f"job {name}: group {group_name}", group)

    def group(self, where, group):
        count = group.get("count")
        if not isinstance(count, int):
            self.problem(where, "no count")
        elif count > 1:
            self.seen.add("scaled")
        ports = {}
        network = first(group, "network")
        for label, port in labelled(network.get("port") if network else []):
            ports[label] = "static" not in port
        tasks = list(labelled(group.get("task")))
        if not tasks:
            self.problem(where, "no task")
        for task_name, task in tasks:
            self.task(f"{where}: task {task_name}", task_name, task, ports)

    def task(self, where, name, task, ports):
        if self.text(f"{where}: driver", task.get("driver", '""')) != "raw_exec":
            self.problem(where, "driver is not raw_exec")
        config = first(task, "config")
        if not config or "command" not in config:
            self.problem(where, "no config with a command")
            config = {}
        if not first(task, "restart"):
            self.problem(where, "no restart block")
        lifecycle = first(task, "lifecycle")
        if lifecycle:
            if self.text(f"{where}: hook", lifecycle.get("hook", '""')) != "prestart":
                self.problem(where, "lifecycle is not prestart")
            self.seen.add("prestart")
            words = [w for a in config.get("args", []) for w in self.text(where, a).split()]
            if name.startswith("wait-for-") and "probe" in words:
                self.seen.add("wait-for")
        args = [self.text(f"{where}: args", a) for a in config.get("args", [])]
        env = self.env(where, task, ports)
        self.dump[name] = {"command": self.text(where, config.get("command", '""')), "args": args, "env": env}
        for service in task.get("service") or []:
            self.service(where, service, ports)

    def env(self, where, task, ports):
        env = first(task, "env") or task.get("env") or {}
        decoded = {}
        for key, raw in env.items():
            if key.startswith("__"):
                continue
            key = string(key)[0] if key.startswith('"') else key
            value = self.text(f"{where}: env {key}", raw)
            decoded[key] = value
            for label in re.findall(r"\$\{NOMAD_PORT_([A-Za-z0-9_]+)\}", value):
                if not ports.get(label):
                    self.problem(where, f"env {key} uses NOMAD_PORT_{label}, not a dynamic port of the group")
                self.seen.add("dynamic-port")
        return decoded

    def service(self, where, service, ports):
        label = self.text(f"{where}: service port", service.get("port", '""'))
        if label not in ports:
            self.problem(where, f"service port {label!r} is not in the group's network")
        if self.text(f"{where}: provider", service.get("provider", '""')) != "nomad":
            self.problem(where, "service provider is not nomad")
        checks = service.get("check") or []
        if not checks:
            self.problem(where, "a service without a check")
        for check in checks:
            kind = self.text(f"{where}: check type", check.get("type", '""'))
            if kind not in ("http", "tcp"):
                self.problem(where, f"check type {kind!r}: provider nomad checks http and tcp only")
            if kind == "http" and "path" not in check:
                self.problem(where, "an http check without a path")
            if first(check, "check_restart"):
                self.seen.add("check_restart")
        self.seen.add("service")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expect", default="", help="comma-separated features: " + ", ".join(sorted(FEATURES)))
    parser.add_argument("--dump", action="store_true", help="print every task's decoded env and args")
    options = parser.parse_args()
    expected = {f for f in options.expect.split(",") if f}
    unknown = expected - FEATURES
    if unknown:
        parser.error(f"unknown features: {', '.join(sorted(unknown))}")
    try:
        document = hcl2.loads(sys.stdin.read())
    except Exception as e:  # python-hcl2 raises lark's errors, of many kinds
        print(f"does not parse as HCL: {e}")
        return 1
    checker = Checker()
    jobs = list(labelled(document.get("job")))
    if not jobs:
        checker.problem("file", "no job block")
    for name, job in jobs:
        checker.job(name, job)
    for feature in sorted(expected - checker.seen):
        checker.problem("file", f"missing: {feature}")
    for problem in checker.problems:
        print(problem)
    if options.dump:
        print(json.dumps(checker.dump, indent=1, sort_keys=True))
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main())
