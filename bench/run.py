#!/usr/bin/env python3
"""devproxy's benchmark: devproxy against the backend hit directly and, when installed, nginx
configured the same way, in one run on this machine. Prints one table with ratios and writes
bench/results/latest.json.

    python3 bench/run.py            # everything (a few minutes)
    python3 bench/run.py --quick    # fewer rounds, 256 MiB transfers

Needs: cargo; wrk and nginx for the load and nginx columns (`apt-get install wrk nginx`);
curl. Everything listens on 127.0.0.1 only.
"""

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = "--quick" in sys.argv
ROUNDS = 2 if QUICK else 3
DURATION = "3s" if QUICK else "5s"
BIG = (256 if QUICK else 1024) * 1024 * 1024
HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.001)
    return False


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def wrk(url):
    """Median requests/s, p50 and p99 (ms) over ROUNDS runs of wrk, 32 connections."""
    rps, p50, p99 = [], [], []
    for _ in range(ROUNDS):
        out = run(["wrk", "-t2", "-c32", "-d" + DURATION, "--latency", url])
        rps.append(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)))
        lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
        p50.append(to_ms(lat["50"]))
        p99.append(to_ms(lat["99"]))
        if re.search(r"Non-2xx or 3xx responses", out):
            raise SystemExit(f"wrk saw errors on {url}:\n{out}")
    return {"rps": statistics.median(rps), "p50_ms": statistics.median(p50), "p99_ms": statistics.median(p99)}


def to_ms(v):
    num, unit = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(num) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def curl_speed(url, upload=False):
    """Bytes per second for one transfer of BIG bytes."""
    if upload:
        cmd = f"head -c {BIG} /dev/zero | curl -sS -o /dev/null -T - -H 'Transfer-Encoding: chunked' -w '%{{speed_upload}}' {url}"
    else:
        cmd = f"curl -sS -o /dev/null -w '%{{speed_download}} %{{size_download}}' {url}"
    out = run(["bash", "-c", cmd]).split()
    if not upload and int(float(out[1])) != BIG:
        raise SystemExit(f"short download from {url}: {out}")
    return float(out[0])


def first_event_ms(port, path, samples=30):
    """Median ms from sending an SSE request to receiving the first event's bytes."""
    times = []
    for _ in range(samples):
        with socket.create_connection((HOST, port)) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t0 = time.perf_counter()
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n".encode())
            buf = b""
            while b"data:" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    raise SystemExit(f"SSE stream on {port}{path} closed early")
                buf += chunk
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def ws_rate(url):
    exe = os.path.join(ROOT, "target/release/examples/ws_bench")
    rates = [float(run([exe, url, "5000" if QUICK else "20000"])) for _ in range(ROUNDS)]
    return statistics.median(rates)


