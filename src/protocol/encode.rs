//! Reply encoding for the replies respite writes itself.
//!
//! Forwarded replies are never re-encoded; these helpers serve local
//! commands (PING, HELLO, INFO, CLIENT …) and errors. [`ReplyWriter`] knows
//! the connection's protocol so each command writes one reply that is right
//! for RESP2 and RESP3 alike.

use bytes::{BufMut, BytesMut};

use super::Proto;

/// Write `prefix`, the decimal `n`, and CRLF.
pub fn int_line(out: &mut BytesMut, prefix: u8, n: i64) {
    let mut b = itoa::Buffer::new();
    out.put_u8(prefix);
    out.put_slice(b.format(n).as_bytes());
    out.put_slice(b"\r\n");
}

/// Write an array header for `n` elements.
pub fn array_header(out: &mut BytesMut, n: usize) {
    int_line(out, b'*', n as i64);
}

/// Write a bulk string.
pub fn bulk(out: &mut BytesMut, data: &[u8]) {
    int_line(out, b'$', data.len() as i64);
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// Write an error line `-CODE message`; CR and LF in the message become
/// spaces so the line cannot break the stream.
pub fn error(out: &mut BytesMut, line: &str) {
    out.put_u8(b'-');
    out.extend(
        line.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.put_slice(b"\r\n");
}

/// Writes one reply in the protocol of the connection it is for.
pub struct ReplyWriter<'a> {
    out: &'a mut BytesMut,
    proto: Proto,
}

impl<'a> ReplyWriter<'a> {
    /// A writer appending to `out` in `proto`.
    pub fn new(out: &'a mut BytesMut, proto: Proto) -> Self {
        ReplyWriter { out, proto }
    }

    /// Switch protocol mid-reply (HELLO answers in the version it selects).
    pub fn set_proto(&mut self, proto: Proto) {
        self.proto = proto;
    }

    /// The protocol replies are written in.
    pub fn proto(&self) -> Proto {
        self.proto
    }

    /// `+OK` and friends; `s` must not contain CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.out.put_u8(b'+');
        self.out.put_slice(s.as_bytes());
        self.out.put_slice(b"\r\n");
    }

    /// An error: `line` is `CODE message`, e.g. `ERR unknown command`.
    pub fn error(&mut self, line: &str) {
        error(self.out, line);
    }

    /// An integer.
    pub fn int(&mut self, n: i64) {
        int_line(self.out, b':', n);
    }

    /// A bulk string.
    pub fn bulk(&mut self, data: &[u8]) {
        bulk(self.out, data);
    }

    /// A null (the bulk null in RESP2).
    pub fn null(&mut self) {
        match self.proto {
            Proto::Resp2 => self.out.put_slice(b"$-1\r\n"),
            Proto::Resp3 => self.out.put_slice(b"_\r\n"),
        }
    }

    /// An array header; the caller writes `n` elements after it.
    pub fn array(&mut self, n: usize) {
        array_header(self.out, n);
    }

    /// A map header of `n` pairs (a flat array of 2n in RESP2).
    pub fn map(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => array_header(self.out, n * 2),
            Proto::Resp3 => int_line(self.out, b'%', n as i64),
        }
    }

    /// Text meant for people (INFO, CLIENT LIST): verbatim in RESP3, bulk in RESP2.
    pub fn verbatim(&mut self, text: &str) {
        match self.proto {
            Proto::Resp2 => bulk(self.out, text.as_bytes()),
            Proto::Resp3 => {
                int_line(self.out, b'=', text.len() as i64 + 4);
                self.out.put_slice(b"txt:");
                self.out.put_slice(text.as_bytes());
                self.out.put_slice(b"\r\n");
            }
        }
    }

    /// A floating-point number: a RESP3 double, a bulk string in RESP2 (as
    /// Redis answers ZSCORE). Non-finite values are written as RESP3 spells
    /// them (`inf`, `-inf`, `nan`).
    pub fn double(&mut self, x: f64) {
        let text = if x.is_nan() {
            "nan".to_string()
        } else if x.is_infinite() {
            if x > 0.0 { "inf" } else { "-inf" }.to_string()
        } else {
            x.to_string()
        };
        match self.proto {
            Proto::Resp2 => bulk(self.out, text.as_bytes()),
            Proto::Resp3 => {
                self.out.put_u8(b',');
                self.out.put_slice(text.as_bytes());
                self.out.put_slice(b"\r\n");
            }
        }
    }

    /// Bytes already encoded in this writer's protocol (a cached reply).
    pub fn raw(&mut self, encoded: &[u8]) {
        self.out.put_slice(encoded);
    }

    /// A bulk-string key followed by a value the caller writes (map entries).
    pub fn key(&mut self, k: &str) {
        bulk(self.out, k.as_bytes());
    }

    /// A boolean: RESP3 `#t`/`#f`, the integer 1/0 in RESP2.
    pub fn boolean(&mut self, b: bool) {
        match self.proto {
            Proto::Resp2 => self.int(i64::from(b)),
            Proto::Resp3 => self.out.put_slice(if b { b"#t\r\n" } else { b"#f\r\n" }),
        }
    }

    /// A whole [`Value`] tree.
    pub fn value(&mut self, v: &Value) {
        match v {
            Value::Map(pairs) => {
                self.map(pairs.len());
                for (k, v) in pairs {
                    self.key(k);
                    self.value(v);
                }
            }
            Value::Text(t) => self.bulk(t.as_bytes()),
            Value::Int(n) => self.int(*n),
            Value::Float(x) => self.double(*x),
            Value::Bool(b) => self.boolean(*b),
        }
    }
}

