//! Client requests: multibulk (`*N\r\n$len\r\n…`) and inline (`PING\r\n`).
//!
//! The parser is resumable: a request that arrives in pieces is scanned once,
//! not again from the start on every read, so a huge multibulk costs linear
//! time. Every length is checked against [`Limits`] before it is trusted.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{int_line, IntLine, ProtocolError};

/// Bounds on what one request may claim or contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk string accepted (Redis's `proto-max-bulk-len`).
    pub max_bulk_len: usize,
    /// Most arguments in one multibulk request.
    pub max_multibulk_len: usize,
    /// Longest inline request line, and longest length line.
    pub max_inline_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: 1024 * 1024,
            max_inline_len: 64 * 1024,
        }
    }
}

/// One parsed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The arguments, the command name first; slices of `raw`, not copies.
    pub argv: Vec<Bytes>,
    /// The request encoded as a multibulk, ready to forward upstream as is.
    pub raw: Bytes,
}

impl Request {
    /// Build a request from arguments (used for inline requests and for
    /// commands respite itself sends).
    pub fn from_args<I, A>(args: I) -> Request
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let args: Vec<A> = args.into_iter().collect();
        let mut out = BytesMut::new();
        super::encode::array_header(&mut out, args.len());
        let mut ranges = Vec::with_capacity(args.len());
        for a in &args {
            let a = a.as_ref();
            super::encode::int_line(&mut out, b'$', a.len() as i64);
            let start = out.len();
            out.put_slice(a);
            ranges.push((start, out.len()));
            out.put_slice(b"\r\n");
        }
        let raw = out.freeze();
        let argv = ranges.iter().map(|&(s, e)| raw.slice(s..e)).collect();
        Request { argv, raw }
    }

    /// The command name as sent (any case).
    pub fn name(&self) -> &[u8] {
        self.argv.first().map(|b| b.as_ref()).unwrap_or(b"")
    }
}

/// Progress through a multibulk that has not fully arrived.
#[derive(Debug)]
struct Partial {
    argc: usize,
    /// Offset in the buffer where the next argument starts.
    pos: usize,
    /// (start, end) of each argument already complete.
    args: Vec<(usize, usize)>,
    /// Total bytes the request needs, once a bulk header told us.
    need: usize,
}

/// Splits a client's byte stream into [`Request`]s.
#[derive(Debug)]
pub struct RequestParser {
    limits: Limits,
    partial: Option<Partial>,
}