def main():
    print("building (release)…", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "--bins", "--examples", "--quiet"], cwd=ROOT, check=True)
    have_wrk = shutil.which("wrk") is not None
    have_nginx = shutil.which("nginx") is not None or os.path.exists("/usr/sbin/nginx")
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    work = tempfile.mkdtemp(prefix="devproxy-bench-")
    os.chmod(work, 0o755)  # nginx's workers run as another user and must read the site
    procs = []
    results = {"quick": QUICK, "big_bytes": BIG}
    try:
        site = os.path.join(work, "site")
        shutil.copytree(os.path.join(ROOT, "fixtures/site"), site)
        with open(os.path.join(site, "asset.bin"), "wb") as f:
            f.write(os.urandom(2 * 1024 * 1024))
        bp, dp, npt = free_port(), free_port(), free_port()
        backend = subprocess.Popen([os.path.join(ROOT, "target/release/examples/backend"), str(bp)], stdout=subprocess.DEVNULL)
        procs.append(backend)
        assert wait_port(bp), "backend did not start"
        config = os.path.join(work, "proxy.conf.json")
        rules = {
            "/api": {"target": f"http://{HOST}:{bp}", "pathRewrite": {"^/api": ""}},
            "/download": f"http://{HOST}:{bp}",
            "/upload": f"http://{HOST}:{bp}",
            "/events": f"http://{HOST}:{bp}",
            "/socket": {"target": f"ws://{HOST}:{bp}", "ws": True},
        }
        with open(config, "w") as f:
            json.dump(rules, f)

        # Start-up: exec to accepting connections, best of five.
        starts = []
        for _ in range(5):
            t0 = time.perf_counter()
            p = subprocess.Popen([os.path.join(ROOT, "target/release/devproxy"), "serve", site, "-c", config, "-p", str(dp), "--strict-port", "-q"], stdout=subprocess.DEVNULL)
            ok = wait_port(dp)
            starts.append((time.perf_counter() - t0) * 1000)
            if not ok:
                raise SystemExit("devproxy did not start")
            p.send_signal(signal.SIGINT)
            p.wait(10)
        results["startup_ms"] = min(starts)
        devproxy = subprocess.Popen([os.path.join(ROOT, "target/release/devproxy"), "serve", site, "-c", config, "-p", str(dp), "--strict-port", "-q"], stdout=subprocess.DEVNULL)
        procs.append(devproxy)
        assert wait_port(dp)
        time.sleep(0.5)
        results["idle_rss_kib"] = rss_kib(devproxy.pid)

        if have_nginx:
            conf = os.path.join(work, "nginx.conf")
            with open(conf, "w") as f:
                f.write(f"""
worker_processes auto;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path {work}/nginx-body;
  proxy_temp_path {work}/nginx-proxy;
  fastcgi_temp_path {work}/nginx-fcgi;
  uwsgi_temp_path {work}/nginx-uwsgi;
  scgi_temp_path {work}/nginx-scgi;
  upstream backend {{ server {HOST}:{bp}; keepalive 64; }}
  server {{
    listen {HOST}:{npt};
    root {site};
    location /api/ {{ proxy_pass http://backend/; proxy_http_version 1.1; proxy_set_header Connection ""; }}
    location ~ ^/(download|upload|events) {{
      proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering off; proxy_request_buffering off; client_max_body_size 0;
    }}
    location /socket {{
      proxy_pass http://backend; proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";
    }}
  }}
}}
""")
            nginx = subprocess.Popen([nginx_bin, "-c", conf, "-p", work], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(nginx)
            if not wait_port(npt):
                print("nginx did not start; its column is skipped", file=sys.stderr)
                have_nginx = False

        targets = {"direct": bp, "devproxy": dp}
        if have_nginx:
            targets["nginx"] = npt

        print("small JSON through a rule…", file=sys.stderr)
        if have_wrk:
            results["json"] = {
                "direct": wrk(f"http://{HOST}:{bp}/hello"),
                "devproxy": wrk(f"http://{HOST}:{dp}/api/hello"),
            }
            if have_nginx:
                results["json"]["nginx"] = wrk(f"http://{HOST}:{npt}/api/hello")
            print("static files…", file=sys.stderr)
            for name, path in (("index", "/index.html"), ("asset_2mb", "/asset.bin")):
                results[name] = {"devproxy": wrk(f"http://{HOST}:{dp}{path}")}
                if have_nginx:
                    results[name]["nginx"] = wrk(f"http://{HOST}:{npt}{path}")

        print("large transfers…", file=sys.stderr)
        results["download_Bps"] = {k: curl_speed(f"http://{HOST}:{p}/download/{BIG}") for k, p in targets.items()}
        results["upload_Bps"] = {k: curl_speed(f"http://{HOST}:{p}/upload", upload=True) for k, p in targets.items()}
        results["peak_rss_kib"] = rss_kib(devproxy.pid, "VmHWM")

        print("SSE and WebSocket…", file=sys.stderr)
        results["sse_first_event_ms"] = {k: first_event_ms(p, "/events") for k, p in targets.items()}
        results["ws_round_trips_per_s"] = {k: ws_rate(f"ws://{HOST}:{p}/socket") for k, p in targets.items()}

        print("reload…", file=sys.stderr)
        times = []
        for i in range(20):
            rules[f"/r{i}"] = {"target": f"http://{HOST}:{bp}/hello", "pathRewrite": {"^/r[0-9]+": ""}}
            tmp = config + ".tmp"
            with open(tmp, "w") as f:
                json.dump(rules, f)
            t0 = time.perf_counter()
            os.replace(tmp, config)
            while True:
                with socket.create_connection((HOST, dp)) as s:
                    s.sendall(f"GET /r{i} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        break
            times.append((time.perf_counter() - t0) * 1000)
            del rules[f"/r{i}"]
            time.sleep(0.1)
        results["reload_ms"] = statistics.median(times)
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT if p is not procs[0] else signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)

    report(results)
    out_dir = os.path.join(ROOT, "bench/results")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "latest.json"), "w") as f:
        json.dump(results, f, indent=2)


