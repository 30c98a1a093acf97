//! WebSocket tunnelling through a `ws: true` rule, against a real WebSocket echo server.
#![allow(clippy::result_large_err)] // tungstenite's handshake callback type

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn text_binary_ping_and_close_pass_through() {
    let (addr, mut paths) = ws_echo().await;
    let p = proxy(&format!(
        r#"{{ "/socket": {{ "target": "http://{addr}", "ws": true, "pathRewrite": {{ "^/socket": "/ws" }} }} }}"#
    ))
    .await;
    let url = format!("ws://127.0.0.1:{}/socket?room=1", p.port());
    let (mut ws, res) = tokio_tungstenite::connect_async(url)
        .await
        .expect("handshake through devproxy");
    assert_eq!(res.status(), 101);
    assert_eq!(paths.recv().await.as_deref(), Some("/ws?room=1"));

    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hello"));
    let blob: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
    ws.send(Message::binary(blob.clone())).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::binary(blob));
    ws.send(Message::Ping(b"p".to_vec().into())).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Pong(b"p".to_vec().into())
    );
    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    }))
    .await
    .unwrap();
    let mut got_close = false;
    while let Some(msg) = ws.next().await {
        if let Ok(Message::Close(frame)) = msg {
            got_close = frame.is_none_or(|f| f.code == CloseCode::Normal);
        }
    }
    assert!(got_close, "the close handshake comes back");
}

#[tokio::test]
async fn ws_scheme_target_implies_ws() {
    let (addr, _paths) = ws_echo().await;
    let p = proxy(&format!(r#"{{ "/live": "ws://{addr}" }}"#)).await;
    let url = format!("ws://localhost:{}/live", p.port());
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("handshake");
    ws.send(Message::text("x")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("x"));
}

#[tokio::test]
async fn a_backend_that_refuses_the_upgrade_is_relayed() {
    let b = echo_backend().await; // answers 200, never 101
    let p = proxy(&format!(
        r#"{{ "/socket": {{ "target": "{}", "ws": true }} }}"#,
        b.url()
    ))
    .await;
    let url = format!("ws://127.0.0.1:{}/socket", p.port());
    let err = tokio_tungstenite::connect_async(url)
        .await
        .expect_err("no upgrade");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(res) => assert_eq!(res.status(), 200),
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(b.hits(), 1);
}