impl RequestParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestParser {
            limits,
            partial: None,
        }
    }

    /// How many more bytes the request in progress is known to need (0 when
    /// unknown); lets the caller grow its buffer once instead of many times.
    pub fn wanted(&self, buffered: usize) -> usize {
        self.partial
            .as_ref()
            .map_or(0, |p| p.need.saturating_sub(buffered))
    }

    /// Take one request off the front of `buf`. `Ok(None)` means more bytes
    /// are needed; `buf` is left as is and the progress remembered, so call
    /// again with the same buffer after reading more. Empty requests (blank
    /// lines, `*0`) are consumed and skipped, as Redis does.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, ProtocolError> {
        loop {
            let Some(&first) = buf.first() else {
                return Ok(None);
            };
            let parsed = if first == b'*' {
                self.multibulk(buf)?
            } else {
                self.inline(buf)?
            };
            match parsed {
                Step::Done(req) => return Ok(Some(req)),
                Step::NeedMore => return Ok(None),
                Step::Skipped => continue,
            }
        }
    }

    fn multibulk(&mut self, buf: &mut BytesMut) -> Result<Step, ProtocolError> {
        let mut st = match self.partial.take() {
            Some(st) => st,
            None => match self.multibulk_header(buf)? {
                Header::Start(st) => st,
                Header::NeedMore => return Ok(Step::NeedMore),
                Header::Empty => return Ok(Step::Skipped),
            },
        };
        while st.args.len() < st.argc {
            match self.bulk(buf, st.pos)? {
                Bulk::Done(start, end) => {
                    st.args.push((start, end));
                    st.pos = end + 2;
                }
                Bulk::NeedMore(need) => {
                    st.need = need;
                    self.partial = Some(st);
                    return Ok(Step::NeedMore);
                }
            }
        }
        let frame = buf.split_to(st.pos).freeze();
        let argv = st.args.iter().map(|&(s, e)| frame.slice(s..e)).collect();
        Ok(Step::Done(Request { argv, raw: frame }))
    }

    fn multibulk_header(&mut self, buf: &mut BytesMut) -> Result<Header, ProtocolError> {
        let (n, next) = match int_line(buf, 1) {
            IntLine::Done(n, next) => (n, next),
            IntLine::Incomplete { .. } if buf.len() > self.limits.max_inline_len => {
                return Err(ProtocolError::MbulkCountTooBig)
            }
            IntLine::Incomplete { .. } => return Ok(Header::NeedMore),
            IntLine::Invalid => return Err(ProtocolError::InvalidMultibulkLength),
        };
        if n > self.limits.max_multibulk_len as i64 {
            return Err(ProtocolError::InvalidMultibulkLength);
        }
        if n <= 0 {
            buf.advance(next);
            return Ok(Header::Empty);
        }
        let argc = n as usize;
        Ok(Header::Start(Partial {
            argc,
            pos: next,
            args: Vec::with_capacity(argc.min(64)),
            need: 0,
        }))
    }

    /// Parse the bulk string at `pos`.
    fn bulk(&self, buf: &BytesMut, pos: usize) -> Result<Bulk, ProtocolError> {
        let Some(&tag) = buf.get(pos) else {
            return Ok(Bulk::NeedMore(0));
        };
        if tag != b'$' {
            return Err(ProtocolError::ExpectedBulk(char::from(tag)));
        }
        let (len, start) = match int_line(buf, pos + 1) {
            IntLine::Done(len, next)
                if len >= 0 && len as u64 <= self.limits.max_bulk_len as u64 =>
            {
                (len as usize, next)
            }
            IntLine::Incomplete { .. } if buf.len() - pos > self.limits.max_inline_len => {
                return Err(ProtocolError::BulkCountTooBig)
            }
            IntLine::Incomplete { .. } => return Ok(Bulk::NeedMore(0)),
            _ => return Err(ProtocolError::InvalidBulkLength),
        };
        let end = start + len;
        match buf.get(end..end + 2) {
            None => Ok(Bulk::NeedMore(end + 2)),
            Some(b"\r\n") => Ok(Bulk::Done(start, end)),
            Some(_) => Err(ProtocolError::MissingCrlf),
        }
    }

    fn inline(&mut self, buf: &mut BytesMut) -> Result<Step, ProtocolError> {
        let Some(nl) = memchr::memchr(b'\n', buf) else {
            if buf.len() > self.limits.max_inline_len {
                return Err(ProtocolError::InlineTooBig);
            }
            return Ok(Step::NeedMore);
        };
        if nl > self.limits.max_inline_len {
            return Err(ProtocolError::InlineTooBig);
        }
        let line_end = if nl > 0 && buf.get(nl - 1) == Some(&b'\r') {
            nl - 1
        } else {
            nl
        };
        let args = split_inline(buf.get(..line_end).unwrap_or_default())?;
        buf.advance(nl + 1);
        if args.is_empty() {
            return Ok(Step::Skipped);
        }
        Ok(Step::Done(Request::from_args(args)))
    }
}

/// A bulk string at some offset: complete (start, end of its payload), or
/// waiting for bytes (the total request size needed, 0 when not yet known).
enum Bulk {
    Done(usize, usize),
    NeedMore(usize),
}

enum Step {
    Done(Request),
    NeedMore,
    Skipped,
}

enum Header {
    Start(Partial),
    NeedMore,
    Empty,
}

/// Split an inline request line into arguments the way `redis-cli` and Redis
/// do: whitespace separates, double quotes allow escapes (`\n`, `\xHH`, …),
/// single quotes allow only `\'`.
pub fn split_inline(line: &[u8]) -> Result<Vec<Vec<u8>>, ProtocolError> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while line.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        if i >= line.len() {
            return Ok(args);
        }
        let (arg, next) = match line.get(i) {
            Some(b'"') => double_quoted(line, i + 1)?,
            Some(b'\'') => single_quoted(line, i + 1)?,
            _ => bare(line, i),
        };
        args.push(arg);
        i = next;
    }
}

fn bare(line: &[u8], mut i: usize) -> (Vec<u8>, usize) {
    let start = i;
    while line.get(i).is_some_and(|b| !b.is_ascii_whitespace()) {
        i += 1;
    }
    (line.get(start..i).unwrap_or_default().to_vec(), i)
}

/// After a closing quote Redis requires whitespace or the end of the line.
fn after_quote(line: &[u8], i: usize) -> Result<usize, ProtocolError> {
    match line.get(i) {
        None => Ok(i),
        Some(b) if b.is_ascii_whitespace() => Ok(i),
        Some(_) => Err(ProtocolError::UnbalancedQuotes),
    }
}

