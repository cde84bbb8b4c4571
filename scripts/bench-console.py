#!/usr/bin/env python3
"""Console page latency beside the API call behind it, over one keep-alive connection.

Usage: scripts/bench-console.py HOST PORT [REQUESTS] against `yunshi serve --demo` (it signs in
as the demo's operator administrator). Prints BENCHMARKS.md rows: page, p50 ms, p99 ms.
"""
import http.client, json, statistics, sys, time

host, port = sys.argv[1], int(sys.argv[2])
n = int(sys.argv[3]) if len(sys.argv) > 3 else 200

c = http.client.HTTPConnection(host, port)
body = json.dumps({"email": "admin@operator.sim", "password": "yunshi-demo-2026"})
c.request("POST", "/api/v1/sessions", body, {"content-type": "application/json"})
token = json.loads(c.getresponse().read())["token"]
cookie = f"yunshi_session={token}"

def measure(path, headers):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        c.request("GET", path, headers=headers)
        r = c.getresponse(); r.read()
        assert r.status == 200, (path, r.status)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]

rows = [
    ("catalogue page `/`", "/", {"cookie": cookie}),
    ("its API call `/api/v1/catalogue?page_size=50`", "/api/v1/catalogue?page_size=50", {"authorization": f"Bearer {token}"}),
    ("product page `/products/{id}`", None, {"cookie": cookie}),
    ("its API call `/api/v1/catalogue/{id}`", None, {"authorization": f"Bearer {token}"}),
    ("operator complaint desk", "/operator/complaints", {"cookie": cookie}),
    ("operator dashboard (reads every order)", "/operator", {"cookie": cookie}),
]
c.request("GET", "/api/v1/catalogue?page_size=1", headers={"authorization": f"Bearer {token}"})
pid = json.loads(c.getresponse().read())["items"][0]["product"]
for label, path, headers in rows:
    if path is None:
        path = f"/products/{pid}" if "page" in label else f"/api/v1/catalogue/{pid}"
    p50, p99 = measure(path, headers)
    print(f"| {label} | {p50:.2f} | {p99:.2f} |")
