//! The upstream side: pooled keep-alive clients built once and kept across reloads, and the
//! connector under them (name resolution, TLS, corporate proxies).

mod connect;
mod resolve;
mod tls;

use std::time::Duration;

use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

pub use connect::ProxySettings;
pub(crate) use connect::{Connector, CONNECT_TIMEOUT};
pub(crate) use resolve::ResolveError;

use crate::body::Body;
use crate::rules::Rule;

/// The largest response head and body chunk read from a backend. Smaller chunks than hyper's
/// default (~400 KiB) keep peak memory of large downloads down at the same speed (see
/// bench/README.md); nginx limits response heads to 4-8 KiB.
const MAX_BUF: usize = 128 * 1024;

/// A pooled client and the connector behind it (upgrades connect on their own).
#[derive(Clone)]
pub(crate) struct Pool {
    pub client: Client<Connector, Body>,
    pub connector: Connector,
}

impl Pool {
    fn new(connector: Connector) -> Pool {
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .http1_max_buf_size(MAX_BUF)
            .build(connector.clone());
        Pool { client, connector }
    }
}

/// One pool verifies certificates, the other serves rules with `secure: false`; each has a
/// variant that ignores HTTP(S)_PROXY, for rules with `"envProxy": false`.
#[derive(Clone)]
pub(crate) struct Upstream {
    verified: Pool,
    insecure: Pool,
    verified_direct: Pool,
    insecure_direct: Pool,
}

impl Upstream {
    /// Clients for `proxies` (empty settings: always direct).
    pub(crate) fn new(proxies: &ProxySettings) -> anyhow::Result<Self> {
        let (verified, insecure) = tls::configs()?;
        let verified = Connector::new(verified, proxies).map_err(anyhow::Error::msg)?;
        let insecure = Connector::new(insecure, proxies).map_err(anyhow::Error::msg)?;
        let (verified_direct, insecure_direct) = (verified.direct_only(), insecure.direct_only());
        let verified = Pool::new(verified);
        let insecure = Pool::new(insecure);
        // Without proxies the direct variants share the same pools.
        let (verified_direct, insecure_direct) = if proxies.is_empty() {
            (verified.clone(), insecure.clone())
        } else {
            (Pool::new(verified_direct), Pool::new(insecure_direct))
        };
        Ok(Upstream {
            verified,
            insecure,
            verified_direct,
            insecure_direct,
        })
    }

    /// The pool that verifies certificates (`secure`) or accepts any, with HTTP(S)_PROXY.
    pub(crate) fn pool(&self, secure: bool) -> &Pool {
        match secure {
            true => &self.verified,
            false => &self.insecure,
        }
    }

    /// The pool for a rule's `secure` and `envProxy`.
    pub(crate) fn pool_for(&self, rule: &Rule) -> &Pool {
        match (rule.secure, rule.env_proxy) {
            (true, true) => &self.verified,
            (false, true) => &self.insecure,
            (true, false) => &self.verified_direct,
            (false, false) => &self.insecure_direct,
        }
    }
}
