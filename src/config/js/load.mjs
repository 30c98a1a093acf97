// devproxy's loader for JavaScript proxy configs (proxy.conf.js, .mjs, .cjs), run by the
// project's own `node`: `node --input-type=module -e <this> FILE [KIND]`. It evaluates FILE as
// Node would and prints one line of JSON. KIND says where the rules are in what FILE exports:
// `config` (the default: the export is the rules), `vite` (server.proxy, loaded by the
// project's own Vite), `webpack` (devServer.proxy), `umi` (proxy) or `cra` (src/setupProxy.js,
// run against stand-ins for express and http-proxy-middleware that record each proxy). The line:
//   { "config": ..., "functions": [{ rule, option }], "rewrites": [{ rule, option, pathRewrite }],
//     "files": [local modules read] }
// or { "error": message, "line": n, "column": n } when the file throws or does not parse.
// Functions cannot cross into devproxy: they are taken out and listed; a path rewrite function
// that behaves like an anchored prefix replacement comes back as the equivalent pathRewrite.
import path from "node:path";
import * as nodeModule from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const file = path.resolve(process.argv[1]);
const files = new Set([file]);
const local = (p) => !p.split(path.sep).includes("node_modules");

// ESM imports of local files are seen by a resolve hook (Node 20.6 and later).
const hooks = `let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.startsWith("file:")) port.postMessage(r.url);
  return r;
}`;
let port = null;
try {
  const channel = new MessageChannel();
  port = channel.port1;
  port.on("message", (url) => {
    const p = fileURLToPath(url);
    if (local(p)) files.add(p);
  });
  nodeModule.register("data:text/javascript," + encodeURIComponent(hooks), {
    data: { port: channel.port2 },
    transferList: [channel.port2],
  });
} catch {
  port = null;
}

function where(err) {
  // The first place in a local file that the stack (or a syntax error's banner) names.
  const text = String((err && err.stack) || "");
  for (const m of text.matchAll(/(file:\/\/\/[^\s:()]+|\/[^\s:()]+):(\d+)(?::(\d+))?/g)) {
    const p = m[1].startsWith("file:") ? fileURLToPath(m[1]) : m[1];
    if (local(p) && !p.startsWith("/node:")) return { file: p, line: Number(m[2]), column: m[3] ? Number(m[3]) : 1 };
  }
  return {};
}

function out(value) {
  process.stdout.write(JSON.stringify(value) + "\n");
}

const kind = process.argv[2] || "config";
// Other things worth saying about a rule: { rule, message }.
const notes = [];
const projectRequire = nodeModule.createRequire(file);

// A package as the project has it installed.
async function fromProject(name) {
  return import(pathToFileURL(projectRequire.resolve(name)).href);
}

// The module's export: TypeScript is compiled first with the project's esbuild or typescript.
async function exported(f) {
  let target = f;
  let temp = null;
  if (/\.[cm]?ts$/.test(f)) {
    const fs = await import("node:fs");
    const source = fs.readFileSync(f, "utf8");
    let js = null;
    try {
      const esbuild = await fromProject("esbuild");
      js = (await esbuild.transform(source, { loader: "ts", format: "esm" })).code;
    } catch {}
    if (js === null) {
      try {
        const ts = (await fromProject("typescript")).default;
        js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2020 } }).outputText;
      } catch {}
    }
    if (js === null) {
      throw new Error("a TypeScript config needs esbuild or typescript installed in the project (npm install -D esbuild)");
    }
    temp = f.replace(/\.[cm]?ts$/, `.devproxy-${process.pid}.mjs`);
    fs.writeFileSync(temp, js);
    target = temp;
  }
  try {
    const ns = await import(pathToFileURL(target).href);
    return "default" in ns ? ns.default : ns;
  } finally {
    if (temp) (await import("node:fs")).rmSync(temp, { force: true });
  }
}

// Stand-ins for a CRA setupProxy.js: each createProxyMiddleware call is recorded.
function recordProxies() {
  const made = [];
  const proxy = (a, b) => {
    const options = typeof a === "string" || Array.isArray(a) ? { ...b, context: a } : { ...a };
    const mw = () => {};
    mw.devproxy = options;
    return mw;
  };
  const hpm = Object.assign(proxy, { createProxyMiddleware: proxy, legacyCreateProxyMiddleware: proxy });
  const app = {
    use(...args) {
      const mount = typeof args[0] === "string" || Array.isArray(args[0]) ? args.shift() : null;
      for (const mw of args.flat()) {
        if (!mw || !mw.devproxy) continue;
        const { context, pathFilter, ...rest } = mw.devproxy;
        const rule = { context: mount ?? context ?? pathFilter ?? "/", ...rest };
        made.push(rule);
        if (mount !== null) {
          const name = Array.isArray(mount) ? mount.join(", ") : mount;
          const first = Array.isArray(mount) ? mount[0] : mount;
          notes.push({ rule: name, message: `mounted with app.use('${first}', …): http-proxy-middleware 2 (Create React App 5's) keeps ${first} in the path, as here; version 3 strips it, so with version 3 add "pathRewrite": { "^${first}": "" }` });
        }
      }
      return app;
    },
  };
  return { hpm, app, made };
}

