//! https targets with a self-signed certificate: refused with advice by default, accepted
//! with `secure: false`. The target is `localhost` while the backend listens on 127.0.0.1
//! only, so the connector must try every address `localhost` resolves to.

mod common;

use common::*;

#[tokio::test]
async fn self_signed_target_needs_secure_false() {
    let port = https_backend("localhost").await;
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
