//! Bulk loading: `respite import`, `respite seed`, `respite reindex`, and
//! the demo catalogue seeded into an empty embedded store on first start.
//!
//! Records are written in batches through the same path as
//! `MSET.MATERIAL` (one relational transaction per batch, the vector store
//! reconciled if it fails), with a progress bar on a terminal and a summary
//! at the end. When the upstream Redis is reachable, each batch also drops
//! the cached copies of what it wrote and bumps the search generation, so
//! running instances do not serve stale results.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::keys::Keys;
use super::model::{FieldError, Material};
use super::{Catalogue, MaterialsError};
use crate::store::{timed, RelationalStore, StoreOp, VectorStore};

/// Seed of the demo catalogue's generator (the same demo everywhere).
pub const DEMO_SEED: u64 = 42;

/// One refused record: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Line in the file (1-based).
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// What a bulk load did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Records written.
    pub written: u64,
    /// Records refused, with their lines.
    pub rejected: Vec<Rejection>,
    /// How long it took.
    pub elapsed: Duration,
}

/// A progress bar on a terminal, nothing otherwise.
pub fn progress(total: Option<u64>, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let template = "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta})";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

/// Drops cached copies of written materials in a running deployment's
/// upstream Redis (best effort: a CLI run may have no Redis at all).
pub struct Invalidator {
    conn: Option<redis::aio::MultiplexedConnection>,
    keys: Keys,
}

impl Invalidator {
    /// Connect to `redis_url` if it answers within a second.
    pub async fn connect(redis_url: &str, prefix: &str) -> Self {
        let conn = match redis::Client::open(redis_url) {
            Ok(client) => tokio::time::timeout(
                Duration::from_secs(1),
                client.get_multiplexed_async_connection(),
            )
            .await
            .ok()
            .and_then(Result::ok),
            Err(_) => None,
        };
        Invalidator {
            conn,
            keys: Keys::new(prefix),
        }
    }

    /// No upstream: nothing to invalidate.
    pub fn none(prefix: &str) -> Self {
        Invalidator {
            conn: None,
            keys: Keys::new(prefix),
        }
    }

    /// Drop the keys of `ids` and bump the search generation.
    pub async fn written(&mut self, ids: &[String]) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let mut pipe = redis::pipe();
        if !ids.is_empty() {
            let keys: Vec<Vec<u8>> = ids.iter().map(|i| self.keys.material(i).to_vec()).collect();
            pipe.cmd("DEL").arg(keys).ignore();
        }
        pipe.cmd("INCR")
            .arg(self.keys.generation().to_vec())
            .ignore();
        if let Err(e) = pipe.query_async::<()>(conn).await {
            tracing::warn!(error = %e, "could not invalidate the upstream cache");
        }
    }
}

/// Write `records` in batches of `batch`; bad records and failed batches
/// are rejected with their line numbers, the rest is written.
pub async fn load<I>(
    cat: &Catalogue,
    records: I,
    batch: usize,
    bar: &ProgressBar,
    inv: &mut Invalidator,
) -> Summary
where
    I: IntoIterator<Item = (usize, Result<Material, FieldError>)>,
{
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut pending: Vec<(usize, Material)> = Vec::with_capacity(batch);
    for (line, record) in records {
        match record {
            Ok(m) => pending.push((line, m)),
            Err(e) => summary.rejected.push(Rejection {
                line,
                reason: e.to_string(),
            }),
        }
        bar.inc(1);
        if pending.len() >= batch.max(1) {
            flush(cat, &mut pending, &mut summary, inv).await;
        }
    }
    flush(cat, &mut pending, &mut summary, inv).await;
    optimize(cat).await;
    summary.elapsed = started.elapsed();
    bar.finish_and_clear();
    summary
}

