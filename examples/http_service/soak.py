#!/usr/bin/env python3
"""Soak test of vindex_http_service: searches with concurrent adds, removes
and saves, hostile requests mixed in, a kill -9 during a save and a restart
from the file. Run through soak.sh, which builds the index and passes the
paths; all traffic goes to 127.0.0.1 and every request has a timeout.

Phases:
  1. baseline: searches only, p50/p99 latency.
  2. churn (--seconds): search threads, one writer (adds new ids, removes
     some of them), one saver (POST /save every few seconds), one hostile
     client (malformed and oversized bodies, knobs above their caps, idle and
     half-sent connections). Every hostile request must get a 4xx (or be
     closed by the server's timeouts) and the service must keep serving.
  3. crash: writes stop; save (state A, completed); a batch of adds and
     removes (state B); a second save, and kill -9 once its temporary file
     appears (mid-save). The service restarts from the file, which must hold
     exactly state A or state B: every vector of that state present with its
     values, every removed id absent.
  4. after: searches only again, p50/p99 latency.
Exit status 0 when every check held; the figures are printed as one table.
"""
import argparse
import glob
import http.client
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"
TIMEOUT_S = 30


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


class Service:
    """The service process: start on a free port, kill -9, restart."""

    def __init__(self, binary, index, threads):
        self.binary, self.index, self.threads = binary, index, threads
        self.proc = None
        self.port = None

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--index", self.index, "--host", HOST, "--port",
             "0", "--threads", str(self.threads), "--writable",
             "--idle-timeout-s", "2", "--read-timeout-s", "3"],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on %s:" % HOST):
            raise RuntimeError("service did not start: %r" % line)
        self.port = int(line.split(":")[1].split()[0])
        return line.strip()

    def rss_mib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return float("nan")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill9()
            return -1


class Client:
    """One keep-alive connection; reconnects after errors."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def post(self, path, body):
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(
                        HOST, self.port, timeout=TIMEOUT_S)
                self.conn.request("POST", path, body,
                                  {"Content-Type": "application/json"})
                r = self.conn.getresponse()
                return r.status, r.read().decode()
            except (OSError, http.client.HTTPException):
                # The server closed an idle keep-alive connection: retry
                # once on a fresh one.
                self.conn = None
                if attempt == 1:
                    raise
        return None

    def get(self, path):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT_S)
        conn.request("GET", path)
        r = conn.getresponse()
        out = r.status, r.read().decode()
        conn.close()
        return out


def vec_json(v):
    return "[" + ",".join("%.9g" % x for x in v) + "]"


def search_load(port, dim, seconds, threads, ef, stop, latencies, errors):
    def worker(seed):
        rng = random.Random(seed)
        c = Client(port)
        end = time.time() + seconds
        while time.time() < end and not stop.is_set():
            q = [rng.gauss(0, 1) for _ in range(dim)]
            body = '{"vector":%s,"k":10,"ef":%d}' % (vec_json(q), ef)
            t0 = time.perf_counter()
            try:
                status, text = c.post("/search", body)
            except OSError as e:
                errors.append("search: %s" % e)
                continue
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors.append("search %d %s" % (status, text[:200]))
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    return ts


class Ledger:
    """The writer's view: vectors of ids it added and has not removed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.live = {}  # id -> vector, for ids added through the service
        self.removed = set()
        self.next_id = 10_000_000


def writer(port, dim, ledger, stop, pause, counts, errors):
    rng = random.Random(11)
    c = Client(port)
    while not stop.is_set():
        if pause.is_set():
            time.sleep(0.05)
            continue
        with ledger.lock:
            remove = ledger.live and rng.random() < 0.3
            if remove:
                victim = rng.choice(list(ledger.live))
            else:
                victim = ledger.next_id
                ledger.next_id += 1
        if remove:
            status, text = c.post("/remove", '{"id":%d}' % victim)
            if status == 200:
                with ledger.lock:
                    del ledger.live[victim]
                    ledger.removed.add(victim)
                counts["removes"] += 1
            else:
                errors.append("remove %d: %d %s" % (victim, status, text))
        else:
            v = [round(rng.gauss(0, 1), 4) for _ in range(dim)]
            status, text = c.post(
                "/add", '{"id":%d,"vector":%s}' % (victim, vec_json(v)))
            if status == 200:
                with ledger.lock:
                    ledger.live[victim] = v
                counts["adds"] += 1
            else:
                errors.append("add %d: %d %s" % (victim, status, text))


def saver(port, stop, pause, period_s, counts, errors):
    c = Client(port)
    while not stop.wait(period_s):
        if pause.is_set():
            continue
        status, text = c.post("/save", "")
        if status == 200:
            counts["saves"] += 1
        else:
            errors.append("save: %d %s" % (status, text))


