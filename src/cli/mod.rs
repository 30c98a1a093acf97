//! The command line: `devproxy serve`, `check`, `cors`, `import` and `export`, their arguments (every option
//! also reads `DEVPROXY_<NAME>` from the environment), the banner and the rules table.

mod banner;
mod check;
mod cors;
mod export;
mod import;
mod serve;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Check(args) => check::run(args),
        Command::Cors(args) => cors::run(args),
        Command::Export(args) => export::run(args),
        Command::Import(args) => import::run(args),
    }
}

/// A runtime from `builder`, or the exit code after saying why there is none.
fn runtime(mut builder: tokio::runtime::Builder) -> Result<tokio::runtime::Runtime, ExitCode> {
    builder.enable_all().build().map_err(|e| {
        eprintln!("error: cannot start the runtime: {e}");
        ExitCode::FAILURE
    })
}

/// Where a config file is looked for when none is named, in order (Angular keeps it in src/).
const DEFAULT_CONFIGS: [&str; 8] = [
    "proxy.conf.json",
    "src/proxy.conf.json",
    "proxy.conf.js",
    "proxy.conf.mjs",
    "proxy.conf.cjs",
    "src/proxy.conf.js",
    "src/proxy.conf.mjs",
    "src/proxy.conf.cjs",
];

/// `--config`, else the first of [`DEFAULT_CONFIGS`] that exists, else the `proxyConfig`
/// of angular.json (what `ng serve` uses).
fn config_file(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit.map(Path::to_path_buf).or_else(|| {
        DEFAULT_CONFIGS
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .or_else(crate::project::angular_proxy_config)
    })
}

#[derive(Debug, Parser)]
#[command(
    name = "devproxy",
    version,
    about = "Serve a built frontend and proxy API paths to your backends, with proxy.conf.json hot-reloaded.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve DIR and forward requests that match the proxy rules
    Serve(ServeArgs),
    /// Check a proxy config file and show where paths would go
    Check(CheckArgs),
    /// Check a cross-origin call as a browser would: preflight, each CORS check, the fix
    Cors(CorsArgs),
    /// Write the rules and DIR as an nginx or Caddy config, for production
    Export(ExportArgs),
    /// Print the proxy rules of a Vite, webpack, umi, CRA or Angular JS config as proxy.conf.json
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The directory with the built frontend [default: the project's build output, else .]
    #[arg(env = "DEVPROXY_DIR")]
    pub dir: Option<PathBuf>,

    /// The proxy config, JSON or JavaScript [default: ./proxy.conf.json, ./src/proxy.conf.json, then .js/.mjs/.cjs]
    #[arg(short, long, value_name = "FILE", env = "DEVPROXY_CONFIG")]
    pub config: Option<PathBuf>,

    /// The port to listen on; 0 takes any free port
    #[arg(short, long, default_value_t = 4280, env = "DEVPROXY_PORT")]
    pub port: u16,

    /// The address to listen on [default: 127.0.0.1 and ::1]
    #[arg(long, value_name = "ADDR", env = "DEVPROXY_HOST")]
    pub host: Option<String>,

    /// Fail instead of trying the next ports when the port is taken
    #[arg(long, env = "DEVPROXY_STRICT_PORT")]
    pub strict_port: bool,

    /// Also accept requests addressed to NAME (a leading dot allows subdomains; "all" allows any)
    #[arg(
        long = "allowed-host",
        value_name = "NAME",
        env = "DEVPROXY_ALLOWED_HOST",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// Add a rule PATTERN=TARGET after the file's (repeatable), e.g. /api=http://localhost:8080
    #[arg(long = "proxy", value_name = "PATTERN=TARGET", env = "DEVPROXY_PROXY", value_delimiter = ',', value_parser = parse_cli_rule)]
    pub proxy: Vec<String>,

    /// Answer CORS for ORIGIN on every rule without its own "cors" (repeatable)
    #[arg(
        long = "cors",
        value_name = "ORIGIN",
        env = "DEVPROXY_CORS",
        value_delimiter = ','
    )]
    pub cors: Vec<String>,

    /// Serve over HTTPS (HTTP/2 too), with mkcert's CA when installed, else devproxy's own
    #[arg(long, env = "DEVPROXY_HTTPS")]
    pub https: bool,

    /// The HTTPS certificate (PEM, with its chain); implies --https
    #[arg(long, value_name = "FILE", env = "DEVPROXY_CERT")]
    pub cert: Option<PathBuf>,

    /// The certificate's private key (PEM); implies --https
    #[arg(long, value_name = "FILE", env = "DEVPROXY_KEY")]
    pub key: Option<PathBuf>,

    /// Send what no rule, file or page navigation takes to URL (or to package.json's "proxy")
    #[arg(long, value_name = "URL|package.json", env = "DEVPROXY_PROXY_FALLBACK")]
    pub proxy_fallback: Option<String>,

    /// Answer unknown paths with 404 instead of index.html
    #[arg(long, env = "DEVPROXY_NO_SPA")]
    pub no_spa: bool,

    /// Turn off the inspector at /__devproxy/ (no request is captured)
    #[arg(long, env = "DEVPROXY_NO_INSPECTOR")]
    pub no_inspector: bool,

    /// How many requests the inspector keeps, with 32 KiB of bodies each on average
    #[arg(long, value_name = "N", default_value_t = 1000, env = "DEVPROXY_INSPECTOR_LIMIT", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub inspector_limit: u32,

    /// Do not reload pages when DIR changes (and do not add the live-reload script)
    #[arg(long, env = "DEVPROXY_NO_LIVE_RELOAD")]
    pub no_live_reload: bool,

    /// Serve DIR under this sub-path, as built with --base-href / Vite's base [default: the
    /// <base href> of DIR/index.html]
    #[arg(long, value_name = "PATH", env = "DEVPROXY_BASE", value_parser = parse_base)]
    pub base: Option<String>,

    #[command(flatten)]
    pub verbosity: Verbosity,
}

