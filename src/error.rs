//! Errors respite reports, each with the Redis error code a client sees.
//!
//! Every error that reaches a client is written as `-CODE message`, where
//! the code tells where it came from: `ERR` for the request itself, `NOAUTH`
//! and `WRONGPASS` for respite's own users, `UPSTREAM` when Redis could not
//! be reached or answered badly. Errors Redis itself returns are forwarded
//! untouched and never pass through here.

use std::sync::Arc;

use crate::protocol::ProtocolError;

/// Why an upstream request failed. Cloned to every request it affects.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// No connection: connecting failed or is in back-off.
    #[error("upstream {addr} unavailable: {reason}")]
    Unavailable {
        /// The upstream address.
        addr: Arc<str>,
        /// What the last attempt said.
        reason: Arc<str>,
    },
    /// The connection broke with the request in flight; it may or may not
    /// have been executed.
    #[error("connection to upstream {addr} lost: {reason}")]
    Lost {
        /// The upstream address.
        addr: Arc<str>,
        /// What broke it.
        reason: Arc<str>,
    },
    /// No reply within the command timeout; the connection was reset.
    #[error("upstream {addr} timed out after {ms} ms")]
    Timeout {
        /// The upstream address.
        addr: Arc<str>,
        /// The timeout that elapsed.
        ms: u64,
    },
    /// Too many dedicated upstream connections are open.
    #[error("too many dedicated upstream connections ({max})")]
    TooManyPinned {
        /// The configured cap.
        max: usize,
    },
    /// respite is shutting down.
    #[error("respite is shutting down")]
    ShuttingDown,
}

/// An error answered to a client instead of a reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The bytes could not be framed; the connection is closed after it.
    #[error("Protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// Wrong number of arguments for a known command.
    #[error("wrong number of arguments for '{0}' command")]
    WrongArity(String),
    /// A command respite answers itself got arguments it does not accept.
    #[error("{0}")]
    Invalid(String),
    /// Authentication is required before this command.
    #[error("Authentication required.")]
    NoAuth,
    /// HELLO before authenticating, without its AUTH option (Redis's wording).
    #[error("HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")]
    HelloNoAuth,
    /// AUTH or HELLO AUTH with a bad user or password.
    #[error("invalid username-password pair or user is disabled.")]
    WrongPass,
    /// HELLO with a protocol version respite does not speak.
    #[error("unsupported protocol version")]
    NoProto,
    /// The client limit was reached; the connection is closed after it.
    #[error("max number of clients reached")]
    MaxClients,
    /// Upstream could not serve the request.
    #[error("{0}")]
    Upstream(#[from] UpstreamError),
    /// A materials store or the embedder failed.
    #[error("{0}")]
    Backend(String),
}

impl ReplyError {
    /// The Redis error code that prefixes the message.
    pub fn code(&self) -> &'static str {
        match self {
            ReplyError::NoAuth | ReplyError::HelloNoAuth => "NOAUTH",
            ReplyError::WrongPass => "WRONGPASS",
            ReplyError::NoProto => "NOPROTO",
            ReplyError::Upstream(_) => "UPSTREAM",
            ReplyError::Backend(_) => "BACKEND",
            _ => "ERR",
        }
    }

    /// The whole error line, without the leading `-` and CRLF.
    pub fn line(&self) -> String {
        format!("{} {}", self.code(), self)
    }

    /// Shorthand for [`ReplyError::Invalid`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        ReplyError::Invalid(msg.into())
    }
}

impl From<crate::materials::MaterialsError> for ReplyError {
    fn from(e: crate::materials::MaterialsError) -> Self {
        use crate::materials::MaterialsError;
        match e {
            MaterialsError::Backend(m) => ReplyError::Backend(m),
            MaterialsError::Upstream(e) => ReplyError::Upstream(e),
        }
    }
}

/// Errors that stop respite from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Any other I/O failure at start.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_redis_codes() {
        assert_eq!(
            ReplyError::WrongArity("get".into()).line(),
            "ERR wrong number of arguments for 'get' command"
        );
        assert_eq!(ReplyError::NoAuth.line(), "NOAUTH Authentication required.");
        assert_eq!(
            ReplyError::Protocol(ProtocolError::InvalidBulkLength).line(),
            "ERR Protocol error: invalid bulk length"
        );
        let e = ReplyError::Upstream(UpstreamError::Timeout {
            addr: "h:1".into(),
            ms: 5,
        });
        assert_eq!(e.line(), "UPSTREAM upstream h:1 timed out after 5 ms");
    }
}
