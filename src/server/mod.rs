//! The listener: accepts clients within `maxclients`, spawns a connection
//! task for each, and shuts down gracefully.
//!
//! On shutdown it stops accepting, lets every connection finish the
//! replies it owes (connections stop reading new requests), and after the
//! grace period disconnects whoever is left.

pub mod admin;
pub mod connection;

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::command::{Ctx, Session, Stats};
use connection::Connection;

/// Accept clients until `shutdown` is cancelled, then drain within the grace period.
pub async fn serve(ctx: Arc<Ctx>, listener: TcpListener, shutdown: CancellationToken) {
    let tracker = TaskTracker::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((sock, _)) => accept(&ctx, sock, &tracker, &shutdown),
                Err(e) => {
                    // Out of file descriptors and the like: log and keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::task::yield_now().await;
                }
            },
        }
    }
    drop(listener);
    tracker.close();
    let grace = Duration::from_millis(ctx.config.server.shutdown_grace_ms);
    tracing::info!(
        clients = ctx.clients.len(),
        grace_ms = grace.as_millis() as u64,
        "shutting down"
    );
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            clients = ctx.clients.len(),
            "grace period over, disconnecting remaining clients"
        );
        ctx.clients.kill_all();
        tracker.wait().await;
    }
}

fn accept(ctx: &Arc<Ctx>, sock: TcpStream, tracker: &TaskTracker, shutdown: &CancellationToken) {
    Stats::add(&ctx.stats.connections_received, 1);
    let _ = sock.set_nodelay(true);
    set_keepalive(&sock, ctx.config.server.tcp_keepalive_secs);
    if ctx.clients.len() >= ctx.config.server.maxclients {
        Stats::add(&ctx.stats.rejected_connections, 1);
        tracker.spawn(reject(sock));
        return;
    }
    let (Ok(addr), Ok(laddr)) = (sock.peer_addr(), sock.local_addr()) else {
        return;
    };
    let entry = ctx.clients.register(addr, laddr);
    let session = Session::new(entry, ctx.upstream.db(), !ctx.auth_required());
    session.sync_entry();
    let id = session.id();
    let conn = Connection::new(ctx.clone(), sock, session, shutdown.clone());
    let ctx = ctx.clone();
    // Every log line of this client's task carries its id and address.
    let span = tracing::info_span!("client", id, addr = %addr);
    tracker.spawn(
        async move {
            conn.run().await;
            ctx.clients.unregister(id);
        }
        .instrument(span),
    );
}

/// Probe idle clients so dead peers are noticed (Redis's `tcp-keepalive`).
fn set_keepalive(sock: &TcpStream, secs: u64) {
    if secs == 0 {
        return;
    }
    let ka = socket2::TcpKeepalive::new().with_time(Duration::from_secs(secs));
    if let Err(e) = socket2::SockRef::from(sock).set_tcp_keepalive(&ka) {
        tracing::debug!(error = %e, "cannot set TCP keepalive");
    }
}

/// Tell a client over the limit why, then close (as Redis does).
async fn reject(mut sock: TcpStream) {
    let line = format!("-{}\r\n", crate::error::ReplyError::MaxClients.line());
    let _ = tokio::time::timeout(Duration::from_secs(1), sock.write_all(line.as_bytes())).await;
}
