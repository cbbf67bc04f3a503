#!/usr/bin/env python3
"""Benchmarks of `rbk serve` (not tests; CI does not run them). Two measures:

latency  alert POST -> first step started: one alert at a time, each a new occurrence; the
         runbook's first step calls back this script over HTTP, and the time from sending the
         POST to receiving that call is one sample. Prints p50/p90/p99/max and the POST's own
         answer time.
storm    N distinct alerts in payloads of B alerts, sent by C concurrent senders as fast as
         `rbk serve` answers; then every payload sent again (Alertmanager re-delivers whole
         groups). Prints alerts accepted per second, answers by status, and, once the runs have
         executed, how many alerts started no run (lost) and how many started more than one
         (duplicate starts), counted by the callbacks the runs make.

    bench/serve_bench.py latency --rbk target/release/rbk --store sqlite [--count 500]
    bench/serve_bench.py storm --rbk target/release/rbk --store postgres://... [--alerts 10000]

Only the standard library: http.client for the sender, http.server for the callbacks.
"""

import argparse
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TOKEN = "bench-intake-token"

RUNBOOK = """use std.http

/// Calls the benchmark back from its first step: the alert's `seq` label says which alert.
runbook bench_first_step {{
  title "Benchmark: first step"
  trigger alert "{alert}"

  step first "Tell the benchmark this run started" {{
    let seq = alert.labels["seq"] ?? "none"
    http.get(url: "http://127.0.0.1:{port}/started/{{seq}}")
  }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Callbacks:
    """Records when each `/started/SEQ` call arrives and how many times."""

    def __init__(self):
        self.lock = threading.Lock()
        self.first_at = {}
        self.count = {}
        self.arrived = threading.Condition(self.lock)
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                at = time.perf_counter()
                seq = self.path.rsplit("/", 1)[-1]
                with owner.lock:
                    owner.count[seq] = owner.count.get(seq, 0) + 1
                    owner.first_at.setdefault(seq, at)
                    owner.arrived.notify_all()
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, seq, timeout):
        deadline = time.monotonic() + timeout
        with self.lock:
            while seq not in self.first_at:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.arrived.wait(left)
            return self.first_at[seq]

    def wait_total(self, expected, timeout):
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.count) < expected:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.arrived.wait(min(left, 1.0))
            return dict(self.count)


def project(args, callbacks, alert):
    directory = tempfile.mkdtemp(prefix="rbk-serve-bench-")
    with open(os.path.join(directory, "bench.rbk"), "w") as f:
        f.write(RUNBOOK.format(alert=alert, port=callbacks.port))
    # The storm threshold is raised out of the way: this measures intake and starts, not R5.
    with open(os.path.join(directory, "rbk.toml"), "w") as f:
        f.write(
            "[serve]\n"
            'token_env = "RBK_BENCH_TOKEN"\n'
            f"workers = {args.workers}\n"
            'storm = { distinct = 1000000, window = "1m" }\n'
        )
        if args.store == "sqlite":
            f.write('\n[store]\nurl = "bench.db"\n')
        else:
            f.write(f'\n[store]\nurl = "{args.store}"\n')
    return directory


class Server:
    def __init__(self, args, directory):
        self.port = free_port()
        self.log = open(os.path.join(directory, "serve.log"), "w")
        env = dict(os.environ, RBK_BENCH_TOKEN=TOKEN, NO_COLOR="1")
        self.process = subprocess.Popen(
            [args.rbk, "serve", ".", "--listen", f"127.0.0.1:{self.port}"],
            cwd=directory,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                sys.exit(f"rbk serve exited: see {self.log.name}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit("rbk serve did not answer /healthz within 60 s")
            time.sleep(0.1)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def payload(alert, seqs, run_tag):
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": alert, "seq": str(seq), "bench": run_tag},
            "annotations": {"summary": f"benchmark alert {seq}"},
            "startsAt": "2026-12-02T00:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://bench/",
        }
        for seq in seqs
    ]
    return json.dumps(
        {
            "version": "4",
            "groupKey": f"{{}}:{{alertname=\"{alert}\"}}",
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "rbk",
            "groupLabels": {"alertname": alert},
            "commonLabels": {"alertname": alert},
            "commonAnnotations": {},
            "externalURL": "http://bench/",
            "alerts": alerts,
        }
    ).encode()


def post(connection, body):
    connection.request(
        "POST",
        "/v1/alertmanager",
        body=body,
        headers={"content-type": "application/json", "authorization": f"Bearer {TOKEN}"},
    )
    answer = connection.getresponse()
    answer.read()
    return answer.status


def percentile(sorted_values, p):
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def latency(args):
    callbacks = Callbacks()
    alert = "BenchLatency"
    directory = project(args, callbacks, alert)
    server = Server(args, directory)
    tag = str(os.getpid())
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    samples, acks = [], []
    try:
        for seq in range(args.warmup + args.count):
            body = payload(alert, [seq], tag)
            sent = time.perf_counter()
            status = post(connection, body)
            answered = time.perf_counter()
            if status != 200:
                sys.exit(f"alert {seq}: answer {status}")
            started = callbacks.wait_for(str(seq), 60)
            if started is None:
                sys.exit(f"alert {seq}: its run never called back (see {directory}/serve.log)")
            if seq >= args.warmup:
                samples.append((started - sent) * 1000)
                acks.append((answered - sent) * 1000)
    finally:
        server.stop()
    samples.sort()
    acks.sort()
    report = {
        "store": "sqlite" if args.store == "sqlite" else "postgresql",
        "alerts": len(samples),
        "first_step_ms": {p: round(percentile(samples, p), 2) for p in (50, 90, 99)},
        "first_step_max_ms": round(samples[-1], 2),
        "post_answer_ms": {p: round(percentile(acks, p), 2) for p in (50, 90, 99)},
    }
    print(json.dumps(report))
    shutil.rmtree(directory, ignore_errors=True)


def storm(args):
    callbacks = Callbacks()
    alert = "BenchStorm"
    directory = project(args, callbacks, alert)
    server = Server(args, directory)
    tag = str(os.getpid())
    batches = [
        list(range(start, min(start + args.batch, args.alerts)))
        for start in range(0, args.alerts, args.batch)
    ]
    bodies = [payload(alert, batch, tag) for batch in batches]
    statuses = {}
    lock = threading.Lock()

    def send(indices):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for i in indices:
            while True:
                status = post(connection, bodies[i])
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    break
                # What Alertmanager does with a 5xx: retry after a pause.
                time.sleep(0.05)

    def round_of_sends():
        threads = [
            threading.Thread(target=send, args=(range(k, len(bodies), args.senders),))
            for k in range(args.senders)
        ]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - began

    try:
        first = round_of_sends()
        again = round_of_sends()
        counts = callbacks.wait_total(args.alerts, args.drain_timeout)
        # Runs still executing could call back once more: give them a moment to show up.
        time.sleep(2)
        counts = dict(callbacks.count)
    finally:
        server.stop()
    lost = sum(1 for seq in range(args.alerts) if str(seq) not in counts)
    duplicates = sum(1 for n in counts.values() if n > 1)
    report = {
        "store": "sqlite" if args.store == "sqlite" else "postgresql",
        "alerts": args.alerts,
        "payloads": len(bodies),
        "alerts_per_payload": args.batch,
        "senders": args.senders,
        "first_delivery_s": round(first, 3),
        "alerts_accepted_per_s": round(args.alerts / first),
        "redelivery_s": round(again, 3),
        "redelivered_alerts_per_s": round(args.alerts / again),
        "answers": statuses,
        "runs_called_back": len(counts),
        "lost": lost,
        "duplicate_starts": duplicates,
    }
    print(json.dumps(report))
    shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("measure", choices=["latency", "storm"])
    parser.add_argument("--rbk", default="target/release/rbk")
    parser.add_argument("--store", default="sqlite", help="sqlite, or a postgres:// URL")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--count", type=int, default=500, help="latency: timed alerts")
    parser.add_argument("--warmup", type=int, default=20, help="latency: untimed alerts first")
    parser.add_argument("--alerts", type=int, default=10000, help="storm: distinct alerts")
    parser.add_argument("--batch", type=int, default=50, help="storm: alerts per payload")
    parser.add_argument("--senders", type=int, default=4, help="storm: concurrent senders")
    parser.add_argument("--drain-timeout", type=float, default=900)
    args = parser.parse_args()
    args.rbk = os.path.abspath(args.rbk)
    {"latency": latency, "storm": storm}[args.measure](args)


if __name__ == "__main__":
    main()