/// Write one batch; on failure every record of it is rejected.
async fn flush(
    cat: &Catalogue,
    pending: &mut Vec<(usize, Material)>,
    summary: &mut Summary,
    inv: &mut Invalidator,
) {
    if pending.is_empty() {
        return;
    }
    let batch: Vec<Material> = pending.iter().map(|(_, m)| m.clone()).collect();
    let batch = dedup_last(batch);
    match cat.store(&batch).await {
        Ok(n) => {
            summary.written += n as u64;
            let ids: Vec<String> = batch.iter().map(|m| m.id.clone()).collect();
            inv.written(&ids).await;
        }
        Err(e) => summary
            .rejected
            .extend(pending.iter().map(|(line, _)| Rejection {
                line: *line,
                reason: format!("batch not written: {e}"),
            })),
    }
    pending.clear();
}

/// Keep the last record of each id (a file may repeat an id; one upsert
/// statement may not).
fn dedup_last(batch: Vec<Material>) -> Vec<Material> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<Material> = batch
        .into_iter()
        .rev()
        .filter(|m| seen.insert(m.id.clone()))
        .collect();
    out.reverse();
    out
}

/// Build the vector store's indexes after a bulk load (logged, not fatal).
async fn optimize(cat: &Catalogue) {
    let v = cat.vector();
    let long = Duration::from_secs(600);
    if let Err(e) = timed(
        &cat.counters.stores,
        v.name(),
        StoreOp::Optimize,
        long,
        v.optimize(),
    )
    .await
    {
        tracing::warn!(error = %e, "vector store optimisation failed");
    }
}

/// On first start with an empty embedded store, write the demo catalogue
/// (and say so in the log).
pub async fn seed_if_empty(cat: &Catalogue) -> Result<(), MaterialsError> {
    let cfg = cat.config();
    if !cfg.is_embedded() || cfg.seed_on_empty == 0 {
        return Ok(());
    }
    let r = cat.relational();
    let count = timed(
        &cat.counters.stores,
        r.name(),
        StoreOp::Count,
        Duration::from_millis(cfg.timeout_ms),
        r.count(),
    )
    .await
    .map_err(|e| MaterialsError::Backend(e.to_string()))?;
    if count > 0 {
        return Ok(());
    }
    let n = cfg.seed_on_empty;
    tracing::info!(count = n, store = %cfg.relational.url, "empty embedded catalogue: seeding demo materials");
    let records = super::seed::generate(n, DEMO_SEED)
        .enumerate()
        .map(|(i, m)| (i + 1, Ok(m)));
    let s = load(
        cat,
        records,
        100,
        &ProgressBar::hidden(),
        &mut Invalidator::none(&cfg.prefix),
    )
    .await;
    tracing::info!(
        written = s.written,
        ms = s.elapsed.as_millis() as u64,
        "demo catalogue seeded"
    );
    Ok(())
}

/// Rebuild the vector store from the relational one, `batch` at a time.
pub async fn reindex(
    cat: &Catalogue,
    batch: u32,
    bar: &ProgressBar,
) -> Result<u64, MaterialsError> {
    let backend = |e: crate::store::StoreError| MaterialsError::Backend(e.to_string());
    let long = Duration::from_secs(600);
    let (r, v) = (cat.relational(), cat.vector());
    timed(
        &cat.counters.stores,
        v.name(),
        StoreOp::Clear,
        long,
        v.clear(),
    )
    .await
    .map_err(backend)?;
    let mut after: Option<String> = None;
    let mut done = 0;
    loop {
        let page = timed(
            &cat.counters.stores,
            r.name(),
            StoreOp::Page,
            long,
            r.page(after.as_deref(), batch),
        )
        .await
        .map_err(backend)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        let points = cat.points(&page).await?;
        timed(
            &cat.counters.stores,
            v.name(),
            StoreOp::Upsert,
            long,
            v.upsert(points),
        )
        .await
        .map_err(backend)?;
        done += page.len() as u64;
        bar.inc(page.len() as u64);
    }
    optimize(cat).await;
    bar.finish_and_clear();
    Ok(done)
}
