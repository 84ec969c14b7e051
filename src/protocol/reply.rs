//! Reply framing: where one upstream reply ends, and what kind it is.
//!
//! respite forwards replies byte for byte, so it never decodes them into
//! values on the hot path; it only needs each reply's length and whether it
//! is an error or an out-of-band push. The scanner is resumable: a large
//! reply arriving in many reads is scanned once in total.

use bytes::Bytes;

use super::{find_crlf, int_line, IntLine, ProtocolError};

/// What a complete top-level reply is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    /// An ordinary reply to a command.
    Reply,
    /// An error reply (`-…` or RESP3 `!…`).
    Error,
    /// A RESP3 push (`>…`): out of band, not the reply to any command.
    Push,
}

/// Deepest nesting followed before the stream is declared invalid.
const MAX_DEPTH: usize = 512;

#[derive(Clone, Copy, Debug)]
struct Open {
    remaining: u64,
    /// An attribute map: it precedes a value rather than being one.
    attribute: bool,
}

/// Finds the end of the reply at the start of a buffer, remembering its
/// progress between calls while the reply is incomplete.
#[derive(Debug, Default)]
pub struct ReplyScanner {
    pos: usize,
    stack: Vec<Open>,
    kind: Option<ReplyKind>,
}

enum Element {
    /// The element is complete; continue after `next`.
    Done {
        next: usize,
    },
    /// An aggregate opened with this many children; they start at `next`.
    Opened {
        next: usize,
        open: Open,
    },
    NeedMore,
}

impl ReplyScanner {
    /// A scanner at the start of a reply.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scan the reply that starts at `buf[0]`. Returns its length and kind
    /// once complete (and resets for the next reply), or `None` when more
    /// bytes are needed; call again with the same start and more bytes.
    pub fn scan(&mut self, buf: &[u8]) -> Result<Option<(usize, ReplyKind)>, ProtocolError> {
        loop {
            let at = self.pos;
            match element(buf, at)? {
                Element::NeedMore => return Ok(None),
                Element::Opened { next, open } => {
                    self.note_kind(buf, at);
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(ProtocolError::TooDeep);
                    }
                    self.stack.push(open);
                    self.pos = next;
                }
                Element::Done { next } => {
                    self.note_kind(buf, at);
                    self.pos = next;
                    if self.close_parents() {
                        let kind = self.kind.take().unwrap_or(ReplyKind::Reply);
                        self.pos = 0;
                        return Ok(Some((next, kind)));
                    }
                }
            }
        }
    }

    /// Record the top-level kind from the first non-attribute type byte.
    fn note_kind(&mut self, buf: &[u8], at: usize) {
        if self.kind.is_some() || !self.stack.is_empty() {
            return;
        }
        self.kind = match buf.get(at) {
            Some(b'-' | b'!') => Some(ReplyKind::Error),
            Some(b'>') => Some(ReplyKind::Push),
            Some(b'|') => None,
            _ => Some(ReplyKind::Reply),
        };
    }

    /// An element just completed: count it against its parents. Returns true
    /// when that completed the whole top-level reply.
    fn close_parents(&mut self) -> bool {
        loop {
            let Some(top) = self.stack.last_mut() else {
                return true;
            };
            top.remaining -= 1;
            if top.remaining > 0 {
                return false;
            }
            let was_attribute = top.attribute;
            self.stack.pop();
            if was_attribute {
                // The attribute is done; the value it annotates comes next
                // and is what counts as the element.
                return false;
            }
        }
    }
}

