//! Per-request routing: the first matching proxy rule, else a static file, else the
//! `--proxy-fallback` backend for what is not a page navigation, else the SPA fallback, else
//! 404; and the one-line request log.

mod access;
mod hints;

use std::sync::Arc;
use std::time::Instant;

use http::{Method, Request, Response};
use hyper::body::Incoming;

use crate::body::Body;
use crate::live::LiveReload;
use crate::proxy::Proxy;
use crate::rules::{LiveRules, Rule};
use crate::server::Peer;
use crate::static_files::{self, Served, StaticFiles};

/// Everything routing needs, shared by all connections.
pub(crate) struct App {
    /// The rules in force; swapped whole on reload.
    pub rules: Arc<LiveRules>,
    /// `--proxy-fallback`: where requests go that no rule, file or page navigation takes.
    pub fallback: Option<Rule>,
    pub proxy: Proxy,
    pub statics: StaticFiles,
    /// Live reload, when on: its script and event stream live under the reserved prefix.
    pub live: Option<Arc<LiveReload>>,
}

/// devproxy's own pages: no rule or file can shadow them.
pub(crate) const RESERVED: &str = "/__devproxy/";

/// How a request that no rule took was answered, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Local {
    /// A file (or a directory redirect, 304, 206, …).
    File,
    /// A dotfile or a symlink out of the directory: 404.
    Hidden,
    /// `index.html` for a page navigation.
    SpaFallback,
    /// No rule, no file: 404.
    NotFound,
    /// One of devproxy's own pages.
    Own,
}

impl Local {
    /// The name shown in place of a rule in the request log.
    fn name(self) -> &'static str {
        match self {
            Local::File => "static",
            Local::Hidden => "hidden",
            Local::SpaFallback => "spa fallback",
            Local::NotFound => "no rule, no file",
            Local::Own => "devproxy",
        }
    }
}

impl App {
    pub(crate) async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        peer: Peer,
    ) -> Response<Body> {
        let start = Instant::now();
        if req.uri().path().starts_with(RESERVED) {
            let res = self.own_page(&req);
            return access::local(&req, res, Local::Own, start);
        }
        // The request keeps this version of the rules to the end, whatever reloads happen.
        let rules = self.rules.current();
        if let Some(rule) = rules.find(req.uri().path()) {
            return self.proxy_and_log(rule, req, peer, start).await;
        }
        let method = req.method().clone();
        let get_or_head = method == Method::GET || method == Method::HEAD;
        let hidden = if get_or_head {
            match self.statics.serve(&req).await {
                Served::Found(res) => return access::local(&req, res, Local::File, start),
                Served::Hidden => true,
                Served::Missing => false,
            }
        } else {
            self.statics.hidden(&req)
        };
        if hidden {
            let res = self.statics.not_found(&req);
            return access::local(&req, res, Local::Hidden, start);
        }
        if let Some(fallback) = &self.fallback {
            // Create React App's rule: what is not a file and not a page navigation goes to
            // the backend.
            if !get_or_head || !static_files::wants_html(&req) {
                return self.proxy_and_log(fallback, req, peer, start).await;
            }
        }
        let (res, local) = match self.statics.spa_fallback(&req).await {
            Some(res) => (res, Local::SpaFallback),
            None => (self.statics.not_found(&req), Local::NotFound),
        };
        hints::warn_on_miss(&rules, &req, local);
        access::local(&req, res, local, start)
    }

    /// A page under [`RESERVED`].
    fn own_page<B>(&self, req: &Request<B>) -> Response<Body> {
        let page = &req.uri().path()[RESERVED.len()..];
        match (page, &self.live) {
            ("live.js", Some(_)) => LiveReload::script(),
            ("events", Some(live)) => live.events(),
            _ => crate::body::text(
                http::StatusCode::NOT_FOUND,
                format!(
                    "404 Not Found: {} (devproxy's own pages live under {RESERVED})",
                    req.uri().path()
                ),
            ),
        }
    }

    async fn proxy_and_log(
        &self,
        rule: &Rule,
        req: Request<Incoming>,
        peer: Peer,
        start: Instant,
    ) -> Response<Body> {
        let method = req.method().clone();
        let shown = crate::url::path_and_query(req.uri()).to_string();
        let outcome = self.proxy.handle(rule, req, peer).await;
        access::proxied(rule, &method, &shown, &outcome, start);
        outcome.response
    }
}