def raw_exchange(port, data, wait_s):
    """Sends raw bytes; returns what the server sent back before closing
    (or after wait_s of silence)."""
    s = socket.create_connection((HOST, port), timeout=wait_s)
    try:
        if data:
            s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


def hostile(port, dim, stop, counts, errors):
    """Requests a careless or hostile client might send; each must be
    refused with a 4xx, or closed by the server's timeouts."""
    v = vec_json([0.5] * dim)
    bodies = [
        ("/search", '{"vector":[1,2,'),
        ("/search", "not json"),
        ("/search", '{"vector":%s,"ef":1048576}' % v),
        ("/search", '{"vector":%s,"nprobe":1048576,"rerank_factor":1048576}'
         % v),
        ("/search", '{"vector":%s,"k":100000}' % v),
        ("/search", '{"vector":%s,"k":0}' % v),
        ("/search", '{"vector":[1e39%s]}' % (",0" * (dim - 1))),
        ("/search", '{"vector":[1,2,3]}'),
        ("/search", '{"vector":%s,"color":1}' % v),
        ("/search", '{"vector":%s,"k":1,"k":2}' % v),
        ("/search", "{" + " " * 100000 + "}"),
        ("/search", '{"vector":[' + ",".join(["1"] * 70000) + "]}"),
        ("/add", '{"id":-5,"vector":%s}' % v),
        ("/add", '{"id":1.5,"vector":%s}' % v),
        ("/add", '{"id":7}'),
        ("/remove", '{"id":99999999999}'),
        ("/get", '{"id":99999999999}'),
        ("/search", "x" * (5 << 20)),  # Over the 4 MiB body limit: 413.
    ]
    rng = random.Random(3)
    c = Client(port)
    while not stop.wait(0.2):
        kind = rng.randrange(len(bodies) + 2)
        if kind < len(bodies):
            path, body = bodies[kind]
            try:
                status, text = c.post(path, body)
            except OSError:
                # A 413 may close the connection before the body is sent.
                c = Client(port)
                status, text = 413, ""
            if not 400 <= status < 500:
                errors.append("hostile %s %r...: %d %s" %
                              (path, body[:60], status, text[:200]))
            counts["hostile"] += 1
        elif kind == len(bodies):
            # A connection that sends half a request line and goes quiet: the
            # server must close it after its read timeout (3 s here).
            t0 = time.time()
            got = raw_exchange(port, b"POST /search HTTP/1.1\r\nHost: x\r\n",
                               15)
            if time.time() - t0 >= 15:
                errors.append("a half-sent request was not closed in 15 s")
            counts["half_sent"] += 1
        else:
            # An idle keep-alive connection after one request: closed after
            # the idle timeout (2 s here).
            req = ("POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                   "\r\n%s" % (len('{"vector":%s}' % v), '{"vector":%s}' % v))
            t0 = time.time()
            got = raw_exchange(port, req.encode(), 15)
            if time.time() - t0 >= 15 or b"200 OK" not in got:
                errors.append("idle keep-alive connection: %r" % got[:80])
            counts["idle"] += 1


def check_state(port, state_live, state_removed, sample):
    """Whether the running service holds exactly these ids: every live id
    present with its vector, every removed id absent."""
    c = Client(port)
    problems = []
    for i in sample(list(state_live)):
        status, text = c.post("/get", '{"id":%d}' % i)
        if status != 200:
            problems.append("id %d missing (%d)" % (i, status))
            continue
        got = json.loads(text)["vector"]
        if any(abs(a - b) > 1e-5 for a, b in zip(got, state_live[i])):
            problems.append("id %d has other values" % i)
    for i in sample(list(state_removed)):
        status, _ = c.post("/get", '{"id":%d}' % i)
        if status != 404:
            problems.append("removed id %d is present (%d)" % (i, status))
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--service", required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--base-size", type=int, required=True)
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--phase-seconds", type=int, default=20)
    ap.add_argument("--search-threads", type=int, default=4)
    ap.add_argument("--ef", type=int, default=64)
    ap.add_argument("--save-every-s", type=float, default=10)
    args = ap.parse_args()

    svc = Service(args.service, args.index, threads=16)
    print(svc.start(), flush=True)
    errors = []
    rows = []

    def measure(name, seconds, with_churn=False):
        lat = []
        stop = threading.Event()
        ts = search_load(svc.port, args.dim, seconds, args.search_threads,
                         args.ef, stop, lat, errors)
        for t in ts:
            t.join()
        rows.append((name, len(lat), len(lat) / seconds,
                     percentile(lat, 50) * 1e3, percentile(lat, 99) * 1e3,
                     svc.rss_mib()))
        return lat

    # 1. Baseline.
    measure("before: searches only", args.phase_seconds)

    # 2. Churn with hostile requests.
    ledger = Ledger()
    counts = {"adds": 0, "removes": 0, "saves": 0, "hostile": 0,
              "half_sent": 0, "idle": 0}
    stop, pause = threading.Event(), threading.Event()
    lat = []
    searchers = search_load(svc.port, args.dim, args.seconds,
                            args.search_threads, args.ef, stop, lat, errors)
    side = [
        threading.Thread(target=writer, args=(svc.port, args.dim, ledger, stop,
                                              pause, counts, errors)),
        threading.Thread(target=saver, args=(svc.port, stop, pause,
                                             args.save_every_s, counts,
                                             errors)),
        threading.Thread(target=hostile, args=(svc.port, args.dim, stop,
                                               counts, errors)),
    ]
    for t in side:
        t.start()
    for t in searchers:
        t.join()
    stop.set()
    for t in side:
        t.join()
    rows.append(("churn: searches + adds/removes/saves + hostile", len(lat),
                 len(lat) / args.seconds, percentile(lat, 50) * 1e3,
                 percentile(lat, 99) * 1e3, svc.rss_mib()))
    print("churn: %s" % counts, flush=True)

    # 3. Crash during a save. State A: saved and answered.
    c = Client(svc.port)
    status, text = c.post("/save", "")
    if status != 200:
        errors.append("save A: %d %s" % (status, text))
    state_a = (dict(ledger.live), set(ledger.removed))
    # State B: more adds and removes, then a save killed mid-way.
    rng = random.Random(5)
    live_b, removed_b = dict(state_a[0]), set(state_a[1])
    for victim in rng.sample(sorted(live_b), min(200, len(live_b))):
        if c.post("/remove", '{"id":%d}' % victim)[0] == 200:
            del live_b[victim]
            removed_b.add(victim)
    for i in range(400):
        new_id = ledger.next_id + i
        v = [round(rng.gauss(0, 1), 4) for _ in range(args.dim)]
        if c.post("/add", '{"id":%d,"vector":%s}' %
                  (new_id, vec_json(v)))[0] == 200:
            live_b[new_id] = v
    tmp_glob = args.index + ".tmp.*"
    before_tmp = set(glob.glob(tmp_glob))
    lat_bg, stop_bg = [], threading.Event()
    bg = search_load(svc.port, args.dim, 60, args.search_threads, args.ef,
                     stop_bg, lat_bg, [])
    def save_until_killed():
        try:
            Client(svc.port).post("/save", "")
        except (OSError, http.client.HTTPException):
            pass  # The kill below ends this save without an answer.
    save_thread = threading.Thread(target=save_until_killed, daemon=True)
    save_thread.start()
    deadline = time.time() + 30
    mid_save = False
    while time.time() < deadline:
        if set(glob.glob(tmp_glob)) - before_tmp:
            mid_save = True
            break
        time.sleep(0.0005)
    svc.kill9()
    stop_bg.set()
    for t in bg:
        t.join()
    leftover = sorted(set(glob.glob(tmp_glob)) - before_tmp)
    for f in leftover:  # A killed save leaves its temporary file.
        os.remove(f)
    print("killed -9 %s the save (temporary file %s)" %
          ("during" if mid_save else "around",
           "seen" if mid_save else "not seen"), flush=True)

    # Restart from the file: it must hold state A or state B exactly.
    print(svc.start(), flush=True)
    status, text = Client(svc.port).get("/health")
    size = json.loads(text)["size"]
    size_a = args.base_size + len(state_a[0])
    size_b = args.base_size + len(live_b)
    which = "A" if size == size_a else "B" if size == size_b else None
    if which is None:
        errors.append("restarted size %d is neither A (%d) nor B (%d)" %
                      (size, size_a, size_b))
    else:
        live, removed = state_a if which == "A" else (live_b, removed_b)
        problems = check_state(svc.port, live, removed, lambda ids: ids)
        errors.extend(problems)
        print("restarted: the file holds state %s (%d vectors); %d ids "
              "checked present, %d absent, %d problems" %
              (which, size, len(live), len(removed), len(problems)),
              flush=True)

    # 4. After.
    measure("after restart: searches only", args.phase_seconds)
    code = svc.stop()
    if code != 0:
        errors.append("service exit code %d" % code)

    print("\n| phase | requests | requests/s | p50 ms | p99 ms | service RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, n, rate, p50, p99, rss in rows:
        print("| %s | %d | %.0f | %.2f | %.2f | %.0f |" %
              (name, n, rate, p50, p99, rss))
    print("\nchurn operations: %s" % counts)
    print("load average at the end: %s" % (os.getloadavg(),))
    if errors:
        print("\nFAILED: %d problems; first ones:" % len(errors))
        for e in errors[:20]:
            print("  " + e)
        return 1
    print("\nsoak passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
