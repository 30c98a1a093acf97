//! WebSocket echo round trips for the benchmark: `cargo run --release --example ws_bench --
//! ws://127.0.0.1:4280/socket 20000` prints round trips per second (one connection, one
//! message in flight).

use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: ws_bench URL [ROUND_TRIPS]")?;
    let n: u32 = args.next().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    let payload = "x".repeat(64);
    let start = Instant::now();
    for _ in 0..n {
        ws.send(Message::text(payload.clone())).await?;
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.len() == payload.len() => {}
            other => return Err(format!("unexpected reply: {other:?}").into()),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{:.0}", f64::from(n) / secs);
    ws.close(None).await?;
    Ok(())
}
