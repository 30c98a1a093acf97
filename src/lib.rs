//! devproxy: serve a built frontend and forward path prefixes to backends, with rules read from
//! a hot-reloaded `proxy.conf.json`.
//!
//! The binary is a thin shell around [`cli`]; tests drive [`start`] in-process. ARCHITECTURE.md
//! is the map of the modules below.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod app;
mod body;
pub(crate) mod certs;
pub mod cli;
mod config;
mod cors;
mod export;
mod inspector;
mod live;
mod log;
mod project;
mod proxy;
mod reload;
mod rules;
mod server;
mod static_files;
mod url;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use tokio::sync::watch;

pub use certs::Https;
pub use config::{Diagnostic, LoadError, Severity};
pub use proxy::ProxySettings;
pub use rules::{Rule, RuleSet};
pub use server::Limits;

use app::App;
use rules::LiveRules;
use server::{Gate, HostCheck};

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
    /// The sub-path DIR is served under (`--base /app/`); `None` takes the `<base href>` of
    /// DIR's index.html (or angular.json's `baseHref`), else `/`.
    pub base: Option<String>,
    /// Live reload: watch DIR, add the script to HTML pages, reload them after a build.
    pub live_reload: bool,
    /// Read and compress DIR's files in the background at start, ahead of the first page load.
    pub warm: bool,
    /// The inspector at `/__devproxy/`: what passes, captured as it streams.
    pub inspector: bool,
    /// How many exchanges the inspector keeps (with 32 KiB of body previews each on average).
    pub inspector_limit: usize,
    /// Watch the config file and reload it on change.
    pub watch: bool,
    /// `--proxy PATTERN=TARGET` rules, after the file's.
    pub cli_rules: Vec<String>,
    /// `--cors ORIGIN`: CORS for these origins on every rule without its own `cors`.
    pub cors: Vec<String>,
    /// With no config file: where one may be created; the first that appears is loaded.
    pub await_config: Vec<PathBuf>,
    /// `--proxy-fallback`: a URL, or a package.json whose "proxy" field names one.
    pub fallback: Option<String>,
    /// Corporate proxies for upstream connections (the binary reads HTTP(S)_PROXY).
    pub proxies: ProxySettings,
    /// Header and body timeouts for browser connections.
    pub limits: Limits,
    /// `--https`: serve over TLS with this certificate (`None`: plain HTTP).
    pub https: Option<Https>,
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
            base: None,
            live_reload: false,
            inspector: false,
            inspector_limit: 1000,
            watch: true,
            cli_rules: Vec::new(),
            cors: Vec::new(),
            await_config: Vec::new(),
            fallback: None,
            proxies: ProxySettings::default(),
            limits: Limits::default(),
            https: None,
            warm: false,
        }
    }
}

/// A running server.
pub struct Server {
    /// Every address it listens on; the first is the one to print.
    addrs: Vec<SocketAddr>,
    /// The sub-path the app is served under (`/` for none).
    base: String,
    /// Advice about DIR, to show at start.
    notes: Vec<String>,
    /// Where the base came from when it was not given.
    base_from: Option<&'static str>,
    /// With `--https`: where the certificate came from, and how to trust it if needed.
    https: Option<(String, Option<String>)>,
    options: Options,
    rules: Arc<LiveRules>,
    /// The last error of [`Server::reload`], so a file broken the same way is said once.
    reload_error: Mutex<Option<LoadError>>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    watcher: Option<tokio::task::JoinHandle<()>>,
}

