// webpack-dev-server 5 (with its http-proxy-middleware) serving nothing but the proxy rules
// in the array-form file given, on 127.0.0.1:PORT. Run by compat/run.py from the folder
// where it installed webpack and webpack-dev-server (outside the repository).
//
//   node wds.mjs RULES.json PORT WORKDIR
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const [rulesFile, port, work] = process.argv.slice(2);
const require = createRequire(join(work, "package.json"));
const webpack = require("webpack");
const WebpackDevServer = require("webpack-dev-server");

const proxy = JSON.parse(readFileSync(rulesFile, "utf8"));
writeFileSync(join(work, "entry.js"), "");
const compiler = webpack({
  mode: "development",
  context: work,
  entry: join(work, "entry.js"),
  output: { path: join(work, "out") },
  infrastructureLogging: { level: "error" },
  stats: "none",
});
const server = new WebpackDevServer(
  {
    host: "127.0.0.1",
    port: Number(port),
    proxy,
    static: false,
    hot: false,
    liveReload: false,
    client: false,
    allowedHosts: "all",
    devMiddleware: { writeToDisk: false },
  },
  compiler,
);
await server.start();
console.log("listening");
