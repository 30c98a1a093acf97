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

/// The resolver of the upstream connector.
#[derive(Clone, Debug)]
pub struct Resolver {
    gai: GaiResolver,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::new()
    }
}

impl Resolver {
    pub fn new() -> Self {
        Resolver {
            gai: GaiResolver::new(),
        }
    }
}

/// Whether `host` is a loopback name under RFC 6761.
pub fn is_localhost(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

impl Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        if is_localhost(name.as_str()) {
            let both = vec![
                SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
            ];
            return Box::pin(std::future::ready(Ok(both.into_iter())));
        }
        let lookup = self.gai.call(name);
        Box::pin(async move { Ok(lookup.await?.collect::<Vec<_>>().into_iter()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names() {
        assert!(is_localhost("localhost"));
        assert!(is_localhost("LOCALHOST."));
        assert!(is_localhost("api.localhost"));
        assert!(!is_localhost("localhost.example.com"));
        assert!(!is_localhost("mylocalhost"));
    }
}
