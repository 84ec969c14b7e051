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

/// The result of reading a `<integer>\r\n` line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IntLine {
    /// The value and the offset just past the CRLF.
    Done(i64, usize),
    /// The line has not fully arrived; `digits` were read so far.
    Incomplete {
        /// Digits seen so far.
        digits: usize,
    },
    /// Not a number, or too long to be one.
    Invalid,
}

/// Read a decimal line starting at `from` in one pass: digits up to CRLF.
/// Length lines are short, so this beats searching for CRLF first.
pub(crate) fn int_line(buf: &[u8], from: usize) -> IntLine {
    let mut i = from;
    let neg = buf.get(i) == Some(&b'-');
    if neg {
        i += 1;
    }
    let mut v: i64 = 0;
    let mut digits = 0;
    loop {
        match buf.get(i) {
            None => return IntLine::Incomplete { digits },
            Some(b'\r') => {
                return match buf.get(i + 1) {
                    None => IntLine::Incomplete { digits },
                    Some(b'\n') if digits > 0 => IntLine::Done(if neg { -v } else { v }, i + 2),
                    Some(_) => IntLine::Invalid,
                };
            }
            Some(&b) if b.is_ascii_digit() && digits < 18 => {
                v = v * 10 + i64::from(b - b'0');
                digits += 1;
                i += 1;
            }
            Some(_) => return IntLine::Invalid,
        }
    }
}

/// Find the next CRLF at or after `from`; returns the index of the `\r`.
pub(crate) fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let cr = at + memchr::memchr(b'\r', buf.get(at..)?)?;
        match buf.get(cr + 1) {
            Some(b'\n') => return Some(cr),
            Some(_) => at = cr + 1,
            None => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_lines() {
        assert_eq!(int_line(b"*12\r\nx", 1), IntLine::Done(12, 5));
        assert_eq!(int_line(b"$-1\r\n", 1), IntLine::Done(-1, 5));
        assert_eq!(int_line(b"$12", 1), IntLine::Incomplete { digits: 2 });
        assert_eq!(int_line(b"$12\r", 1), IntLine::Incomplete { digits: 2 });
        assert_eq!(int_line(b"$\r\n", 1), IntLine::Invalid);
        assert_eq!(int_line(b"$1x\r\n", 1), IntLine::Invalid);
        assert_eq!(int_line(b"$1\rx", 1), IntLine::Invalid);
        assert_eq!(int_line(b"$1234567890123456789\r\n", 1), IntLine::Invalid);
        assert_eq!(int_line(b"-\r\n", 0), IntLine::Invalid);
    }

    #[test]
    fn crlf_search_skips_lone_cr() {
        assert_eq!(find_crlf(b"a\rb\r\n", 0), Some(3));
        assert_eq!(find_crlf(b"ab\r", 0), None);
        assert_eq!(find_crlf(b"\r\n\r\n", 1), Some(2));
    }
}