fn double_quoted(line: &[u8], mut i: usize) -> Result<(Vec<u8>, usize), ProtocolError> {
    let mut out = Vec::new();
    loop {
        match line.get(i) {
            None => return Err(ProtocolError::UnbalancedQuotes),
            Some(b'"') => return Ok((out, after_quote(line, i + 1)?)),
            Some(b'\\') => {
                let (byte, used) = unescape(line, i + 1);
                out.push(byte);
                i += 1 + used;
            }
            Some(&b) => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Decode the escape after a backslash at `i`; returns the byte and how many
/// bytes of input it used.
fn unescape(line: &[u8], i: usize) -> (u8, usize) {
    let hex = |b: u8| char::from(b).to_digit(16);
    if line.get(i) == Some(&b'x') {
        if let (Some(h), Some(l)) = (
            line.get(i + 1).and_then(|&b| hex(b)),
            line.get(i + 2).and_then(|&b| hex(b)),
        ) {
            return ((h * 16 + l) as u8, 3);
        }
    }
    match line.get(i) {
        Some(b'n') => (b'\n', 1),
        Some(b'r') => (b'\r', 1),
        Some(b't') => (b'\t', 1),
        Some(b'b') => (0x08, 1),
        Some(b'a') => (0x07, 1),
        Some(&b) => (b, 1),
        None => (b'\\', 0),
    }
}

fn single_quoted(line: &[u8], mut i: usize) -> Result<(Vec<u8>, usize), ProtocolError> {
    let mut out = Vec::new();
    loop {
        match line.get(i) {
            None => return Err(ProtocolError::UnbalancedQuotes),
            Some(b'\'') => return Ok((out, after_quote(line, i + 1)?)),
            Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                out.push(b'\'');
                i += 2;
            }
            Some(&b) => {
                out.push(b);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8], limits: Limits) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut p = RequestParser::new(limits);
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(r) = p.parse(&mut buf)? {
            out.push(r.argv.iter().map(|a| a.to_vec()).collect());
        }
        Ok(out)
    }

    fn args(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_and_inline_mix() {
        let got = parse_all(
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n\r\n*0\r\nSET a \"b c\"\n",
            Limits::default(),
        );
        assert_eq!(
            got,
            Ok(vec![
                args(&["GET", "k"]),
                args(&["PING"]),
                args(&["SET", "a", "b c"])
            ])
        );
    }

    #[test]
    fn byte_at_a_time_is_the_same_as_all_at_once() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n";
        let mut p = RequestParser::new(Limits::default());
        let mut buf = BytesMut::new();
        let mut got = None;
        for &b in input.iter() {
            assert!(got.is_none(), "parsed before the last byte");
            buf.put_u8(b);
            got = p.parse(&mut buf).ok().flatten();
        }
        let req = got.map(|r| r.argv);
        assert_eq!(
            req,
            Some(vec![
                Bytes::from_static(b"SET"),
                Bytes::from_static(b"key"),
                Bytes::from_static(b"va\r\nl")
            ])
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn raw_is_forwardable_multibulk() {
        let mut p = RequestParser::new(Limits::default());
        let mut buf = BytesMut::from(&b"set k 'it''s'\r\n"[..]);
        assert_eq!(p.parse(&mut buf), Err(ProtocolError::UnbalancedQuotes));
        let mut buf = BytesMut::from(&b"set k \"a\\x41\\n\"\r\n"[..]);
        let r = p.parse(&mut buf).ok().flatten();
        assert_eq!(
            r.map(|r| r.raw),
            Some(Bytes::from_static(
                b"*3\r\n$3\r\nset\r\n$1\r\nk\r\n$3\r\naA\n\r\n"
            ))
        );
    }

    #[test]
    fn limits_are_enforced() {
        let small = Limits {
            max_bulk_len: 10,
            max_multibulk_len: 3,
            max_inline_len: 16,
        };
        assert_eq!(
            parse_all(b"*4\r\n", small),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n$11\r\n", small),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n$-5\r\n", small),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(&[b'a'; 17], small),
            Err(ProtocolError::InlineTooBig)
        );
        assert_eq!(
            parse_all(b"*123456789012345678", small),
            Err(ProtocolError::MbulkCountTooBig)
        );
        assert_eq!(
            parse_all(b"*1\r\n:1\r\n", small),
            Err(ProtocolError::ExpectedBulk(':'))
        );
        assert_eq!(
            parse_all(b"*1\r\n$1\r\nabc", small),
            Err(ProtocolError::MissingCrlf)
        );
        assert_eq!(
            parse_all(b"*x\r\n", small),
            Err(ProtocolError::InvalidMultibulkLength)
        );
    }

    #[test]
    fn wanted_reports_the_missing_bytes_of_a_big_bulk() {
        let mut p = RequestParser::new(Limits::default());
        let mut buf = BytesMut::from(&b"*1\r\n$1000\r\nab"[..]);
        assert_eq!(p.parse(&mut buf), Ok(None));
        assert_eq!(p.wanted(buf.len()), 1000 + 11 + 2 - buf.len());
    }

    #[test]
    fn inline_escapes() {
        assert_eq!(
            split_inline(br#"a "b\tc" 'd\'e' "\x4" x"#),
            Ok(args(&["a", "b\tc", "d'e", "x4", "x"]))
        );
        assert_eq!(
            split_inline(br#""abc"def"#),
            Err(ProtocolError::UnbalancedQuotes)
        );
    }
}