fn parse_base(arg: &str) -> Result<String, String> {
    let ok = arg.starts_with('/')
        && !arg.contains(['?', '#', '\\', ' '])
        && !arg.split('/').any(|s| s == "." || s == "..");
    if ok {
        Ok(arg.to_string())
    } else {
        Err(format!("\"{arg}\" is not a path like /app/"))
    }
}

fn parse_cli_rule(arg: &str) -> Result<String, String> {
    crate::config::cli_rule(arg).map(|_| arg.to_string())
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The proxy config, JSON or JavaScript [default: ./proxy.conf.json, ./src/proxy.conf.json, then .js/.mjs/.cjs]
    #[arg(short, long, value_name = "FILE", env = "DEVPROXY_CONFIG")]
    pub config: Option<PathBuf>,

    /// Request paths to look up, e.g. /api/users?id=1
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CorsArgs {
    /// The URL the page calls, e.g. http://localhost:8080/api/users
    #[arg(value_name = "URL")]
    pub url: String,

    /// The page's origin [default: devproxy's own, http://localhost:4280]
    #[arg(long, value_name = "ORIGIN", default_value = "http://localhost:4280")]
    pub origin: String,

    /// The method the page uses (PUT, DELETE, ... send a preflight)
    #[arg(short = 'X', long, value_name = "METHOD", default_value = "GET")]
    pub method: String,

    /// A header the page sets, NAME or "NAME: VALUE" (repeatable)
    #[arg(short = 'H', long = "header", value_name = "NAME[: VALUE]")]
    pub headers: Vec<String>,

    /// The page sends cookies (fetch's credentials: 'include', XHR's withCredentials)
    #[arg(long)]
    pub credentials: bool,

    /// Accept any certificate from an https URL (a self-signed dev backend)
    #[arg(short = 'k', long)]
    pub insecure: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// vite.config.{js,ts,mjs}, webpack.config.js, .umirc.ts, config/config.ts,
    /// src/setupProxy.js or proxy.conf.{js,mjs,cjs}
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Save it as proxy.conf.json beside FILE (never over an existing one)
    #[arg(long)]
    pub write: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// nginx or caddy
    #[arg(value_name = "SERVER", value_parser = ["nginx", "caddy"])]
    pub server: String,

    /// The built frontend [default: the project's build output, else .]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// The proxy config, JSON or JavaScript [default: as for serve]
    #[arg(short, long, value_name = "FILE", env = "DEVPROXY_CONFIG")]
    pub config: Option<PathBuf>,

    /// The port the exported server listens on
    #[arg(short, long, default_value_t = 80)]
    pub port: u16,

    /// Serve DIR under this sub-path [default: the <base href> of DIR/index.html]
    #[arg(long, value_name = "PATH", value_parser = parse_base)]
    pub base: Option<String>,

    /// Answer unknown paths with 404 instead of index.html
    #[arg(long)]
    pub no_spa: bool,
}

#[derive(Debug, Args)]
pub struct Verbosity {
    /// Show more: static requests (-v), everything (-vv)
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "quiet", env = "DEVPROXY_VERBOSE")]
    pub verbose: u8,

    /// Show only errors
    #[arg(short, long, env = "DEVPROXY_QUIET")]
    pub quiet: bool,
}

impl Verbosity {
    fn level(&self) -> i8 {
        if self.quiet {
            -1
        } else {
            self.verbose.min(3) as i8
        }
    }
}