def report(r):
    rows = []

    def ratio(a, b):
        return f"{a / b:.2f}×" if a and b else "–"

    if "json" in r:
        j = r["json"]
        n = j.get("nginx", {})
        rows.append(("small JSON, req/s", j["direct"]["rps"], j["devproxy"]["rps"], n.get("rps"), True))
        rows.append(("small JSON, p50 ms", j["direct"]["p50_ms"], j["devproxy"]["p50_ms"], n.get("p50_ms"), False))
        rows.append(("small JSON, p99 ms", j["direct"]["p99_ms"], j["devproxy"]["p99_ms"], n.get("p99_ms"), False))
        for name in ("index", "asset_2mb"):
            rows.append((f"static {name}, req/s", None, r[name]["devproxy"]["rps"], r[name].get("nginx", {}).get("rps"), True))
            rows.append((f"static {name}, p99 ms", None, r[name]["devproxy"]["p99_ms"], r[name].get("nginx", {}).get("p99_ms"), False))
    mib = 1024 * 1024
    for key, label in (("download_Bps", "download MiB/s"), ("upload_Bps", "upload MiB/s")):
        d = r[key]
        rows.append((f"{r['big_bytes'] // mib} MiB {label}", d["direct"] / mib, d["devproxy"] / mib, d.get("nginx", 0) / mib or None, True))
    s = r["sse_first_event_ms"]
    rows.append(("SSE first event, ms", s["direct"], s["devproxy"], s.get("nginx"), False))
    w = r["ws_round_trips_per_s"]
    rows.append(("WebSocket echo, round trips/s", w["direct"], w["devproxy"], w.get("nginx"), True))

    print(f"\n{'measure':<32}{'direct':>12}{'devproxy':>12}{'nginx':>12}{'vs direct':>11}{'vs nginx':>10}")
    for label, direct, dev, nginx, higher_better in rows:
        fmt = lambda v: f"{v:,.1f}" if isinstance(v, float) else ("–" if v is None else str(v))
        vs_d = ratio(dev, direct) if higher_better else ratio(direct, dev) if direct else "–"
        vs_n = ratio(dev, nginx) if higher_better else ratio(nginx, dev) if nginx else "–"
        print(f"{label:<32}{fmt(direct):>12}{fmt(dev):>12}{fmt(nginx):>12}{vs_d:>11}{vs_n:>10}")
    print("(ratios: higher is better for devproxy in every column)")
    print(f"\nSSE added delay: {s['devproxy'] - s['direct']:.2f} ms")
    print(f"peak RSS during the transfers: {r['peak_rss_kib'] / 1024:.1f} MiB")
    print(f"idle RSS: {r['idle_rss_kib'] / 1024:.1f} MiB")
    print(f"start-up (exec to accepting): {r['startup_ms']:.1f} ms")
    print(f"reload (config write to new rule in use, median of 20): {r['reload_ms']:.1f} ms")


if __name__ == "__main__":
    main()
