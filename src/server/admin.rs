//! The admin HTTP port: `/metrics` (Prometheus), `/health` (alive) and
//! `/ready` (upstream reachable). A deliberately tiny HTTP/1.0 responder:
//! one request per connection, bounded request size and time.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::command::Ctx;

/// Serve the admin port until shutdown.
pub async fn serve(ctx: Arc<Ctx>, listener: TcpListener, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => {
                if let Ok((sock, _)) = accepted {
                    tokio::spawn(respond(ctx.clone(), sock));
                }
            }
        }
    }
}

async fn respond(ctx: Arc<Ctx>, mut sock: TcpStream) {
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    let read = async {
        while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && len < buf.len() {
            match sock.read(&mut buf[len..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => len += n,
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .is_err()
    {
        return;
    }
    let request = String::from_utf8_lossy(&buf[..len]);
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = match path {
        "/metrics" => ("200 OK", crate::metrics::scrape(&ctx).await),
        _ => route(&ctx, path),
    };
    let head = format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(body.as_bytes()).await;
}

/// Every path but `/metrics` (which is async: it pings the stores).
fn route(ctx: &Ctx, path: &str) -> (&'static str, String) {
    match path {
        "/health" => ("200 OK", "ok\n".into()),
        "/ready" if ctx.upstream.state().connected.load(Ordering::Relaxed) > 0 => {
            ("200 OK", "ready\n".into())
        }
        "/ready" => ("503 Service Unavailable", "upstream unavailable\n".into()),
        _ => ("404 Not Found", "not found\n".into()),
    }
}
