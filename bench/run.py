#!/usr/bin/env python3
"""devproxy's benchmark: devproxy against the backend hit directly and, when installed, nginx
configured the same way, in one run on this machine. Prints one table with ratios and writes
bench/results/latest.json.

    python3 bench/run.py            # everything (a few minutes)
    python3 bench/run.py --quick    # fewer rounds, 256 MiB transfers

Needs: cargo; wrk and nginx for the load and nginx columns (`apt-get install wrk nginx`);
curl; npm for the Vite column (Vite is installed once into ~/.cache/devproxy-bench/vite;
`--no-vite` skips it). Everything listens on 127.0.0.1 only.
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
VITE = "--no-vite" not in sys.argv
VITE_DIR = os.path.expanduser("~/.cache/devproxy-bench/vite")
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


def nginx_main(work, name, http, worker_connections=4096, extra=""):
    """nginx.conf for a run as this user in `work`: the main and http parts, around `http`
    (upstreams and servers)."""
    return f"""
worker_processes auto;
daemon off;
pid {work}/{name}.pid;
error_log {work}/{name}-error.log;
events {{ worker_connections {worker_connections}; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;{extra}
  client_body_temp_path {work}/nginx-body;
  proxy_temp_path {work}/nginx-proxy;
  fastcgi_temp_path {work}/nginx-fcgi;
  uwsgi_temp_path {work}/nginx-uwsgi;
  scgi_temp_path {work}/nginx-scgi;
{http}
}}
"""


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


def vite_js():
    """Vite's CLI, installed on first use into VITE_DIR (outside the repository); None when npm
    is missing or the install fails."""
    js = os.path.join(VITE_DIR, "node_modules/vite/bin/vite.js")
    if not os.path.exists(js) and shutil.which("npm"):
        os.makedirs(VITE_DIR, exist_ok=True)
        print("installing Vite for its column…", file=sys.stderr)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "vite@8"],
                       cwd=VITE_DIR, capture_output=True)
    return js if os.path.exists(js) and shutil.which("node") else None


def start_vite(js, work, site, port, bp):
    """Vite's dev server with the same rules, as a Vite user would write them."""
    conf = os.path.join(work, "vite.config.mjs")
    with open(conf, "w") as f:
        f.write(f"""export default {{
  root: {json.dumps(site)},
  logLevel: "silent",
  server: {{
    host: "{HOST}", port: {port}, strictPort: true,
    proxy: {{
      "/api": {{ target: "http://{HOST}:{bp}", rewrite: (p) => p.replace(/^\\/api/, "") }},
      "/download": "http://{HOST}:{bp}",
      "/upload": "http://{HOST}:{bp}",
      "/events": "http://{HOST}:{bp}",
      "/socket": {{ target: "ws://{HOST}:{bp}", ws: true }},
    }},
  }},
}};
""")
    return subprocess.Popen(["node", js, "--config", conf], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


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
                f.write(nginx_main(work, "nginx", f"""
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
"""))
            nginx = subprocess.Popen([nginx_bin, "-c", conf, "-p", work], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(nginx)
            if not wait_port(npt):
                print("nginx did not start; its column is skipped", file=sys.stderr)
                have_nginx = False

        js = vite_js() if VITE else None
        if js:
            vp = free_port()
            vite = start_vite(js, work, site, vp, bp)
            procs.append(vite)
            if not wait_port(vp, 30):
                print("Vite did not start; its column is skipped", file=sys.stderr)
                js = None

        targets = {"direct": bp, "devproxy": dp}
        if have_nginx:
            targets["nginx"] = npt
        if js:
            targets["vite"] = vp

        print("small JSON through a rule…", file=sys.stderr)
        if have_wrk:
            results["json"] = {
                "direct": wrk(f"http://{HOST}:{bp}/hello"),
                "devproxy": wrk(f"http://{HOST}:{dp}/api/hello"),
            }
            for ref in ("nginx", "vite"):
                if ref in targets:
                    results["json"][ref] = wrk(f"http://{HOST}:{targets[ref]}/api/hello")
            # The inspector's cost: the same devproxy with --no-inspector, measured in turn
            # with the default (inspector on and capturing, a page listening to its feed).
            print("inspector on and off…", file=sys.stderr)
            dp2 = free_port()
            plain = subprocess.Popen([os.path.join(ROOT, "target/release/devproxy"), "serve", site, "-c", config, "-p", str(dp2), "--strict-port", "-q", "--no-inspector"], stdout=subprocess.DEVNULL)
            procs.append(plain)
            assert wait_port(dp2)
            feed = socket.create_connection((HOST, dp))
            feed.sendall(f"GET /__devproxy/api/feed HTTP/1.1\r\nHost: localhost:{dp}\r\n\r\n".encode())
            on, off = [], []
            for _ in range(ROUNDS):
                on.append(wrk(f"http://{HOST}:{dp}/api/hello")["rps"])
                off.append(wrk(f"http://{HOST}:{dp2}/api/hello")["rps"])
            feed.close()
            results["inspector_rps"] = {"on": statistics.median(on), "off": statistics.median(off)}
            plain.send_signal(signal.SIGINT)
            plain.wait(10)
            print("static files…", file=sys.stderr)
            for name, path in (("index", "/index.html"), ("asset_2mb", "/asset.bin")):
                results[name] = {k: wrk(f"http://{HOST}:{p}{path}") for k, p in targets.items() if k != "direct"}

        print("large transfers…", file=sys.stderr)
        # The peak RSS of the transfers alone: Linux resets VmHWM on "5" > clear_refs.
        peak_before = rss_kib(devproxy.pid, "VmHWM")
        with open(f"/proc/{devproxy.pid}/clear_refs", "w") as f:
            f.write("5")
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
        results["peak_rss_all_kib"] = max(peak_before, results["peak_rss_kib"], rss_kib(devproxy.pid, "VmHWM"))
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
    refs = [k for k in ("nginx", "vite") if k in r.get("sse_first_event_ms", {})]
    rows = []
    if "json" in r:
        j = r["json"]
        for key, label, hb in (("rps", "req/s", True), ("p50_ms", "p50 ms", False), ("p99_ms", "p99 ms", False)):
            rows.append((f"small JSON, {label}", {k: v[key] for k, v in j.items()}, hb))
        for name in ("index", "asset_2mb"):
            rows.append((f"static {name}, req/s", {k: v["rps"] for k, v in r[name].items()}, True))
            rows.append((f"static {name}, p99 ms", {k: v["p99_ms"] for k, v in r[name].items()}, False))
    mib = 1024 * 1024
    for key, label in (("download_Bps", "download MiB/s"), ("upload_Bps", "upload MiB/s")):
        rows.append((f"{r['big_bytes'] // mib} MiB {label}", {k: v / mib for k, v in r[key].items()}, True))
    rows.append(("SSE first event, ms", r["sse_first_event_ms"], False))
    rows.append(("WebSocket echo, round trips/s", r["ws_round_trips_per_s"], True))

    def ratio(dev, other, higher_better):
        if not dev or not other:
            return "–"
        return f"{dev / other:.2f}×" if higher_better else f"{other / dev:.2f}×"

    cols = ["direct", "devproxy"] + refs
    head = f"{'measure':<32}" + "".join(f"{c:>12}" for c in cols) + f"{'vs direct':>11}" + "".join(f"{'vs ' + c:>10}" for c in refs)
    print("\n" + head)
    for label, vals, hb in rows:
        fmt = lambda v: "–" if v is None else f"{v:,.1f}"
        line = f"{label:<32}" + "".join(f"{fmt(vals.get(c)):>12}" for c in cols)
        line += f"{ratio(vals.get('devproxy'), vals.get('direct'), hb):>11}"
        line += "".join(f"{ratio(vals.get('devproxy'), vals.get(c), hb):>10}" for c in refs)
        print(line)
    print("(ratios: devproxy against each; above 1 means devproxy is better)")
    s = r["sse_first_event_ms"]
    print(f"\nSSE added delay: {s['devproxy'] - s['direct']:.2f} ms")
    if "inspector_rps" in r:
        i = r["inspector_rps"]
        print(f"proxied JSON with the inspector capturing (a page listening): {i['on']:,.0f} req/s, "
              f"without: {i['off']:,.0f} req/s = {i['on'] / i['off']:.2f}×")
    print(f"peak RSS during the transfers: {r['peak_rss_kib'] / 1024:.1f} MiB")
    print(f"peak RSS over the whole run: {r['peak_rss_all_kib'] / 1024:.1f} MiB")
    print(f"idle RSS: {r['idle_rss_kib'] / 1024:.1f} MiB")
    print(f"start-up (exec to accepting): {r['startup_ms']:.1f} ms")
    print(f"reload (config write to new rule in use, median of 20): {r['reload_ms']:.1f} ms")


if __name__ == "__main__":
    main()