/// Parse the element header at `at`.
fn element(buf: &[u8], at: usize) -> Result<Element, ProtocolError> {
    let Some(&tag) = buf.get(at) else {
        return Ok(Element::NeedMore);
    };
    match tag {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Ok(match find_crlf(buf, at + 1) {
            Some(cr) => Element::Done { next: cr + 2 },
            None => Element::NeedMore,
        }),
        b'$' | b'!' | b'=' => {
            let Some((len, next)) = length(buf, at)? else {
                return Ok(Element::NeedMore);
            };
            if len == -1 && tag == b'$' {
                return Ok(Element::Done { next });
            }
            let len =
                usize::try_from(len).map_err(|_| ProtocolError::InvalidReply("bad length"))?;
            let end = next + len + 2;
            match buf.get(end - 2..end) {
                None => Ok(Element::NeedMore),
                Some(b"\r\n") => Ok(Element::Done { next: end }),
                Some(_) => Err(ProtocolError::InvalidReply("missing CRLF after bulk")),
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let Some((n, next)) = length(buf, at)? else {
                return Ok(Element::NeedMore);
            };
            if (n == -1 && tag == b'*') || n == 0 {
                return Ok(Element::Done { next });
            }
            let n = u64::try_from(n).map_err(|_| ProtocolError::InvalidReply("bad length"))?;
            let pairs = matches!(tag, b'%' | b'|');
            Ok(Element::Opened {
                next,
                open: Open {
                    remaining: if pairs { n * 2 } else { n },
                    attribute: tag == b'|',
                },
            })
        }
        _ => Err(ProtocolError::InvalidReply("unknown type byte")),
    }
}

/// The length line after the type byte at `at`: the value and where the
/// element's body starts, or `None` while it has not fully arrived.
fn length(buf: &[u8], at: usize) -> Result<Option<(i64, usize)>, ProtocolError> {
    match int_line(buf, at + 1) {
        IntLine::Done(n, next) => Ok(Some((n, next))),
        IntLine::Incomplete { .. } => Ok(None),
        IntLine::Invalid => Err(ProtocolError::InvalidReply("bad length")),
    }
}

/// Consecutive complete frames of `bytes` (the replies of a pipelined
/// job) as (start, length, kind); stops at the first incomplete or
/// malformed one.
pub fn frames(bytes: &[u8]) -> impl Iterator<Item = (usize, usize, ReplyKind)> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let (len, kind) = ReplyScanner::new().scan(bytes.get(at..)?).ok()??;
        let start = at;
        at += len;
        Some((start, len, kind))
    })
}

/// Split consecutive complete frames (the replies of a pipelined job);
/// stops at the first incomplete or malformed one.
pub fn split_frames(bytes: &Bytes) -> Vec<Bytes> {
    frames(bytes)
        .map(|(at, len, _)| bytes.slice(at..at + len))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(buf: &[u8]) -> Result<Option<(usize, ReplyKind)>, ProtocolError> {
        ReplyScanner::new().scan(buf)
    }

    #[test]
    fn simple_types() {
        assert_eq!(whole(b"+OK\r\n"), Ok(Some((5, ReplyKind::Reply))));
        assert_eq!(whole(b"-ERR x\r\n+OK"), Ok(Some((8, ReplyKind::Error))));
        assert_eq!(whole(b"$-1\r\n"), Ok(Some((5, ReplyKind::Reply))));
        assert_eq!(whole(b"$4\r\nab\r\n\r\n"), Ok(Some((10, ReplyKind::Reply))));
        assert!(whole(b"$3\r\nab\r\n\r\n").is_err());
        assert_eq!(whole(b"*-1\r\n"), Ok(Some((5, ReplyKind::Reply))));
        assert_eq!(whole(b"_\r\n"), Ok(Some((3, ReplyKind::Reply))));
        assert_eq!(whole(b"$3\r\nab"), Ok(None));
    }

    #[test]
    fn nested_maps_pushes_and_attributes() {
        let map = b"%2\r\n+a\r\n*2\r\n:1\r\n:2\r\n+b\r\n%1\r\n+c\r\n,1.5\r\n";
        assert_eq!(whole(map), Ok(Some((map.len(), ReplyKind::Reply))));
        let push = b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n";
        assert_eq!(whole(push), Ok(Some((push.len(), ReplyKind::Push))));
        let attr = b"|1\r\n+key\r\n:1\r\n-ERR after attribute\r\n";
        assert_eq!(whole(attr), Ok(Some((attr.len(), ReplyKind::Error))));
    }

    #[test]
    fn resumes_byte_by_byte() {
        let frame = b"*3\r\n$5\r\nhello\r\n%1\r\n+k\r\n:7\r\n_\r\n+NEXT\r\n";
        let end = frame.len() - 7;
        let mut s = ReplyScanner::new();
        for n in 0..end {
            assert_eq!(s.scan(&frame[..n]), Ok(None), "at {n}");
        }
        assert_eq!(s.scan(&frame[..end]), Ok(Some((end, ReplyKind::Reply))));
        assert_eq!(s.scan(&frame[end..]), Ok(Some((7, ReplyKind::Reply))));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(whole(b"?x\r\n").is_err());
        assert!(whole(b"$-7\r\n").is_err());
        assert!(whole(b"*x\r\n").is_err());
        let deep = "*1\r\n".repeat(MAX_DEPTH + 1);
        assert_eq!(whole(deep.as_bytes()), Err(ProtocolError::TooDeep));
    }
}
