#!/usr/bin/env python3
"""Performance as the developer feels it (issue 14), in one run against nginx and Vite:

  1. page load of a generated app (~400 hashed chunks, CSS, fonts, images) in headless
     Chromium: cold (new profile context: empty cache, new connections) and warm (revalidating),
     over HTTP/1.1, and over HTTP/2 with devproxy --https; the first cold load after start-up;
  2. the first proxied request to an https backend after start-up, against Vite;
  3. tail latency (p99, p99.9) of proxied JSON at 32 and 256 connections, against nginx;
  4. many connections: RSS with 10,000 idle keep-alive connections, CPU with 1,000 WebSockets
     each sending a message a second;
  5. reloads under load: the config rewritten 10 times a second during the JSON benchmark.

    python3 bench/feel.py            # everything (several minutes)
    python3 bench/feel.py --quick    # fewer loads and shorter runs
    python3 bench/feel.py --only pages   # one part: pages, first, tail or many

Needs what bench/run.py needs, and Chromium (`apt-get install chromium`). The generated app
lives in a temporary folder; Vite comes from ~/.cache/devproxy-bench/vite. Everything listens on
127.0.0.1 only.
"""

import asyncio
import base64
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as common  # noqa: E402  (the shared helpers of bench/run.py)

ROOT = common.ROOT
HOST = common.HOST
QUICK = "--quick" in sys.argv
# --only pages|first|tail|many: one part of the run.
ONLY = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
LOADS = 4 if QUICK else 10
DEVPROXY = os.path.join(ROOT, "target/release/devproxy")


# ---------------------------------------------------------------------------------------------
# The app: an index.html, a module graph of hashed chunks three levels deep, CSS, fonts, images.

def word(rng):
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 10)))


def chunk_source(rng, size, imports):
    lines = [f'import "./{name}";' for name in imports]
    n = 0
    while sum(len(line) + 1 for line in lines) < size:
        n += 1
        lines.append(f'export const {word(rng)}{n} = (a, b) => a + b + "{word(rng)} {word(rng)}" + {rng.randint(0, 99999)};')
    return "\n".join(lines) + "\n"


def make_app(dest, chunks=400, seed=14):
    rng = random.Random(seed)
    assets = os.path.join(dest, "assets")
    os.makedirs(assets)
    hashed = lambda stem, ext: f"{stem}-{base64.urlsafe_b64encode(rng.randbytes(6)).decode()}.{ext}"
    names = [hashed(f"c{i}", "js") for i in range(chunks)]
    # Sizes from 1 KB to 500 KB, most of them small, as a bundler's split chunks are.
    sizes = [int(1024 * 500 ** (rng.random() ** 3)) for _ in range(chunks)]
    fanout = 20
    for i, name in enumerate(names):
        kids = [names[j] for j in range(i * fanout + 1, min(chunks, i * fanout + fanout + 1))]
        with open(os.path.join(assets, name), "w") as f:
            f.write(chunk_source(rng, sizes[i], kids))
    css = [hashed(f"style{i}", "css") for i in range(4)]
    fonts = [hashed(f"font{i}", "woff2") for i in range(4)]
    for i, name in enumerate(fonts):
        with open(os.path.join(assets, name), "wb") as f:
            f.write(rng.randbytes(40_000))
    for i, name in enumerate(css):
        with open(os.path.join(assets, name), "w") as f:
            f.write(f"@font-face {{ font-family: f{i}; src: url(./{fonts[i]}) format('woff2'); }}\n")
            f.write(f".f{i} {{ font-family: f{i}; }}\n")
            for k in range(1500):
                f.write(f".{word(rng)}{k} {{ margin: {k % 17}px; color: #{rng.randint(0, 0xffffff):06x}; }}\n")
    images = [hashed(f"img{i}", "png") for i in range(20)]
    for name in images:
        with open(os.path.join(assets, name), "wb") as f:
            f.write(rng.randbytes(rng.randint(5_000, 80_000)))
    with open(os.path.join(dest, "index.html"), "w") as f:
        f.write("<!doctype html><html><head><meta charset=utf-8><title>app</title>\n")
        for name in css:
            f.write(f'<link rel="stylesheet" href="/assets/{name}">\n')
        f.write(f'<script type="module" src="/assets/{names[0]}"></script>\n</head><body>\n')
        for i in range(4):
            f.write(f'<p class="f{i}">text in font {i}</p>\n')
        for name in images:
            f.write(f'<img src="/assets/{name}" width="10" height="10">\n')
        f.write("</body></html>\n")
    return sum(os.path.getsize(os.path.join(assets, n)) for n in os.listdir(assets))


