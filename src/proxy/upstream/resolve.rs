//! Name resolution for backends: `localhost` (and `*.localhost`) always means both loopback
//! addresses, whatever the system resolver says; every other name goes to getaddrinfo.
//!
//! Dev backends listen on 127.0.0.1, on ::1, or on both, and machines disagree on what
//! `localhost` resolves to (Node 17+ prefers ::1, many /etc/hosts list 127.0.0.1 only). The
//! connector tries each address in turn, so the backend is found wherever it listens.

use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use tower::Service;

/// A host name that did not resolve: its own type, so failures are told apart by type.
#[derive(Debug, thiserror::Error)]
#[error("failed to look up {host}: {source}")]
pub(crate) struct ResolveError {
    pub host: String,
    source: std::io::Error,
}

/// The resolver of the upstream connector.
#[derive(Clone, Debug)]
pub(crate) struct Resolver {
    gai: GaiResolver,
}

impl Resolver {
    pub(crate) fn new() -> Self {
        Resolver {
            gai: GaiResolver::new(),
        }
    }
}

impl Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = ResolveError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        if crate::url::is_localhost(name.as_str()) {
            let both = vec![
                SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
            ];
            return Box::pin(std::future::ready(Ok(both.into_iter())));
        }
        let host = name.as_str().to_string();
        let lookup = self.gai.call(name);
        Box::pin(async move {
            match lookup.await {
                Ok(addrs) => Ok(addrs.collect::<Vec<_>>().into_iter()),
                Err(source) => Err(ResolveError { host, source }),
            }
        })
    }
}
