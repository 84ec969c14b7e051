//! Dialing upstream: TCP connect, then the handshake (HELLO or AUTH, SELECT)
//! pipelined in one write, all under the connect timeout.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::UpstreamTarget;
use crate::error::UpstreamError;
use crate::protocol::{Proto, ReplyKind, ReplyScanner, Request};

/// Everything needed to open a ready-to-use upstream connection.
#[derive(Clone, Debug)]
pub struct Dialer {
    target: UpstreamTarget,
    addr: Arc<str>,
    connect_timeout: Duration,
}

impl Dialer {
    /// A dialer for `target`, giving up on a connection after `connect_timeout`.
    pub fn new(target: UpstreamTarget, connect_timeout: Duration) -> Self {
        let addr: Arc<str> = format!("{}:{}", target.host, target.port).into();
        Dialer {
            target,
            addr,
            connect_timeout,
        }
    }

    /// `host:port` of the upstream, for messages.
    pub fn addr(&self) -> &Arc<str> {
        &self.addr
    }

    /// The db new connections select.
    pub fn db(&self) -> u32 {
        self.target.db
    }

    /// Open a connection speaking `proto`, authenticated, on the configured db.
    /// Returns the stream and any bytes read past the handshake replies.
    pub async fn connect(&self, proto: Proto) -> Result<(TcpStream, BytesMut), UpstreamError> {
        let attempt = async {
            let addr = (self.target.host.as_str(), self.target.port);
            let mut stream = TcpStream::connect(addr)
                .await
                .map_err(|e| self.unavailable(e))?;
            stream.set_nodelay(true).map_err(|e| self.unavailable(e))?;
            let rest = self.handshake(&mut stream, proto).await?;
            Ok((stream, rest))
        };
        match tokio::time::timeout(self.connect_timeout, attempt).await {
            Ok(r) => r,
            Err(_) => Err(self.unavailable(format!(
                "connect timed out after {} ms",
                self.connect_timeout.as_millis()
            ))),
        }
    }

    /// The commands that make a fresh connection ready.
    fn handshake_commands(&self, proto: Proto) -> Vec<Request> {
        let t = &self.target;
        let mut cmds = Vec::new();
        let user = t.username.clone().unwrap_or_else(|| "default".into());
        match (proto, &t.password) {
            (Proto::Resp3, Some(pass)) => {
                cmds.push(Request::from_args(["HELLO", "3", "AUTH", &user, pass]));
            }
            (Proto::Resp3, None) => cmds.push(Request::from_args(["HELLO", "3"])),
            (Proto::Resp2, Some(pass)) if t.username.is_some() => {
                cmds.push(Request::from_args(["AUTH", &user, pass]));
            }
            (Proto::Resp2, Some(pass)) => cmds.push(Request::from_args(["AUTH", pass])),
            (Proto::Resp2, None) => {}
        }
        if t.db != 0 {
            cmds.push(Request::from_args(["SELECT".to_string(), t.db.to_string()]));
        }
        cmds
    }

    async fn handshake(
        &self,
        stream: &mut TcpStream,
        proto: Proto,
    ) -> Result<BytesMut, UpstreamError> {
        let cmds = self.handshake_commands(proto);
        let mut out = BytesMut::new();
        for c in &cmds {
            out.extend_from_slice(&c.raw);
        }
        stream
            .write_all(&out)
            .await
            .map_err(|e| self.unavailable(e))?;
        let mut buf = BytesMut::with_capacity(4096);
        let mut scanner = ReplyScanner::new();
        let mut left = cmds.len();
        while left > 0 {
            match scanner.scan(&buf).map_err(|e| self.unavailable(e))? {
                Some((len, kind)) => {
                    if kind == ReplyKind::Error {
                        let text = String::from_utf8_lossy(
                            buf.get(1..len.saturating_sub(2)).unwrap_or_default(),
                        );
                        return Err(self.unavailable(format!("handshake refused: {text}")));
                    }
                    buf.advance(len);
                    left -= 1;
                }
                None => {
                    let n = stream
                        .read_buf(&mut buf)
                        .await
                        .map_err(|e| self.unavailable(e))?;
                    if n == 0 {
                        return Err(self.unavailable("closed during handshake"));
                    }
                }
            }
        }
        Ok(buf)
    }

    /// An [`UpstreamError::Unavailable`] for this upstream.
    pub fn unavailable(&self, reason: impl std::fmt::Display) -> UpstreamError {
        UpstreamError::Unavailable {
            addr: self.addr.clone(),
            reason: reason.to_string().into(),
        }
    }

    /// An [`UpstreamError::Lost`] for this upstream.
    pub fn lost(&self, reason: impl std::fmt::Display) -> UpstreamError {
        UpstreamError::Lost {
            addr: self.addr.clone(),
            reason: reason.to_string().into(),
        }
    }
}
