//! The Redis wire protocol, sans I/O.
//!
//! This layer turns bytes into requests and finds reply boundaries in bytes;
//! it never touches a socket, so the server and upstream layers can drive it
//! from whatever buffers they own. Everything here is bounded by [`Limits`]
//! so hostile input cannot make it allocate without bound.

pub mod encode;
pub mod reply;
pub mod request;

pub use reply::{ReplyKind, ReplyScanner};
pub use request::{Limits, Request, RequestParser};

/// The RESP version a connection speaks (RESP2 unless `HELLO 3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    /// RESP2: the default for every new connection.
    Resp2,
    /// RESP3: maps, doubles, pushes; chosen with `HELLO 3`.
    Resp3,
}

impl Proto {
    /// The number `HELLO` uses for this version.
    pub fn version(self) -> u8 {
        match self {
            Proto::Resp2 => 2,
            Proto::Resp3 => 3,
        }
    }
}

/// Why bytes could not be framed. The text is what Redis itself says after
/// `-ERR Protocol error: `, so clients see familiar messages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// An inline request line longer than the inline limit.
    #[error("too big inline request")]
    InlineTooBig,
    /// A multibulk count line that never ends.
    #[error("too big mbulk count string")]
    MbulkCountTooBig,
    /// A bulk length line that never ends.
    #[error("too big bulk count string")]
    BulkCountTooBig,
    /// A multibulk count that is not a number or is over the limit.
    #[error("invalid multibulk length")]
    InvalidMultibulkLength,
    /// A bulk length that is not a number or is over the limit.
    #[error("invalid bulk length")]
    InvalidBulkLength,
    /// Something other than `$` where a bulk string must start.
    #[error("expected '$', got '{0}'")]
    ExpectedBulk(char),
    /// A bulk string not followed by CRLF.
    #[error("expected CRLF after bulk string")]
    MissingCrlf,
    /// Quotes that never close in an inline request.
    #[error("unbalanced quotes in request")]
    UnbalancedQuotes,
    /// A reply byte stream that is not valid RESP (upstream side).
    #[error("invalid reply: {0}")]
    InvalidReply(&'static str),
    /// A reply nested deeper than we are willing to follow.
    #[error("reply nested too deeply")]
    TooDeep,
}

/// Parse an ASCII decimal integer as RESP writes it (optional leading `-`).
pub(crate) fn parse_int(line: &[u8]) -> Option<i64> {
    let (neg, digits) = match line.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, line),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(b - b'0');
    }
    Some(if neg { -v } else { v })
}

/// Find the next CRLF-terminated line starting at `from`; returns the index
/// of the `\r`.
pub(crate) fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let hay = buf.get(from..)?;
    memchr::memmem::find(hay, b"\r\n").map(|at| from + at)
}
