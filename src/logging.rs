//! Logging: the process-wide `tracing` subscriber (text or JSON lines on
//! stderr) and the handle that changes its filter while respite runs, so
//! `log.level` is live (`RESPITE CONFIG SET log.level debug`, SIGHUP).
//!
//! At start `RUST_LOG`, when set, wins over `log.level`; a later change of
//! `log.level` replaces whichever filter is in force.

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

use crate::config::{LogConfig, LogFormat};

/// Why the log filter could not change.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The filter text is not a valid tracing filter.
    #[error("invalid log filter {filter:?}: {reason}")]
    Filter {
        /// The filter asked for.
        filter: String,
        /// What the parser said.
        reason: String,
    },
    /// The subscriber the handle belongs to is gone.
    #[error("cannot change the log filter: {0}")]
    Reload(String),
}

/// Changes the filter of the subscriber [`init`] installed.
pub struct LogControl {
    handle: reload::Handle<EnvFilter, Registry>,
}

impl std::fmt::Debug for LogControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogControl").finish_non_exhaustive()
    }
}

impl LogControl {
    /// Filter log lines by `level` (a level or `level,target=level,...`)
    /// from now on.
    pub fn set_level(&self, level: &str) -> Result<(), LogError> {
        let filter = EnvFilter::try_new(level).map_err(|e| LogError::Filter {
            filter: level.to_string(),
            reason: e.to_string(),
        })?;
        self.handle
            .reload(filter)
            .map_err(|e| LogError::Reload(e.to_string()))
    }
}

/// Install the global subscriber: `RUST_LOG` or `config.level` as the
/// filter, lines in `config.format` on stderr. `None` when a subscriber is
/// already installed (then that one stays, and `log.level` cannot change).
pub fn init(config: &LogConfig) -> Option<LogControl> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    // Colours only on a terminal: not in files, pipes or journald.
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let registry = tracing_subscriber::registry().with(filter);
    let installed = match config.format {
        LogFormat::Json => registry.with(lines.json()).try_init(),
        LogFormat::Text => registry.with(lines).try_init(),
    };
    installed.ok().map(|()| LogControl { handle })
}
