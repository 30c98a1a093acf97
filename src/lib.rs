//! devproxy: serve a built frontend and forward path prefixes to backends, with rules read from
//! a hot-reloaded `proxy.conf.json`.
//!
//! The binary is a thin shell around [`start`]; tests drive the same function in-process.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod body;
pub mod check;
pub mod cli;
pub mod config;
pub mod connect;
pub mod env;
pub mod headers;
pub mod host;
pub mod jsonc;
pub mod log;
pub mod proxy;
pub mod reload;
pub mod resolve;
pub mod rewrite;
pub mod rules;
pub mod server;
pub mod service;
pub mod static_files;
pub mod target;
pub mod upgrade;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::config::Severity;
use crate::host::HostCheck;
use crate::rules::RuleSet;
use crate::service::App;

/// What `devproxy serve` needs to start.
#[derive(Debug, Clone)]
pub struct Options {
    pub dir: PathBuf,
    /// The config file; `None` runs without rules.
    pub config: Option<PathBuf>,
    pub host: Option<String>,
    pub port: u16,
    pub strict_port: bool,
    pub allowed_hosts: Vec<String>,
    pub spa: bool,
    /// Watch the config file and reload it on change.
    pub watch: bool,
    /// `--proxy PATTERN=TARGET` rules, after the file's.
    pub cli_rules: Vec<String>,
    /// With no config file: a file to watch for, loaded as soon as it is created.
    pub await_config: Option<PathBuf>,
    /// `--proxy-fallback`: a URL, or a package.json whose "proxy" field names one.
    pub fallback: Option<String>,
    /// Corporate proxies for upstream connections (the binary reads HTTP(S)_PROXY).
    pub proxies: connect::ProxySettings,
    /// Header and body timeouts for browser connections.
    pub limits: server::Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dir: PathBuf::from("."),
            config: None,
            host: None,
            port: 4280,
            strict_port: false,
            allowed_hosts: Vec::new(),
            spa: true,
            watch: true,
            cli_rules: Vec::new(),
            await_config: None,
            fallback: None,
            proxies: connect::ProxySettings::default(),
            limits: server::Limits::default(),
        }
    }
}

/// The config file used when none is named: `./proxy.conf.json`, else `./src/proxy.conf.json`.
pub fn default_config() -> Option<PathBuf> {
    ["proxy.conf.json", "src/proxy.conf.json"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// A running server.
pub struct Server {
    /// Every address it listens on; the first is the one to print.
    pub addrs: Vec<SocketAddr>,
    pub app: Arc<App>,
    pub options: Options,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    watcher: Option<tokio::task::JoinHandle<()>>,
}

/// Loads the rules, binds, and starts serving. Fails when the directory is missing, the
/// config file cannot be read or parsed, or no port can be bound.
pub async fn start(options: Options) -> anyhow::Result<Server> {
    if !options.dir.is_dir() {
        anyhow::bail!("{}: directory not found", options.dir.display());
    }
    let rules = match &options.config {
        Some(file) => RuleSet::load(file)?,
        None => RuleSet::default(),
    }
    .with_cli_rules(&options.cli_rules);
    let fallback = match &options.fallback {
        Some(value) => {
            Some(rules::fallback_rule(&config::fallback_url(value)?).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let statics = static_files::StaticFiles::new(&options.dir, options.spa)
        .with_context(|| format!("{}: cannot open", options.dir.display()))?;
    let upstream =
        proxy::Upstream::new(&options.proxies).context("cannot set up the upstream client")?;
    let app = Arc::new(App {
        rules: ArcSwap::from_pointee(rules),
        cli_rules: options.cli_rules.clone(),
        fallback,
        upstream,
        statics,
        hosts: HostCheck::new(&options.allowed_hosts),
    });
    let listeners =
        server::bind(options.host.as_deref(), options.port, options.strict_port).await?;
    let addrs = listeners
        .iter()
        .map(|l| l.local_addr())
        .collect::<Result<Vec<_>, _>>()
        .context("cannot read the listening address")?;
    let (stop, stopped) = watch::channel(false);
    let tasks = listeners
        .into_iter()
        .map(|l| {
            tokio::spawn(server::accept_loop(
                l,
                app.clone(),
                options.limits,
                stopped.clone(),
            ))
        })
        .collect();
    let watcher = match (&options.config, &options.await_config, options.watch) {
        (Some(file), _, true) | (None, Some(file), true) => {
            Some(reload::spawn(file.clone(), app.clone())?)
        }
        _ => None,
    };
    Ok(Server {
        addrs,
        app,
        options,
        stop,
        tasks,
        watcher,
    })
}

impl Server {
    /// The address to reach the server at.
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// The start-up banner: version, directory, URL, rules, and the watched file.
    pub fn banner(&self) -> String {
        let mut s = String::new();
        let port = self.local_addr().port();
        let _ = writeln!(
            s,
            "devproxy {}  serving {}",
            env!("CARGO_PKG_VERSION"),
            self.options.dir.display()
        );
        match self.options.host.as_deref() {
            None => {
                let _ = writeln!(s, "  Local:   http://localhost:{port}/");
            }
            Some(_) => {
                for a in &self.addrs {
                    let _ = writeln!(s, "  Listen:  http://{a}/");
                }
            }
        }
        if self.options.port != 0 && port != self.options.port {
            let _ = writeln!(
                s,
                "  (port {} was in use, so {port} is used)",
                self.options.port
            );
        }
        let rules = self.app.rules.load();
        match &self.options.config {
            None => {
                let _ = writeln!(
                    s,
                    "  No proxy.conf.json found: serving files only (name one with --config)."
                );
                if let (Some(file), true) = (&self.options.await_config, self.options.watch) {
                    let _ = writeln!(
                        s,
                        "  Create {} and its rules apply at once.",
                        file.display()
                    );
                }
            }
            Some(file) => {
                let watching = if self.options.watch {
                    ", watching for changes"
                } else {
                    ""
                };
                let _ = writeln!(s, "  Rules from {}{watching}:", file.display());
                s.push_str(&rules_table(&rules));
            }
        }
        s
    }

    /// Stops accepting, lets in-flight requests finish (up to [`server::DRAIN`]), and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Some(w) = self.watcher {
            w.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// The rules as an aligned table, one per line, problems marked.
pub fn rules_table(rules: &RuleSet) -> String {
    let mut s = String::new();
    if rules.rules.is_empty() {
        s.push_str("    (no rules)\n");
    }
    let width = rules
        .rules
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0);
    for r in &rules.rules {
        let pad = width - r.name.chars().count();
        let rest = r
            .summary
            .strip_prefix(&format!("{} ", r.name))
            .unwrap_or(&r.summary);
        let _ = writeln!(s, "    {}{} {rest}", r.name, " ".repeat(pad));
    }
    s
}

/// Prints a rule set's diagnostics to the log, errors first.
pub fn log_diagnostics(rules: &RuleSet) {
    for d in rules
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
    {
        tracing::error!("{d}");
    }
    for d in rules
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
    {
        tracing::warn!("{d}");
    }
}

/// Resolves `--config` or the defaults, for both commands.
pub fn resolve_config(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit.map(Path::to_path_buf).or_else(default_config)
}
