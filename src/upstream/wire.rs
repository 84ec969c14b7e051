//! The read side shared by multiplexed and pinned connections: a buffer that
//! grows geometrically and yields complete reply frames.

use std::io;

use bytes::BytesMut;
use tokio::net::TcpStream;

use crate::protocol::{ProtocolError, ReplyKind, ReplyScanner};

const READ_CHUNK: usize = 64 * 1024;

/// Bytes read from upstream, and how far complete frames reach into them.
#[derive(Debug, Default)]
pub struct ReplyBuffer {
    buf: BytesMut,
    scanner: ReplyScanner,
    /// Bytes at the front that are complete frames not yet taken.
    scanned: usize,
}

impl ReplyBuffer {
    /// Start with bytes already read (left over from the handshake).
    pub fn with_bytes(buf: BytesMut) -> Self {
        ReplyBuffer {
            buf,
            ..Self::default()
        }
    }

    /// Read what the socket has without waiting. `Ok(0)` means upstream
    /// closed; `WouldBlock` means nothing yet.
    pub fn fill(&mut self, stream: &TcpStream) -> io::Result<usize> {
        let spare = self.buf.capacity() - self.buf.len();
        if spare < READ_CHUNK / 4 {
            // Grow geometrically so a large reply costs linear copying.
            self.buf.reserve(READ_CHUNK.max(self.buf.len()));
        }
        stream.try_read_buf(&mut self.buf)
    }

    /// The next complete frame after those already found: its length and kind.
    pub fn next_frame(&mut self) -> Result<Option<(usize, ReplyKind)>, ProtocolError> {
        let rest = self.buf.get(self.scanned..).unwrap_or_default();
        let found = self.scanner.scan(rest)?;
        if let Some((len, _)) = found {
            self.scanned += len;
        }
        Ok(found)
    }

    /// Bytes of complete frames found and not yet taken.
    pub fn scanned(&self) -> usize {
        self.scanned
    }

    /// Take the first `n` scanned bytes out of the buffer.
    pub fn take(&mut self, n: usize) -> BytesMut {
        let n = n.min(self.scanned);
        self.scanned -= n;
        self.buf.split_to(n)
    }
}
