//! Binding: 127.0.0.1 and ::1 by default, or what `--host` names, with the next ports tried
//! when the one asked for is taken.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::Context as _;
use tokio::net::TcpListener;

/// How many ports after the requested one are tried when it is taken.
const PORT_TRIES: u16 = 10;

/// Binds the listeners: 127.0.0.1 and ::1 by default, or every address `host` resolves to.
/// When the port is taken and `strict` is off, the next ports are tried.
pub(crate) async fn bind(
    host: Option<&str>,
    port: u16,
    strict: bool,
) -> anyhow::Result<Vec<TcpListener>> {
    let loopback = [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ];
    let ips: Vec<IpAddr> = match host {
        None => loopback.to_vec(),
        Some(h) if h.eq_ignore_ascii_case("localhost") => loopback.to_vec(),
        Some(h) => {
            let bare = crate::url::unbracket(h);
            match bare.parse::<IpAddr>() {
                Ok(ip) => vec![ip],
                Err(_) => tokio::net::lookup_host((bare, 0))
                    .await
                    .with_context(|| format!("--host {h}: cannot resolve this name"))?
                    .map(|a| a.ip())
                    .collect(),
            }
        }
    };
    let last = if strict || port == 0 {
        port
    } else {
        port.saturating_add(PORT_TRIES)
    };
    let mut tried = port;
    loop {
        match bind_all(&ips, tried).await {
            Ok(listeners) => return Ok(listeners),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tried < last => tried += 1,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                let hint = if strict {
                    " (--strict-port is set)"
                } else {
                    ""
                };
                anyhow::bail!(
                    "port {tried} is already in use{}{hint}; choose another with --port",
                    if tried != port {
                        format!(", and so are ports {port}-{}", tried - 1)
                    } else {
                        String::new()
                    }
                );
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot listen on {} port {tried}",
                    ips.iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(" and ")
                )))
            }
        }
    }
}

/// Binds every address on one port. The first address decides the port when it is 0; the
/// others are best-effort (a machine without IPv6 still serves on IPv4).
async fn bind_all(ips: &[IpAddr], port: u16) -> std::io::Result<Vec<TcpListener>> {
    let mut listeners: Vec<TcpListener> = Vec::new();
    for ip in ips {
        let port = match listeners.first() {
            Some(l) => l.local_addr()?.port(),
            None => port,
        };
        match TcpListener::bind(SocketAddr::new(*ip, port)).await {
            Ok(l) => listeners.push(l),
            Err(e) if listeners.is_empty() => return Err(e),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Err(e),
            Err(e) => tracing::debug!("not listening on {ip}: {e}"),
        }
    }
    Ok(listeners)
}
