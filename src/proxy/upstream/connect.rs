//! Connections to backends: direct, or through a corporate proxy named by `HTTPS_PROXY`,
//! `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (and their lower-case forms). https targets and
//! WebSockets go through a CONNECT tunnel; plain http requests are sent to the proxy in
//! absolute form. Loopback targets always go direct: a corporate proxy cannot reach them.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use tower::Service;

use super::resolve::Resolver;
use crate::body::BoxError;

/// How long connecting to a backend may take before the request gets a 504.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where upstream proxies are, as read from the environment (or given by a test).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    /// For http targets (`HTTP_PROXY`, else `ALL_PROXY`).
    pub http: Option<String>,
    /// For https targets (`HTTPS_PROXY`, else `ALL_PROXY`).
    pub https: Option<String>,
    /// `NO_PROXY`: hosts, domains (`.corp.example`), IPs and CIDR ranges that go direct.
    pub no_proxy: String,
}

impl ProxySettings {
    /// Reads the variables curl reads, upper case first.
    pub fn from_env() -> ProxySettings {
        let var = |names: &[&str]| {
            names
                .iter()
                .filter_map(|n| std::env::var(n).ok())
                .find(|v| !v.trim().is_empty())
        };
        let all = var(&["ALL_PROXY", "all_proxy"]);
        ProxySettings {
            http: var(&["HTTP_PROXY", "http_proxy"]).or_else(|| all.clone()),
            https: var(&["HTTPS_PROXY", "https_proxy"]).or(all),
            no_proxy: var(&["NO_PROXY", "no_proxy"]).unwrap_or_default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }
}

/// A connection of any route, as one type for the pooled client.
pub(crate) trait Io: hyper::rt::Read + hyper::rt::Write + Connection + Unpin + Send {}
impl<T: hyper::rt::Read + hyper::rt::Write + Connection + Unpin + Send> Io for T {}

pub(crate) type BoxIo = Box<dyn Io>;

impl Connection for BoxIo {
    fn connected(&self) -> Connected {
        (**self).connected()
    }
}

type Direct = HttpsConnector<HttpConnector<Resolver>>;
type Tunneled = HttpsConnector<Tunnel<HttpConnector<Resolver>>>;

/// The upstream connector: picks direct, tunnel or forward per destination.
#[derive(Clone)]
pub(crate) struct Connector {
    direct: Direct,
    http: HttpConnector<Resolver>,
    tls: Arc<rustls::ClientConfig>,
    proxies: Option<Arc<Proxies>>,
    /// For upgrades: http destinations go through a CONNECT tunnel too, since what follows
    /// the handshake is not HTTP.
    tunnel_http: bool,
}

/// hyper-util's matcher: which destinations go through which proxy (NO_PROXY included), and
/// the proxy's address and Basic credentials for those that do.
struct Proxies {
    matcher: Matcher,
}

enum Via {
    Direct,
    Tunnel(Intercept),
    Forward(Intercept),
}

impl Connector {
    /// A connector with `tls` for https targets and, when `proxies` name any, proxy routes.
    pub(crate) fn new(
        tls: rustls::ClientConfig,
        proxies: &ProxySettings,
    ) -> Result<Connector, String> {
        let mut http = HttpConnector::new_with_resolver(Resolver::new());
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        let tls = Arc::new(tls);
        let direct = HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http.clone());
        let proxies = if proxies.is_empty() {
            None
        } else {
            // The matcher quietly skips a URL it cannot use; say so instead.
            for (name, value) in [
                ("HTTP_PROXY", &proxies.http),
                ("HTTPS_PROXY", &proxies.https),
            ] {
                if let Some(v) = value {
                    check_proxy_url(name, v)?;
                }
            }
            let mut builder = Matcher::builder().no(proxies.no_proxy.clone());
            if let Some(h) = &proxies.http {
                builder = builder.http(h.clone());
            }
            if let Some(h) = &proxies.https {
                builder = builder.https(h.clone());
            }
            Some(Arc::new(Proxies {
                matcher: builder.build(),
            }))
        };
        Ok(Connector {
            direct,
            http,
            tls,
            proxies,
            tunnel_http: false,
        })
    }

