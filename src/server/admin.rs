//! The admin HTTP port: `/metrics` (Prometheus), `/health` (alive) and
//! `/ready` (upstream and stores reachable). A deliberately tiny HTTP/1.0 responder:
//! one request per connection, bounded request size and time.

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
        "/ready" => ready(&ctx).await,
        _ => route(path),
    };
    let head = format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(body.as_bytes()).await;
}

/// `/ready`: 200 when the upstream and every configured store answer (the
/// HEALTH check; a kept one only if under a second old, so an outage shows
/// at the next probe), else 503 naming what is down.
async fn ready(ctx: &Ctx) -> (&'static str, String) {
    use crate::command::health;
    let max_age = health::health_ttl(ctx).min(health::PROBE_MAX_AGE);
    let (report, _) = health::check(ctx, max_age).await;
    if report.ready() {
        return ("200 OK", "ready\n".into());
    }
    let down: Vec<String> = report
        .components
        .iter()
        .filter(|c| c.status == crate::command::health::Status::Down)
        .map(|c| format!("{} down: {}\n", c.name, c.detail))
        .collect();
    ("503 Service Unavailable", down.concat())
}

/// Every path but `/metrics` and `/ready` (which are async: they probe).
fn route(path: &str) -> (&'static str, String) {
    match path {
        "/health" => ("200 OK", "ok\n".into()),
        _ => ("404 Not Found", "not found\n".into()),
    }
}