/// Loads the rules, binds, and starts serving. Fails when the directory is missing, the
/// config file cannot be read or parsed, or no port can be bound.
pub async fn start(options: Options) -> anyhow::Result<Server> {
    let advice = project::check(&options.dir).map_err(anyhow::Error::msg)?;
    let notes = advice.notes;
    let mut base_from = None;
    let base = match &options.base {
        Some(b) => b.clone(),
        None => match project::base_href(&options.dir) {
            Some(b) => {
                base_from = Some("the build's <base href>");
                b
            }
            None => "/".to_string(),
        },
    };
    let first = match &options.config {
        Some(file) => RuleSet::load(file)?,
        None => RuleSet::default(),
    };
    let rules = LiveRules::new(first, options.cli_rules.clone(), &options.cors)
        .map_err(anyhow::Error::msg)?;
    let rules = Arc::new(rules);
    let fallback = match &options.fallback {
        Some(value) => {
            Some(rules::fallback_rule(&config::fallback_url(value)?).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let (stop, stopped) = watch::channel(false);
    let live = match options.live_reload {
        true => Some(live::LiveReload::start(&options.dir, stopped.clone())?),
        false => None,
    };
    let statics = static_files::StaticFiles::new(
        &options.dir,
        options.spa,
        &base,
        advice.root_hint,
        live.clone(),
    )
    .with_context(|| format!("{}: cannot open", options.dir.display()))?;
    let base = format!("/{}/", base.trim_matches('/')).replace("//", "/");
    let proxy = proxy::Proxy::new(&options.proxies, stopped.clone())
        .context("cannot set up the upstream client")?;
    let app = Arc::new(App {
        rules: rules.clone(),
        fallback,
        proxy,
        statics,
        live,
        inspector: options.inspector.then(|| {
            inspector::Inspector::new(inspector::Limits::for_records(options.inspector_limit))
        }),
        // Listening beyond loopback, devproxy's pages answer this machine only.
        own_pages_loopback_only: options.host.is_some(),
    });
    let certified = match &options.https {
        Some(https) => Some(certs::load(https, &certificate_names(&options))?),
        None => None,
    };
    let https = certified
        .as_ref()
        .map(|c| (c.about.clone(), c.trust.clone()));
    if options.warm {
        let statics = app.statics.clone();
        tokio::spawn(async move { statics.warm().await });
    }
    let gate = Arc::new(Gate {
        hosts: HostCheck::new(&options.allowed_hosts),
        limits: options.limits,
        tls: certified.map(|c| server::Tls::new(c.config)),
    });
    let listeners =
        server::bind(options.host.as_deref(), options.port, options.strict_port).await?;
    let addrs = listeners
        .iter()
        .map(|l| l.local_addr())
        .collect::<Result<Vec<_>, _>>()
        .context("cannot read the listening address")?;
    let tasks = listeners
        .into_iter()
        .map(|l| {
            let app = app.clone();
            let handler = move |req, peer| app.clone().handle(req, peer);
            tokio::spawn(server::accept_loop(
                l,
                gate.clone(),
                handler,
                stopped.clone(),
            ))
        })
        .collect();
    let watched = match &options.config {
        Some(file) => vec![file.clone()],
        None => options.await_config.clone(),
    };
    let watcher = match options.watch && !watched.is_empty() {
        true => Some(reload::spawn(watched, rules.clone())?),
        false => None,
    };
    Ok(Server {
        addrs,
        base,
        notes,
        base_from,
        https,
        options,
        rules,
        reload_error: Mutex::new(None),
        stop,
        tasks,
        watcher,
    })
}

/// The names a generated certificate is for: loopback, `--host`, and `--allowed-host` names
/// (`.example.test` as `*.example.test`).
fn certificate_names(options: &Options) -> Vec<String> {
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    let host = options
        .host
        .iter()
        .map(|h| url::unbracket(h).to_string())
        .filter(|h| !matches!(h.as_str(), "0.0.0.0" | "::"));
    let allowed = options
        .allowed_hosts
        .iter()
        .filter(|h| h.as_str() != "all")
        .map(|h| match h.strip_prefix('.') {
            Some(domain) => format!("*.{domain}"),
            None => h.clone(),
        });
    for name in host.chain(allowed) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

impl Server {
    /// `https` or `http`: how the server is reached.
    pub fn scheme(&self) -> &'static str {
        match self.https {
            Some(_) => "https",
            None => "http",
        }
    }

    /// The address to reach the server at.
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Advice about the folder being served (a source tree, a missing index.html, …).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The rules in force now.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.current()
    }

    /// Reads the config file now, as the watcher does when it changes: a usable file replaces
    /// the rules, a broken one leaves them and is logged.
    pub fn reload(&self) {
        if let Some(file) = self.options.config.as_ref() {
            let mut last = self.reload_error.lock().unwrap_or_else(|e| e.into_inner());
            reload::reload(file, &self.rules, &mut last);
        }
    }

    /// Stops accepting, lets in-flight requests finish (up to a few seconds), and returns.
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
