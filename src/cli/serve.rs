//! `devproxy serve`: logging, the runtime, Ctrl-C, the banner, and a graceful stop.

use std::path::PathBuf;
use std::process::ExitCode;

use super::ServeArgs;
use crate::config::Severity;
use crate::rules::RuleSet;

pub(super) fn run(args: ServeArgs) -> ExitCode {
    crate::log::init(args.verbosity.level());
    let runtime = match super::runtime(tokio::runtime::Builder::new_multi_thread()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let (options, note) = match options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(options, note))
}

/// The options for `start`, and a note when DIR was chosen for the user.
fn options(args: ServeArgs) -> Result<(crate::Options, Option<String>), String> {
    let https = match (args.cert, args.key) {
        (Some(cert), Some(key)) => Some(crate::Https::Files { cert, key }),
        (None, None) if args.https => match crate::certs::cache_dir() {
            Some(cache) => Some(crate::Https::Auto { cache }),
            None => return Err("--https: no cache directory to keep a certificate in (HOME is not set); set DEVPROXY_CACHE_DIR or give --cert FILE --key FILE".into()),
        },
        (None, None) => None,
        (Some(_), None) => return Err("--cert needs --key FILE (the certificate's private key)".into()),
        (None, Some(_)) => return Err("--key needs --cert FILE (the certificate for the key)".into()),
    };
    let config = super::config_file(args.config.as_deref());
    let (dir, note) = match args.dir {
        Some(dir) => (dir, None),
        None => crate::project::default_dir(),
    };
    let options = crate::Options {
        // Without a file, watch for one: rules written mid-session apply at once.
        await_config: match config {
            Some(_) => Vec::new(),
            None => super::DEFAULT_CONFIGS.iter().map(PathBuf::from).collect(),
        },
        config,
        dir,
        host: args.host,
        port: args.port,
        strict_port: args.strict_port,
        allowed_hosts: args.allowed_hosts,
        spa: !args.no_spa,
        base: args.base,
        live_reload: !args.no_live_reload,
        inspector: !args.no_inspector,
        inspector_limit: args.inspector_limit as usize,
        watch: true,
        cli_rules: args.proxy,
        cors: args.cors,
        fallback: args.proxy_fallback,
        proxies: crate::ProxySettings::from_env(),
        limits: crate::Limits::default(),
        https,
        warm: true,
    };
    Ok((options, note))
}

async fn serve(options: crate::Options, note: Option<String>) -> ExitCode {
    // Listen for Ctrl-C before binding: a signal that arrives once the port accepts must
    // never be lost (a listener created later does not see it, and the process would hang).
    let mut stop = match Interrupts::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot listen for Ctrl-C: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = match crate::start(options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", super::banner::banner(&server));
    for n in note.iter().chain(server.notes()) {
        tracing::warn!("{n}");
    }
    log_diagnostics(&server.rules());
    stop.next().await;
    tracing::info!("shutting down; waiting for requests in flight (Ctrl-C again to stop now)");
    tokio::select! {
        _ = server.shutdown() => {}
        _ = stop.next() => tracing::info!("stopped without waiting"),
    }
    ExitCode::SUCCESS
}

/// Prints a rule set's diagnostics to the log, errors first.
fn log_diagnostics(rules: &RuleSet) {
    let of = |severity| {
        rules
            .diagnostics
            .iter()
            .filter(move |d| d.severity == severity)
    };
    for d in of(Severity::Error) {
        tracing::error!("{}", d.located());
    }
    for d in of(Severity::Warning) {
        tracing::warn!("{}", d.located());
    }
}

/// Ctrl-C (SIGINT) and, on Unix, SIGTERM: the ways a developer or a process manager asks
/// devproxy to stop.
struct Interrupts {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(not(unix))]
    ctrl_c: tokio::signal::windows::CtrlC,
}

impl Interrupts {
    #[cfg(unix)]
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Interrupts {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> std::io::Result<Self> {
        Ok(Interrupts {
            ctrl_c: tokio::signal::windows::ctrl_c()?,
        })
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
        #[cfg(not(unix))]
        self.ctrl_c.recv().await;
    }
}