    /// The same connector without proxies (a rule with `"envProxy": false`).
    pub(crate) fn direct_only(&self) -> Connector {
        Connector {
            proxies: None,
            ..self.clone()
        }
    }

    /// The same connector for upgrades: proxied http destinations are tunnelled too.
    pub(crate) fn for_upgrades(&self) -> Connector {
        Connector {
            tunnel_http: true,
            ..self.clone()
        }
    }

    fn via(&self, dst: &Uri) -> Via {
        let Some(p) = &self.proxies else {
            return Via::Direct;
        };
        let bare = crate::url::unbracket(dst.host().unwrap_or(""));
        let loopback = crate::url::is_localhost(bare)
            || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        match p.matcher.intercept(dst) {
            Some(_) if loopback => Via::Direct,
            // Plain http requests go to the proxy in absolute form; anything else (https, and
            // upgrades, which stop being HTTP) through a CONNECT tunnel.
            Some(via) if dst.scheme_str() == Some("http") && !self.tunnel_http => Via::Forward(via),
            Some(via) => Via::Tunnel(via),
            None => Via::Direct,
        }
    }

    /// The `Proxy-Authorization` a plain http request needs when it goes to a proxy.
    pub(crate) fn forward_auth(&self, dst: &Uri) -> Option<HeaderValue> {
        match self.via(dst) {
            Via::Forward(via) => via.basic_auth().cloned(),
            _ => None,
        }
    }

    /// Says how `dst` would be reached, for error messages.
    pub(crate) fn describe_route(&self, dst: &Uri) -> Option<String> {
        match self.via(dst) {
            Via::Direct => None,
            Via::Tunnel(via) | Via::Forward(via) => {
                Some(format!("through the proxy {}", via.uri()))
            }
        }
    }
}

/// A proxy URL devproxy can use: http://, with a host (credentials allowed).
fn check_proxy_url(name: &str, value: &str) -> Result<(), String> {
    let with_scheme = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{value}")
    };
    let uri: Uri = with_scheme
        .parse()
        .map_err(|_| format!("{name}={value} is not a proxy URL"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "{name}={value}: only http:// proxies are supported"
        ));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{name}={value} names no host"));
    }
    Ok(())
}

impl Service<Uri> for Connector {
    type Response = BoxIo;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<BoxIo, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        match self.via(&dst) {
            Via::Direct => {
                let mut direct = self.direct.clone();
                Box::pin(async move { Ok(Box::new(direct.call(dst).await?) as BoxIo) })
            }
            Via::Tunnel(via) => {
                let mut tunnel = Tunnel::new(via.uri().clone(), self.http.clone());
                if let Some(auth) = via.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let mut tls: Tunneled = HttpsConnectorBuilder::new()
                    .with_tls_config((*self.tls).clone())
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(tunnel);
                Box::pin(async move { Ok(Box::new(tls.call(dst).await?) as BoxIo) })
            }
            Via::Forward(via) => {
                let mut http = self.http.clone();
                let proxy = via.uri().clone();
                Box::pin(async move {
                    let io = http.call(proxy).await?;
                    Ok(Box::new(Forwarded(io)) as BoxIo)
                })
            }
        }
    }
}

/// A connection to a forward proxy: the client must send absolute-form request targets.
struct Forwarded<T>(T);

impl<T: Connection> Connection for Forwarded<T> {
    fn connected(&self) -> Connected {
        self.0.connected().proxy(true)
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for Forwarded<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for Forwarded<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_proxy_urls_are_named() {
        let settings = |https: &str| ProxySettings {
            http: None,
            https: Some(https.to_string()),
            no_proxy: String::new(),
        };
        let tls = || {
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|b| {
                b.with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            })
            .unwrap()
        };
        let err = |v: &str| Connector::new(tls(), &settings(v)).err();
        assert_eq!(
            err("socks5://127.0.0.1:1080").as_deref(),
            Some("HTTPS_PROXY=socks5://127.0.0.1:1080: only http:// proxies are supported")
        );
        assert_eq!(
            err("http://").as_deref(),
            Some("HTTPS_PROXY=http:// is not a proxy URL")
        );
        assert_eq!(err("127.0.0.1:3128"), None);
        assert_eq!(err("http://user:pw@127.0.0.1:3128"), None);
    }
}
