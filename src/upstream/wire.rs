//! The read side shared by multiplexed and pinned connections: a buffer that
//! grows geometrically and yields complete reply frames.

use std::io;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};

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

    /// Wait for bytes and read them. `Ok(0)` means upstream closed.
    /// Cancel-safe. (`read_buf` rather than `readable` + `try_read`: a short
    /// read clears readiness, saving a failed read syscall per wake-up.)
    pub async fn fill<R: AsyncRead + Unpin>(&mut self, reader: &mut R) -> io::Result<usize> {
        let spare = self.buf.capacity() - self.buf.len();
        if spare < READ_CHUNK / 4 {
            // Grow geometrically so a large reply costs linear copying.
            self.buf.reserve(READ_CHUNK.max(self.buf.len()));
        }
        reader.read_buf(&mut self.buf).await
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

/// Write as much of `buf` as the socket takes now, without waiting.
pub fn write_some(wr: &tokio::net::tcp::OwnedWriteHalf, buf: &mut BytesMut) -> io::Result<()> {
    use bytes::Buf;
    while !buf.is_empty() {
        match wr.try_write(buf) {
            Ok(n) => buf.advance(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