# ---------------------------------------------------------------------------------------------
# Chromium over the DevTools protocol on a pipe (fds 3 and 4), with nothing but the stdlib.

def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


class Chrome:
    def __init__(self, exe, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():
            # Chromium reads fd 3 and writes fd 4; copies first, so neither end clobbers the other.
            r, w = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-pipe", "--ignore-certificate-errors",
             "--disable-features=HttpsUpgrades", f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next = 0
        self.events = []

    def _read(self):
        while b"\0" not in self.buf:
            chunk = os.read(self.from_chrome, 1 << 16)
            if not chunk:
                raise SystemExit("Chromium closed its pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None):
        self.next += 1
        msg = {"id": self.next, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read()
            if m.get("id") == self.next:
                if "error" in m:
                    raise SystemExit(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, session, timeout=60):
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for i, m in enumerate(self.events):
                if m.get("method") == method and m.get("sessionId") == session:
                    del self.events[: i + 1]
                    return m
            self.events.append(self._read())
        raise SystemExit(f"no {method} within {timeout} s")

    def page(self, context=None):
        params = {"url": "about:blank"}
        if context:
            params["browserContextId"] = context
        target = self.call("Target.createTarget", params)["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=session)
        return target, session

    def load_ms(self, session, url):
        """Navigates and returns the time to the load event (navigation timing)."""
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired", session)
        r = self.call("Runtime.evaluate", {
            "expression": "performance.getEntriesByType('navigation')[0].loadEventStart",
            "returnByValue": True}, session=session)
        return float(r["result"]["value"])

    def cold_ms(self, url):
        context = self.call("Target.createBrowserContext")["browserContextId"]
        target, session = self.page(context)
        try:
            return self.load_ms(session, url)
        finally:
            self.call("Target.closeTarget", {"targetId": target})
            self.call("Target.disposeBrowserContext", {"browserContextId": context})

    def warm_ms(self, url, n):
        context = self.call("Target.createBrowserContext")["browserContextId"]
        target, session = self.page(context)
        self.load_ms(session, url)
        times = [self.load_ms(session, url) for _ in range(n)]
        self.call("Target.closeTarget", {"targetId": target})
        self.call("Target.disposeBrowserContext", {"browserContextId": context})
        return times

    def close(self):
        self.proc.kill()
        self.proc.wait()


# ---------------------------------------------------------------------------------------------
# Servers.

def start(cmd, port, procs, **kw):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    procs.append(p)
    if not common.wait_port(port, 30):
        raise SystemExit(f"{cmd[0]} did not start")
    return p


def stop(p):
    p.send_signal(signal.SIGINT)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()


def nginx_conf(work, site, port, bp=None, name="nginx"):
    conf = os.path.join(work, f"{name}.conf")
    api = ""
    if bp:
        api = f"""upstream backend {{ server {HOST}:{bp}; keepalive 64; }}"""
    loc = ""
    if bp:
        loc = """location /api/ { proxy_pass http://backend/; proxy_http_version 1.1; proxy_set_header Connection ""; }"""
    gzip = "\n  gzip on;\n  gzip_types text/css application/javascript application/json image/svg+xml;"
    with open(conf, "w") as f:
        f.write(common.nginx_main(work, name, f"""  {api}
  server {{
    listen {HOST}:{port};
    root {site};
    add_header Cache-Control no-cache;
    {loc}
  }}""", worker_connections=20000, extra=gzip))
    return conf


def nginx_bin():
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


# ---------------------------------------------------------------------------------------------
# 1. Page load.

def page_loads(work, results, procs):
    exe = chromium()
    if not exe:
        print("no Chromium: page loads skipped", file=sys.stderr)
        return
    site = os.path.join(work, "app")
    total = make_app(site)
    results["app_bytes"] = total
    chrome = Chrome(exe, os.path.join(work, "chrome"))
    try:
        servers = {}
        dp, dps = common.free_port(), common.free_port()
        cache = os.path.join(work, "certs")
        env = dict(os.environ, DEVPROXY_CACHE_DIR=cache)
        # The first cold load after start-up, then the later ones.
        first = []
        for _ in range(3 if QUICK else 5):
            p = start([DEVPROXY, "serve", site, "-p", str(dp), "--strict-port", "-q"], dp, procs)
            first.append(chrome.cold_ms(f"http://localhost:{dp}/"))
            stop(p)
            procs.remove(p)
        results["first_cold_ms"] = statistics.median(first)
        start([DEVPROXY, "serve", site, "-p", str(dp), "--strict-port", "-q"], dp, procs)
        servers["devproxy"] = f"http://localhost:{dp}/"
        start([DEVPROXY, "serve", site, "-p", str(dps), "--strict-port", "-q", "--https"], dps, procs, env=env)
        servers["devproxy h2"] = f"https://localhost:{dps}/"
        if nginx_bin():
            npt = common.free_port()
            start([nginx_bin(), "-c", nginx_conf(work, site, npt, name="nginx-app"), "-p", work], npt, procs)
            servers["nginx"] = f"http://localhost:{npt}/"
        js = common.vite_js() if common.VITE else None
        if js:
            vp = common.free_port()
            start(["node", js, "preview", "--outDir", site, "--port", str(vp), "--strictPort", "--host", HOST],
                  vp, procs, cwd=work)
            servers["vite preview"] = f"http://localhost:{vp}/"
        loads = {}
        for name, url in servers.items():
            chrome.cold_ms(url)  # each server's first load, so "cold" means the browser's cache
            cold = [chrome.cold_ms(url) for _ in range(LOADS)]
            warm = chrome.warm_ms(url, LOADS)
            loads[name] = {"cold_ms": statistics.median(cold), "warm_ms": statistics.median(warm)}
            print(f"  {name}: cold {loads[name]['cold_ms']:.0f} ms, warm {loads[name]['warm_ms']:.0f} ms", file=sys.stderr)
        results["page_load"] = loads
    finally:
        chrome.close()


# ---------------------------------------------------------------------------------------------
# 2. The first proxied request to an https backend, after start-up and after a reload.

def https_backend(work, procs):
    """devproxy --https serving a JSON file stands in for an https API on loopback."""
    api = os.path.join(work, "api")
    os.makedirs(api, exist_ok=True)
    with open(os.path.join(api, "hello.json"), "w") as f:
        f.write('{"hello": "world"}\n')
    port = common.free_port()
    env = dict(os.environ, DEVPROXY_CACHE_DIR=os.path.join(work, "certs"))
    start([DEVPROXY, "serve", api, "-p", str(port), "--strict-port", "-q", "--https",
           "--no-inspector", "--no-live-reload"], port, procs, env=env)
    return port


def connect(port):
    """A connection, retried briefly: a server may accept once, then restart (Vite does)."""
    for _ in range(100):
        try:
            return socket.create_connection((HOST, port))
        except ConnectionRefusedError:
            time.sleep(0.02)
    return socket.create_connection((HOST, port))


def get_ms(port, path):
    s = connect(port)
    t0 = time.perf_counter()
    with s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    if not data.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"first request to {port}{path}: {data[:200]!r}")
    return (time.perf_counter() - t0) * 1000


def first_requests(work, results, procs):
    bp = https_backend(work, procs)
    config = os.path.join(work, "first.conf.json")
    rules = lambda port: {"/api": {"target": f"https://{HOST}:{port}", "secure": False, "changeOrigin": True,
                                   "pathRewrite": {"^/api": ""}}}
    with open(config, "w") as f:
        json.dump(rules(bp), f)
    site = os.path.join(work, "api")
    times = {"devproxy": [], "devproxy after reload": []}
    for _ in range(3 if QUICK else 7):
        port = common.free_port()
        p = start([DEVPROXY, "serve", site, "-c", config, "-p", str(port), "--strict-port", "-q"], port, procs)
        times["devproxy"].append(get_ms(port, "/api/hello.json"))
        # A reload to another https backend: the first request to it.
        bp2 = https_backend(work, procs)
        with open(config + ".tmp", "w") as f:
            json.dump(rules(bp2), f)
        os.replace(config + ".tmp", config)
        time.sleep(0.5)
        times["devproxy after reload"].append(get_ms(port, "/api/hello.json"))
        stop(p)
        procs.remove(p)
        with open(config, "w") as f:
            json.dump(rules(bp), f)
    js = common.vite_js() if common.VITE else None
    if js:
        times["vite"] = []
        conf = os.path.join(work, "vite.first.mjs")
        with open(conf, "w") as f:
            f.write(f"""export default {{ root: {json.dumps(site)}, logLevel: "silent",
  server: {{ host: "{HOST}", strictPort: true,
    proxy: {{ "/api": {{ target: "https://{HOST}:{bp}", secure: false, changeOrigin: true,
      rewrite: (p) => p.replace(/^\\/api/, "") }} }} }} }};
""")
        for _ in range(3 if QUICK else 7):
            port = common.free_port()
            p = start(["node", js, "--config", conf, "--port", str(port)], port, procs, cwd=work)
            times["vite"].append(get_ms(port, "/api/hello.json"))
            stop(p)
            procs.remove(p)
    results["first_request_ms"] = {k: statistics.median(v) for k, v in times.items()}


# ---------------------------------------------------------------------------------------------
# 3. Tail latency; 5. reloads under load.

WRK_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("P99 %f\\nP999 %f\\nRPS %f\\nERR %d\\n", latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, summary.requests / (summary.duration / 1e6),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
    + summary.errors.timeout))
end
"""


def wrk(url, conns, seconds, work):
    script = os.path.join(work, "tail.lua")
    with open(script, "w") as f:
        f.write(WRK_LUA)
    out = common.run(["wrk", f"-t2", f"-c{conns}", f"-d{seconds}s", "-s", script, url])
    got = dict(line.split() for line in out.splitlines() if line.split() and line.split()[0] in ("P99", "P999", "RPS", "ERR"))
    return {"p99_ms": float(got["P99"]), "p999_ms": float(got["P999"]), "rps": float(got["RPS"]), "errors": int(got["ERR"])}


def backend_and_rules(work, procs, name, rules):
    """Starts the demo backend; writes `rules(backend_port)` as NAME.conf.json beside a site
    folder. Returns the backend's port, the site and the config."""
    bp = common.free_port()
    start([os.path.join(ROOT, "target/release/examples/backend"), str(bp)], bp, procs)
    site = os.path.join(work, "api")
    os.makedirs(site, exist_ok=True)
    config = os.path.join(work, f"{name}.conf.json")
    with open(config, "w") as f:
        json.dump(rules(bp), f)
    return bp, site, config


def tails_and_reloads(work, results, procs):
    if not shutil.which("wrk"):
        print("no wrk: tail latency and reloads under load skipped", file=sys.stderr)
        return
    bp, site, config = backend_and_rules(work, procs, "tail", lambda bp: {
        "/api": {"target": f"http://{HOST}:{bp}", "pathRewrite": {"^/api": ""}}})
    dp = common.free_port()
    devproxy = start([DEVPROXY, "serve", site, "-c", config, "-p", str(dp), "--strict-port", "-q"], dp, procs)
    urls = {"devproxy": f"http://{HOST}:{dp}/api/hello"}
    if nginx_bin():
        npt = common.free_port()
        start([nginx_bin(), "-c", nginx_conf(work, site, npt, bp, name="nginx-tail"), "-p", work], npt, procs)
        urls["nginx"] = f"http://{HOST}:{npt}/api/hello"
    seconds = 3 if QUICK else 10
    tails = {}
    for conns in (32, 256):
        for name, url in urls.items():
            tails[f"{name} c{conns}"] = wrk(url, conns, seconds, work)
    results["tail"] = tails

    # Reloads under load: the same run, with the file rewritten ten times a second.
    plain = wrk(urls["devproxy"], 32, seconds, work)
    stop_flag = threading.Event()
    n = [0]

    def rewrite():
        while not stop_flag.is_set():
            n[0] += 1
            rule = {"/api": {"target": f"http://{HOST}:{bp}", "pathRewrite": {"^/api": ""},
                             "headers": {"X-Reload": str(n[0])}}}
            with open(config + ".tmp", "w") as f:
                json.dump(rule, f)
            os.replace(config + ".tmp", config)
            time.sleep(0.1)

    t = threading.Thread(target=rewrite)
    t.start()
    loaded = wrk(urls["devproxy"], 32, seconds, work)
    stop_flag.set()
    t.join()
    results["reloads_under_load"] = {"plain": plain, "reloading": loaded, "rewrites": n[0]}
    results["devproxy_pid"] = devproxy.pid
    return dp, devproxy, bp


# ---------------------------------------------------------------------------------------------
# 4. Many connections.

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def idle_connections(port, n):
    conns = []
    for i in range(n):
        r, w = await asyncio.open_connection(HOST, port)
        w.write(f"GET /index.html HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
        conns.append((r, w))
        if i % 500 == 499:
            await asyncio.sleep(0)
    for r, w in conns:
        head = await r.readuntil(b"\r\n\r\n")
        length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
        await r.readexactly(length)
    return conns


def ws_frame(text):
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


async def websocket(port, path, stop_at, count):
    r, w = await asyncio.open_connection(HOST, port)
    key = base64.b64encode(os.urandom(16)).decode()
    w.write((f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = await r.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"WebSocket refused: {head[:100]!r}")
    await asyncio.sleep(random.random())
    while time.perf_counter() < stop_at:
        w.write(ws_frame("tick"))
        await w.drain()
        await r.readexactly(2 + 4)  # the echo: header and "tick"
        count[0] += 1
        await asyncio.sleep(1)
    w.close()


def many_connections(work, results, procs):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    idle = 10_000 if hard >= 12_000 else hard - 2_000
    bp, site, config = backend_and_rules(work, procs, "many", lambda bp: {
        "/socket": {"target": f"ws://{HOST}:{bp}", "ws": True}})
    with open(os.path.join(site, "index.html"), "w") as f:
        f.write("<!doctype html>hi\n")
    dp = common.free_port()
    p = start([DEVPROXY, "serve", site, "-c", config, "-p", str(dp), "--strict-port", "-q"], dp, procs)
    time.sleep(0.3)
    before = common.rss_kib(p.pid)

    async def hold():
        conns = await idle_connections(dp, idle)
        await asyncio.sleep(1)
        rss = common.rss_kib(p.pid)
        for _, w in conns:
            w.close()
        return rss

    rss = asyncio.run(hold())
    results["idle_connections"] = {"n": idle, "rss_before_kib": before, "rss_kib": rss}

    sockets = 200 if QUICK else 1000
    seconds = 10 if QUICK else 20

    async def talk():
        count = [0]
        stop_at = time.perf_counter() + seconds + 1
        tasks = [asyncio.create_task(websocket(dp, "/socket", stop_at, count)) for _ in range(sockets)]
        await asyncio.sleep(1.5)  # all open
        c0, t0, m0 = cpu_seconds(p.pid), time.perf_counter(), count[0]
        await asyncio.sleep(seconds - 1)
        c1, t1, m1 = cpu_seconds(p.pid), time.perf_counter(), count[0]
        await asyncio.gather(*tasks)
        return (c1 - c0) / (t1 - t0), (m1 - m0) / (t1 - t0)

    cpu, rate = asyncio.run(talk())
    results["websockets"] = {"n": sockets, "cpu_share": cpu, "messages_per_s": rate}


# ---------------------------------------------------------------------------------------------

def main():
    print("building (release)…", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "--bins", "--examples", "--quiet"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="devproxy-feel-")
    os.chmod(work, 0o755)
    procs = []
    results = {"quick": QUICK}
    try:
        parts = [("pages", "page loads", page_loads), ("first", "first https requests", first_requests),
                 ("tail", "tail latency and reloads under load", tails_and_reloads),
                 ("many", "many connections", many_connections)]
        for key, what, part in parts:
            if ONLY in (None, key):
                print(f"{what}…", file=sys.stderr)
                part(work, results, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench/results/feel.json"), "w") as f:
        json.dump(results, f, indent=2)
    report(results)


def report(r):
    print()
    if "page_load" in r:
        pl = r["page_load"]
        print(f"page load, {r['app_bytes'] / 1e6:.1f} MB app, median of {LOADS} (ms)    cold     warm   cold vs nginx  warm vs nginx")
        for name, v in pl.items():
            ratio = lambda k: f"{v[k] / pl['nginx'][k]:.2f}×" if "nginx" in pl else "–"
            print(f"  {name:<40} {v['cold_ms']:7.0f}  {v['warm_ms']:7.0f}  {ratio('cold_ms'):>13}  {ratio('warm_ms'):>13}")
        later = pl["devproxy"]["cold_ms"]
        print(f"  first cold load after start-up: {r['first_cold_ms']:.0f} ms = {r['first_cold_ms'] / later:.2f}× the later ones")
        if "devproxy h2" in pl:
            print(f"  HTTP/2 (--https) cold: {pl['devproxy h2']['cold_ms'] / later:.2f}× devproxy's HTTP/1.1")
    if "first_request_ms" in r:
        f = r["first_request_ms"]
        line = ", ".join(f"{k} {v:.1f} ms" for k, v in f.items())
        vs = f" = {f['devproxy'] / f['vite']:.2f}× Vite" if "vite" in f else ""
        print(f"first proxied https request: {line}{vs}")
    if "tail" in r:
        print("proxied JSON tail latency             req/s     p99 ms   p99.9 ms")
        for k, v in r["tail"].items():
            print(f"  {k:<34} {v['rps']:9,.0f}  {v['p99_ms']:8.2f}  {v['p999_ms']:8.2f}")
        for c in (32, 256):
            if f"nginx c{c}" in r["tail"]:
                d, n = r["tail"][f"devproxy c{c}"], r["tail"][f"nginx c{c}"]
                print(f"  p99 at {c} connections: {d['p99_ms'] / n['p99_ms']:.2f}× nginx's")
    if "reloads_under_load" in r:
        u = r["reloads_under_load"]
        print(f"reloads under load: {u['rewrites']} rewrites, {u['reloading']['errors']} failed requests, "
              f"{u['reloading']['rps'] / u['plain']['rps']:.2f}× the req/s without reloads")
    if "idle_connections" in r:
        i = r["idle_connections"]
        print(f"{i['n']:,} idle keep-alive connections: RSS {i['rss_kib'] / 1024:.1f} MiB (idle {i['rss_before_kib'] / 1024:.1f} MiB)")
    if "websockets" in r:
        w = r["websockets"]
        print(f"{w['n']:,} WebSockets, a message a second each: {w['cpu_share'] * 100:.1f}% of one core "
              f"({w['messages_per_s']:.0f} messages/s)")


if __name__ == "__main__":
    main()
