//! A dedicated upstream connection for one client holding connection state
//! (a transaction, a subscription, a blocking pop, a non-default db …).
//!
//! The client's connection task owns it and drives it directly: commands
//! are queued and written as the socket allows, and complete frames are
//! handed back one at a time. [`Pinned::recv`] is cancel-safe, so it can sit
//! in a `select!` beside the client's own socket.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::connect::Dialer;
use super::wire::{write_some, ReplyBuffer};
use super::UpstreamState;
use crate::error::UpstreamError;
use crate::protocol::{Proto, ReplyKind};

/// A dedicated upstream connection.
#[derive(Debug)]
pub struct Pinned {
    dialer: Dialer,
    state: Arc<UpstreamState>,
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    wbuf: BytesMut,
    replies: ReplyBuffer,
    proto: Proto,
}

impl Pinned {
    /// Open one, within the cap on dedicated connections.
    pub(super) async fn connect(
        dialer: &Dialer,
        state: Arc<UpstreamState>,
        proto: Proto,
    ) -> Result<Self, UpstreamError> {
        let open = state.pinned.fetch_add(1, Ordering::Relaxed);
        if open >= state.max_pinned {
            state.pinned.fetch_sub(1, Ordering::Relaxed);
            return Err(UpstreamError::TooManyPinned {
                max: state.max_pinned,
            });
        }
        match dialer.connect(proto).await {
            Ok((stream, rest)) => {
                let (rd, wr) = stream.into_split();
                Ok(Pinned {
                    dialer: dialer.clone(),
                    state,
                    rd,
                    wr,
                    wbuf: BytesMut::new(),
                    replies: ReplyBuffer::with_bytes(rest),
                    proto,
                })
            }
            Err(e) => {
                state.pinned.fetch_sub(1, Ordering::Relaxed);
                state.record_error(&e);
                Err(e)
            }
        }
    }

    /// The protocol this connection speaks.
    pub fn proto(&self) -> Proto {
        self.proto
    }

    /// Queue a command (a complete multibulk) and write what the socket takes now.
    pub fn send(&mut self, raw: &[u8]) -> Result<(), UpstreamError> {
        self.wbuf.extend_from_slice(raw);
        self.flush()
    }

    fn flush(&mut self) -> Result<(), UpstreamError> {
        write_some(&self.wr, &mut self.wbuf).map_err(|e| self.dialer.lost(e))
    }

    /// The next complete frame from upstream, writing queued commands while
    /// waiting. Cancel-safe: all progress lives in `self`.
    pub async fn recv(&mut self) -> Result<(Bytes, ReplyKind), UpstreamError> {
        loop {
            if let Some((len, kind)) = self.replies.next_frame().map_err(|e| self.dialer.lost(e))? {
                return Ok((self.replies.take(len).freeze(), kind));
            }
            self.flush()?;
            let wants_write = !self.wbuf.is_empty();
            tokio::select! {
                read = self.replies.fill(&mut self.rd) => match read {
                    Ok(0) => return Err(self.dialer.lost("closed by upstream")),
                    Ok(_) => {}
                    Err(e) => return Err(self.dialer.lost(e)),
                },
                ready = self.wr.writable(), if wants_write => {
                    ready.map_err(|e| self.dialer.lost(e))?;
                }
            }
        }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        self.state.pinned.fetch_sub(1, Ordering::Relaxed);
    }
}