async function rules() {
  switch (kind) {
    case "vite": {
      const vite = await fromProject("vite");
      const loaded = await vite.loadConfigFromFile({ command: "serve", mode: "development" }, file, path.dirname(file));
      for (const d of (loaded && loaded.dependencies) || []) files.add(path.resolve(path.dirname(file), d));
      const config = (loaded && loaded.config) || {};
      return (config.server && config.server.proxy) || {};
    }
    case "webpack": {
      let config = await exported(file);
      if (typeof config === "function") config = await config({}, { mode: "development" });
      if (Array.isArray(config)) config = config.find((c) => c && c.devServer) || config[0];
      return (config && config.devServer && config.devServer.proxy) || {};
    }
    case "umi": {
      let config = await exported(file);
      if (typeof config === "function") config = await config();
      return (config && config.proxy) || {};
    }
    case "cra": {
      const { hpm, app, made } = recordProxies();
      const Module = (await import("node:module")).default;
      const load = Module._load;
      Module._load = function (request, ...rest) {
        if (request === "http-proxy-middleware") return hpm;
        return load.call(this, request, ...rest);
      };
      const setup = await exported(file);
      if (typeof setup === "function") await setup(app);
      return made;
    }
    default: {
      let value = await exported(file);
      if (typeof value === "function") value = value({ command: "serve", mode: "development" });
      return value;
    }
  }
}

let value;
try {
  value = await rules();
} catch (err) {
  for (const p of Object.keys(nodeModule.createRequire(file).cache)) if (local(p)) files.add(p);
  const message = err instanceof Error ? `${err.name}: ${err.message}` : `threw ${String(err)}`;
  out({ error: message, ...where(err), files: [...files] });
  process.exit(0);
}

// CommonJS modules required along the way.
for (const p of Object.keys(nodeModule.createRequire(file).cache)) if (local(p)) files.add(p);

const functions = [];
const rewrites = [];
const REWRITES = ["pathRewrite", "rewrite"];
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// A rewrite function read as `{ "^prefix": replacement }` when it behaves like one on sample
// paths (and leaves other paths alone); else null.
function asReplacement(fn, prefix) {
  const call = (p) => {
    const r = fn(p, {});
    return typeof r === "string" ? r : null;
  };
  try {
    const samples = [prefix + "/users/1", prefix + "/a/b?c=1", prefix + "/", prefix];
    const first = call(samples[0]);
    const rest = samples[0].slice(prefix.length);
    if (first === null || !first.endsWith(rest)) return null;
    const to = first.slice(0, first.length - rest.length);
    if (!samples.every((s) => call(s) === to + s.slice(prefix.length))) return null;
    const other = "/elsewhere" + prefix + "/x";
    if (call(other) !== other) return null;
    return { ["^" + escape(prefix)]: to };
  } catch {
    return null;
  }
}

// The literal prefix of a rule's pattern: `/api/**` and `^/api` give `/api`.
function prefixOf(pattern) {
  const regex = String(pattern).startsWith("^");
  const p = String(pattern).replace(/^\^/, "");
  const m = regex ? p.match(/^[^.*?[\]{}()|+$\\]*/) : p.match(/^[^*?[\]{}()|+$\\]*/);
  return (m ? m[0] : "").replace(/\/+$/, "") || "/api";
}

// Takes functions out of one rule object, in place.
function clean(rule, name, pattern) {
  if (!rule || typeof rule !== "object" || Array.isArray(rule)) return rule;
  for (const [key, v] of Object.entries(rule)) {
    if (typeof v === "function") {
      delete rule[key];
      if (REWRITES.includes(key)) {
        const prefix = prefixOf(pattern);
        const pathRewrite = asReplacement(v, prefix);
        rewrites.push({ rule: name, option: key, prefix, pathRewrite });
        if (pathRewrite && rule.pathRewrite === undefined) rule.pathRewrite = pathRewrite;
      } else {
        functions.push({ rule: name, option: key });
      }
    } else if (v && typeof v === "object" && !Array.isArray(v)) {
      const fns = Object.entries(v).filter(([, x]) => typeof x === "function");
      if (fns.length > 0) {
        for (const [k] of fns) {
          delete v[k];
          functions.push({ rule: name, option: `${key}.${k}` });
        }
        if (Object.keys(v).length === 0) delete rule[key];
      }
    }
  }
  return rule;
}

if (Array.isArray(value)) {
  for (const rule of value) {
    const context = rule && rule.context;
    const list = Array.isArray(context) ? context : [context];
    clean(rule, list.join(", "), list[0]);
  }
} else if (value && typeof value === "object") {
  for (const [key, rule] of Object.entries(value)) {
    if (typeof rule === "function") {
      delete value[key];
      functions.push({ rule: key, option: "(the rule itself)" });
    } else {
      clean(rule, key, key);
    }
  }
}

if (port) {
  await new Promise((r) => setTimeout(r, 10));
  port.close();
}
out({ config: value ?? null, functions, rewrites, notes, files: [...files] });
