#!/usr/bin/env python3
"""Differential test: the same proxy configs through devproxy and through webpack-dev-server 5
(with http-proxy-middleware, as Angular's webpack builder runs it), the same requests sent to
both, and where each request arrives compared: which backend, the path, the Host header and
the X-Forwarded-* headers. Not part of `cargo test`.

    python3 compat/run.py                      # the configs in compat/configs
    python3 compat/run.py --corpus ../shared/corpus
    python3 compat/run.py --verbose            # every difference, not just the counts

Needs cargo, node and npm. webpack, webpack-cli and webpack-dev-server are installed once into
~/.cache/devproxy-compat (never into the repository). Every target in a config is replaced by
a local echo backend on 127.0.0.1, so nothing leaves this machine. Object-form files are handed
to webpack-dev-server 5 (which takes only arrays) as Angular hands them: one entry per key,
`{ "context": [key], ...options }`, a string value as `{ "target": value }`.
"""

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.expanduser("~/.cache/devproxy-compat")
HOST = "127.0.0.1"
VERBOSE = "--verbose" in sys.argv


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Echo(BaseHTTPRequestHandler):
    """Answers with where the request arrived: this backend's name, the path, some headers."""

    def answer(self):
        body = json.dumps({
            "backend": self.server.name,
            "path": self.path,
            "host": self.headers.get("Host"),
            "xfwd": {k.lower(): v for k, v in self.headers.items() if k.lower().startswith("x-forwarded-")},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


def start_backend(name):
    server = ThreadingHTTPServer((HOST, 0), Echo)
    server.name = name
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def install_wds():
    marker = os.path.join(WORK, "node_modules/webpack-dev-server/package.json")
    if not os.path.exists(marker):
        os.makedirs(WORK, exist_ok=True)
        print("installing webpack-dev-server 5 into", WORK, file=sys.stderr)
        subprocess.run(["npm", "init", "-y"], cwd=WORK, capture_output=True, check=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent",
                        "webpack@5", "webpack-dev-server@5"], cwd=WORK, check=True)
    with open(marker) as f:
        return json.load(f)["version"]


def strip_comments(text):
    """JSONC to JSON: comments and trailing commas out (strings kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(c)
            i += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))


TARGET = re.compile(r"^(https?|wss?)://([^/]+)(.*)$")


def localize(config, backends):
    """Every target URL replaced by a local echo backend (one per distinct host:port)."""
    def url(u):
        if not isinstance(u, str):
            return u
        m = TARGET.match(u.strip())
        bare = re.match(r"^([A-Za-z0-9.\-\[\]:]+)(/.*)?$", u.strip())
        if not m and bare:
            # A target without a scheme is a mistake both tools must report; it still names a
            # host, so it points at a local backend too: nothing here leaves this machine.
            authority = bare.group(1)
            if authority not in backends:
                backends[authority] = start_backend(authority)
            return f"{HOST}:{backends[authority].server_port}{bare.group(2) or ''}"
        if not m:
            return u
        authority = m.group(2)
        if authority not in backends:
            backends[authority] = start_backend(authority)
        return f"http://{HOST}:{backends[authority].server_port}{m.group(3)}"

    def target(t):
        if isinstance(t, dict):
            # Node's { protocol, host, hostname, port } object.
            host = t.get("hostname") or t.get("host") or "localhost"
            port = t.get("port")
            scheme = str(t.get("protocol", "http:")).rstrip(":/")
            authority = f"{host}:{port}" if port and ":" not in str(host) else str(host)
            return url(f"{scheme}://{authority}")
        return url(t)

    def rule(r):
        if isinstance(r, str):
            return url(r)
        if isinstance(r, dict):
            r = dict(r)
            if "target" in r:
                r["target"] = target(r["target"])
            r.pop("secure", None)  # every backend here is plain http
            if isinstance(r.get("router"), dict):
                r["router"] = {k: url(v) for k, v in r["router"].items()}
        return r

    if isinstance(config, list):
        return [rule(r) for r in config]
    if isinstance(config, dict) and "target" in config:
        return rule(config)
    if isinstance(config, dict):
        return {k: rule(v) for k, v in config.items()}
    return config


def as_array(config):
    """What Angular hands webpack-dev-server 5 for this file."""
    if isinstance(config, list):
        return [r for r in config if isinstance(r, dict)]
    if isinstance(config, dict) and "target" in config:
        return [config]
    out = []
    for key, value in config.items():
        if isinstance(value, str) and TARGET.match(value):
            out.append({"context": [key], "target": value})
        elif isinstance(value, dict) and ("target" in value or "router" in value):
            out.append({**value, "context": [key]})
    return out


def patterns(config):
    if isinstance(config, list):
        for r in config:
            if isinstance(r, dict):
                ctx = r.get("context", r.get("pathFilter", []))
                yield from ([ctx] if isinstance(ctx, str) else ctx)
    elif isinstance(config, dict) and "target" not in config:
        yield from config.keys()


def requests_for(config):
    """Paths that probe each pattern: the prefix, below it, deeper, a sibling, and a miss."""
    paths = {"/unmatched/path"}
    for p in patterns(config):
        if not isinstance(p, str):
            continue
        base = re.split(r"[*?\[{(]", p.lstrip("!^"))[0].rstrip("/$\\")
        if not base.startswith("/"):
            continue
        paths.update({base or "/", base + "/", base + "/x", base + "/x/y?q=1", base + "v2"})
    return sorted(paths)


def fetch(port, path):
    req = urllib.request.Request(f"http://{HOST}:{port}{path}", headers={"Host": f"localhost:{port}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        body, status = e.read(), e.code
    except Exception as e:  # noqa: BLE001 - any failure is an outcome to compare
        return {"error": type(e).__name__}
    try:
        seen = json.loads(body)
        if isinstance(seen, dict) and "backend" in seen:
            host = seen["host"] or ""
            seen["host"] = "browser's" if host.startswith("localhost:") else "target's"
            seen["xfwd"] = sorted(seen["xfwd"])
            return seen
    except ValueError:
        pass
    return {"not proxied": status if status != 404 else "404"}


def start(cmd, port, cwd=None):
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if not wait_port(port):
        p.kill()
        raise RuntimeError(f"{cmd[0]} did not start: {p.stderr.read()[-2000:]}")
    return p


def run_one(path, devproxy, out):
    with open(path) as f:
        raw = json.loads(strip_comments(f.read()))
    backends = {}
    config = localize(raw, backends)
    tmp = tempfile.mkdtemp()
    try:
        site = os.path.join(tmp, "site")
        os.makedirs(site)
        conf = os.path.join(tmp, "proxy.conf.json")
        with open(conf, "w") as f:
            json.dump(config, f)
        rules = os.path.join(tmp, "wds.json")
        with open(rules, "w") as f:
            json.dump(as_array(config), f)
        dp, wp = free_port(), free_port()
        procs = [start([devproxy, "serve", site, "-c", conf, "-p", str(dp), "--strict-port", "-q", "--no-spa"], dp)]
        try:
            procs.append(start(["node", os.path.join(ROOT, "compat/wds.mjs"), rules, str(wp), WORK], wp))
        except RuntimeError as e:
            out.append((path, None, f"webpack-dev-server refused the file: {str(e).splitlines()[-1][:200]}"))
            return
        try:
            for req in requests_for(raw):
                a, b = fetch(dp, req), fetch(wp, req)
                diff = None if a == b else (a, b, deliberate(raw, req, a, b))
                out.append((path, req, diff))
        finally:
            for p in procs:
                p.kill()
                p.wait()
    finally:
        for s in backends.values():
            s.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


def deliberate(raw, req, a, b):
    """The documented difference behind this one, if it is one (see compat/README.md)."""
    if not isinstance(raw, dict) or "target" in raw:
        return None
    path = req.split("?")[0]
    for key, value in raw.items():
        prefix = re.split(r"[*?\[{]", key)[0].rstrip("/")
        if "backend" in a and "backend" not in b and key.endswith("/*") and path.startswith(prefix):
            return "an object key ending in /*: devproxy reads it as webpack-dev-server 4 did (the prefix)"
        if isinstance(value, str) and path.startswith(key) and "backend" in a and "backend" in b \
                and a["host"] != b["host"]:
            return "a string value: devproxy sends the target's Host (Vite's and Angular 17+'s reading)"
    return None


def kind(a, b):
    """What kind of difference: the first field that differs."""
    if "backend" not in a and "backend" not in b:
        return "neither proxies, but the answers differ"
    if "backend" not in a:
        return "webpack-dev-server proxies it, devproxy does not"
    if "backend" not in b:
        return "devproxy proxies it, webpack-dev-server does not"
    for field in ("backend", "path", "host", "xfwd"):
        if a[field] != b[field]:
            return f"both proxy it, the {field} differs"
    return "other"


def main():
    if not shutil.which("node") or not shutil.which("npm"):
        raise SystemExit("compat/run.py needs node and npm")
    version = install_wds()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    devproxy = os.path.join(ROOT, "target/release/devproxy")
    files = sorted(glob.glob(os.path.join(ROOT, "compat/configs/*.json")))
    if "--corpus" in sys.argv:
        files += sorted(glob.glob(os.path.join(sys.argv[sys.argv.index("--corpus") + 1], "*.json")))
    results = []
    for f in files:
        run_one(f, devproxy, results)
    compared = [r for r in results if r[1] is not None]
    same = sum(1 for r in compared if r[2] is None)
    refused = [r for r in results if r[1] is None]
    print(f"webpack-dev-server {version}: {len(files)} configs, {len(compared)} requests, "
          f"{same} arrive alike ({100 * same / max(1, len(compared)):.0f}%), "
          f"{len(compared) - same} differ; webpack-dev-server refused {len(refused)} files")
    kinds = {}
    for _, _, diff in compared:
        if diff:
            k = f"deliberate: {diff[2]}" if diff[2] else kind(diff[0], diff[1])
            kinds[k] = kinds.get(k, 0) + 1
    other = sum(n for k, n in kinds.items() if not k.startswith("deliberate"))
    print(f"  without the deliberate differences: {100 * (len(compared) - other) / max(1, len(compared)):.0f}% alike")
    for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {n:5}  {k}")
    for path, req, diff in results:
        name = os.path.relpath(path, ROOT)
        if req is None:
            print(f"  {name}: {diff}")
        elif diff and (VERBOSE or not diff[2]):
            print(f"  {name} {req}\n      devproxy:           {diff[0]}\n      webpack-dev-server: {diff[1]}")


if __name__ == "__main__":
    main()
