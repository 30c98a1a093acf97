//! https targets with a self-signed certificate: refused with advice by default, accepted
//! with `secure: false`. The target is `localhost` while the backend listens on 127.0.0.1
//! only, so the connector must try every address `localhost` resolves to.

mod common;

use std::convert::Infallible;
use std::sync::Arc;

use common::*;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

async fn https_backend() -> u16 {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![der], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let svc = service_fn(|req: Request<Incoming>| async move {
                    Ok::<_, Infallible>(Response::new(body::full(format!(
                        "secure {}",
                        req.uri().path()
                    ))))
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    port
}

#[tokio::test]
async fn self_signed_target_needs_secure_false() {
    let port = https_backend().await;
    let p = proxy(&format!(
        r#"{{
            "/checked": {{ "target": "https://localhost:{port}" }},
            "/trusting": {{ "target": "https://localhost:{port}", "secure": false, "changeOrigin": true }}
        }}"#
    ))
    .await;
    let r = get(&p.url("/trusting/x")).await;
    assert_eq!((r.status, r.text().as_str()), (200, "secure /trusting/x"));

    let r = get(&p.url("/checked/x")).await;
    assert_eq!(r.status, 502);
    let text = r.text();
    assert!(
        text.contains(&format!("TLS handshake with localhost:{port} failed")),
        "{text}"
    );
    assert!(text.contains("certificate"), "{text}");
    assert!(text.contains("set \"secure\": false"), "{text}");
}
