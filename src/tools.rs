//! The catalogue's command-line tools: `respite import`, `respite seed`
//! and `respite reindex`. Each opens the stores from the configuration,
//! shows progress on a terminal, and returns a [`Report`] to print.

use std::fmt;

use crate::cli::Command;
use crate::config::Config;
use crate::materials::bulk::{self, Invalidator, Summary};
use crate::materials::{self, MaterialsError};
use crate::store::StoreError;

/// Why a tool could not run at all (bad records are not this: they are
/// listed in the report).
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// A store could not be opened.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A store failed midway.
    #[error("{0}")]
    Materials(#[from] MaterialsError),
    /// The input file could not be read.
    #[error("{0}")]
    Input(String),
}

/// What a tool did, printed at the end.
#[derive(Debug)]
pub struct Report {
    /// The tool.
    pub what: &'static str,
    /// Records written.
    pub written: u64,
    /// Refused lines and why.
    pub rejected: Vec<bulk::Rejection>,
    /// Wall time.
    pub elapsed: std::time::Duration,
    /// Whether everything was written.
    pub ok: bool,
}

impl Report {
    fn from_summary(what: &'static str, s: Summary) -> Self {
        Report {
            what,
            written: s.written,
            ok: s.rejected.is_empty(),
            rejected: s.rejected,
            elapsed: s.elapsed,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} written, {} rejected in {:.1}s",
            self.what,
            self.written,
            self.rejected.len(),
            self.elapsed.as_secs_f64()
        )?;
        for r in &self.rejected {
            writeln!(f, "  line {}: {}", r.line, r.reason)?;
        }
        Ok(())
    }
}

/// Deadline of one store call in a bulk load: a batch of a thousand
/// records (and the index build after it) may take far longer than the
/// serving deadline `materials.timeout_ms` allows.
const BULK_TIMEOUT_MS: u64 = 600_000;

/// Run a catalogue tool with `config`.
pub async fn run(cmd: Command, mut config: Config) -> Result<Report, ToolError> {
    config.materials.timeout_ms = config.materials.timeout_ms.max(BULK_TIMEOUT_MS);
    let cfg = &config.materials;
    let cat = materials::open(cfg, Default::default()).await?;
    let mut inv = Invalidator::connect(&config.upstream.url, &cfg.prefix).await;
    match cmd {
        Command::Import(a) => {
            let records = materials::import::read_file(&a.file)
                .map_err(|e| ToolError::Input(e.to_string()))?;
            let bar = bulk::progress(None, "import");
            let s = bulk::load(&cat, records, a.batch as usize, &bar, &mut inv).await;
            Ok(Report::from_summary("import", s))
        }
        Command::Seed(a) => {
            let records = materials::seed::generate(a.count as usize, a.seed)
                .enumerate()
                .map(|(i, m)| (i + 1, Ok(m)));
            let bar = bulk::progress(Some(a.count), "seed");
            let s = bulk::load(&cat, records, a.batch as usize, &bar, &mut inv).await;
            Ok(Report::from_summary("seed", s))
        }
        Command::Reindex(a) => {
            let started = std::time::Instant::now();
            let bar = bulk::progress(None, "reindex");
            let n = bulk::reindex(&cat, a.batch, &bar).await?;
            inv.written(&[]).await;
            Ok(Report {
                what: "reindex",
                written: n,
                rejected: Vec::new(),
                elapsed: started.elapsed(),
                ok: true,
            })
        }
        Command::Serve(_) => Err(ToolError::Input("serve is not a tool".into())),
    }
}
