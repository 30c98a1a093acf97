//! Per-request routing: the first matching proxy rule, else a static file, else the
//! `--proxy-fallback` backend for what is not a page navigation, else the SPA fallback, else
//! 404; and the one-line request log.

mod access;
mod hints;

use std::sync::Arc;
use std::time::Instant;

use http::{Method, Request, Response};

use crate::body::Body;
use crate::inspector::{Capture, Inspector};
use crate::live::LiveReload;
use crate::proxy::{Outcome, Proxy};
use crate::rules::{LiveRules, Rule};
use crate::server::{sender, Sender};
use crate::server::{Peer, RequestBody};
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
    /// The inspector, when on: every exchange is captured, and its page lives under the
    /// reserved prefix.
    pub inspector: Option<Arc<Inspector>>,
    /// With `--host`, devproxy's own pages answer loopback clients only.
    pub own_pages_loopback_only: bool,
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
    pub(crate) fn name(self) -> &'static str {
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
        req: Request<RequestBody>,
        peer: Peer,
    ) -> Response<Body> {
        let start = Instant::now();
        if req.uri().path().starts_with(RESERVED) {
            let res = self.own_page(&req, peer);
            return access::local(&req, res, Local::Own, start, None);
        }
        let Some(inspector) = &self.inspector else {
            return self.route(req, peer, start, None).await;
        };
        let capture = inspector.begin(&req);
        let (res, upstream, failure) = self.route_captured(req, peer, start, &capture).await;
        capture.finish(res, &upstream, failure.as_deref())
    }

    /// [`App::route`], keeping what the inspector shows of a proxied exchange.
    async fn route_captured(
        &self,
        req: Request<RequestBody>,
        peer: Peer,
        start: Instant,
        capture: &Capture,
    ) -> (Response<Body>, String, Option<String>) {
        let rules = self.rules.current();
        if let Some(rule) = rules.find(req.uri().path()) {
            let outcome = self
                .proxy_and_log(rule, req, peer, start, Some(capture))
                .await;
            return (outcome.response, outcome.upstream, outcome.failure);
        }
        (
            self.route(req, peer, start, Some(capture)).await,
            String::new(),
            None,
        )
    }

    /// Routes one request: a rule, a file, the fallback rule, the SPA fallback, or 404.
    async fn route(
        &self,
        req: Request<RequestBody>,
        peer: Peer,
        start: Instant,
        capture: Option<&Capture>,
    ) -> Response<Body> {
        // The request keeps this version of the rules to the end, whatever reloads happen.
        let rules = self.rules.current();
        if let Some(rule) = rules.find(req.uri().path()) {
            return self
                .proxy_and_log(rule, req, peer, start, capture)
                .await
                .response;
        }
        let method = req.method().clone();
        let get_or_head = method == Method::GET || method == Method::HEAD;
        let hidden = if get_or_head {
            match self.statics.serve(&req).await {
                Served::Found(res) => return access::local(&req, res, Local::File, start, capture),
                Served::Hidden => true,
                Served::Missing => false,
            }
        } else {
            self.statics.hidden(&req)
        };
        if hidden {
            let res = self.statics.not_found(&req);
            return access::local(&req, res, Local::Hidden, start, capture);
        }
        if let Some(fallback) = &self.fallback {
            // Create React App's rule: what is not a file and not a page navigation goes to
            // the backend.
            if !get_or_head || !static_files::wants_html(&req) {
                let outcome = self.proxy_and_log(fallback, req, peer, start, capture);
                return outcome.await.response;
            }
        }
        let (res, local) = match self.statics.spa_fallback(&req).await {
            Some(res) => (res, Local::SpaFallback),
            None => (self.statics.not_found(&req), Local::NotFound),
        };
        if let (Some(warning), Some(c)) = (hints::warn_on_miss(&rules, &req, local), capture) {
            c.note(&warning);
        }
        access::local(&req, res, local, start, capture)
    }

    /// A page under [`RESERVED`]: for the app's own pages and this machine only.
    fn own_page<B>(&self, req: &Request<B>, peer: Peer) -> Response<Body> {
        let forbidden = |why: String| {
            tracing::warn!("refused {} {}: {why}", req.method(), req.uri().path());
            crate::body::text(http::StatusCode::FORBIDDEN, format!("403 Forbidden: {why}"))
        };
        if let Sender::Other(from) = sender(req.headers()) {
            return forbidden(format!(
                "devproxy's own pages answer the app's pages only, not {from}"
            ));
        }
        if self.own_pages_loopback_only && !peer.remote.ip().to_canonical().is_loopback() {
            return forbidden("devproxy's own pages answer this machine only".into());
        }
        let page = &req.uri().path()[RESERVED.len()..];
        let inspector = self.inspector.as_ref().and_then(|i| i.answer(page));
        match (page, &self.live, inspector) {
            (_, _, Some(res)) => res,
            ("live.js", Some(_), _) => LiveReload::script(),
            ("events", Some(live), _) => live.events(),
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
        req: Request<RequestBody>,
        peer: Peer,
        start: Instant,
        capture: Option<&Capture>,
    ) -> Outcome {
        let method = req.method().clone();
        let shown = crate::url::path_and_query(req.uri()).to_string();
        if let Some(c) = capture {
            c.routed(&rule.name, true);
        }
        let outcome = self.proxy.handle(rule, req, peer, capture).await;
        access::proxied(rule, &method, &shown, &outcome, start);
        outcome
    }
}