/// A structured reply built before it is written (STATS, HEALTH): maps
/// become RESP3 maps, or flat arrays in RESP2.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Ordered key/value pairs.
    Map(Vec<(String, Value)>),
    /// A string.
    Text(String),
    /// An integer.
    Int(i64),
    /// A double.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl Value {
    /// A map from pairs with `&str` keys.
    pub fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A counter as an integer (saturating above `i64::MAX`).
    pub fn count(n: u64) -> Value {
        Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }

    /// A string value.
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_per_protocol() {
        let mut out = BytesMut::new();
        let mut w = ReplyWriter::new(&mut out, Proto::Resp2);
        w.map(1);
        w.key("a");
        w.null();
        w.verbatim("hi");
        assert_eq!(&out[..], b"*2\r\n$1\r\na\r\n$-1\r\n$2\r\nhi\r\n");
        let mut out = BytesMut::new();
        let mut w = ReplyWriter::new(&mut out, Proto::Resp3);
        w.map(1);
        w.key("a");
        w.null();
        w.verbatim("hi");
        w.error("ERR bad\r\nthing");
        w.double(1.5);
        assert_eq!(
            &out[..],
            b"%1\r\n$1\r\na\r\n_\r\n=6\r\ntxt:hi\r\n-ERR bad  thing\r\n,1.5\r\n"
        );
    }

    #[test]
    fn writes_value_trees() {
        let v = Value::map([
            ("ok", Value::Bool(true)),
            ("n", Value::count(3)),
            ("m", Value::map([("s", Value::text("x"))])),
        ]);
        let mut out = BytesMut::new();
        ReplyWriter::new(&mut out, Proto::Resp3).value(&v);
        assert_eq!(
            &out[..],
            b"%3\r\n$2\r\nok\r\n#t\r\n$1\r\nn\r\n:3\r\n$1\r\nm\r\n%1\r\n$1\r\ns\r\n$1\r\nx\r\n"
        );
        let mut out = BytesMut::new();
        ReplyWriter::new(&mut out, Proto::Resp2).value(&v);
        assert!(out.starts_with(b"*6\r\n$2\r\nok\r\n:1\r\n"));
    }
}
