//! The embedded vector store: a qdrant-edge shard in a local directory.
//!
//! qdrant-edge is synchronous, so every call runs on tokio's blocking
//! pool, never on an async worker. Two locks keep its calls apart:
//!
//! - the slot (`RwLock<Option<EdgeShard>>`) is shared by every call and
//!   taken exclusively only to create the shard ([`ensure`]), recreate it
//!   ([`clear`]) or drop it;
//! - the write lock (`Mutex<()>`) is held by writes, [`optimize`] and
//!   flushes, so searches and counts run alongside them while writes run
//!   one at a time.
//!
//! qdrant-edge's `flush` (also run when the shard drops) expects no
//! update or optimization to be under way and panics otherwise; under the
//! write lock none is.
//!
//! Durability: qdrant-edge 0.7 writes a WAL but never replays or truncates
//! it; what survives a crash is what was flushed to the segments. A flush
//! costs tens to hundreds of milliseconds whatever was written, so writes
//! are not flushed one by one: the first write after a flush schedules
//! one [`FLUSH_DELAY`] later, which covers every write made meanwhile.
//! Dropping the store flushes and closes the shard (waiting for calls in
//! progress); [`EdgeStore::flush`] flushes at once.
//!
//! [`ensure`]: VectorStore::ensure
//! [`clear`]: VectorStore::clear
//! [`optimize`]: VectorStore::optimize

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use tokio::runtime::Handle;

use qdrant_edge::external::ordered_float::OrderedFloat;
use qdrant_edge::{
    Condition, CountRequest, CreateIndex, Distance, EdgeConfig, EdgeShard, EdgeSparseVectorParams,
    EdgeVectorParams, FieldCondition, FieldIndexOperations, Filter, Fusion, JsonPath, Match,
    Modifier, NamedQuery, PayloadFieldSchema, PayloadSchemaType, PointId, PointInsertOperations,
    PointOperations, PointStruct, Prefetch, QueryEnum, QueryRequest, Range, ScoredPoint,
    ScoringQuery, SparseVector, UpdateOperation, ValueVariants, Vector as EdgeVector,
    VectorInternal, Vectors, WithPayloadInterface, WithVector,
};
use serde_json::Value;

use super::{
    conditions, dim_mismatch, page_fused, plan, stored_payload, Cond, IndexKind, Plan, DENSE,
    ID_FIELD, PAYLOAD_INDEXES, RRF_K, SPARSE,
};
use crate::store::{point_id, Hit, Sparse, StoreError, VectorPoint, VectorQuery, VectorStore};

const NAME: &str = "qdrant-edge";
const CONFIG_FILE: &str = "edge_config.json";
/// How long after a write its flush comes, at the latest (plus the flush
/// itself): the window of writes a crash can lose.
pub const FLUSH_DELAY: Duration = Duration::from_secs(1);

fn failed(reason: impl std::fmt::Display) -> StoreError {
    StoreError::failed(NAME, reason)
}

/// The embedded vector store. Cheap to share behind an `Arc`; calls may
/// run concurrently.
pub struct EdgeStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EdgeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

struct Inner {
    path: PathBuf,
    /// `None` until [`EdgeStore::ensure`] creates the shard, and once the
    /// store is closed.
    shard: RwLock<Option<EdgeShard>>,
    /// Held by writes, optimizations and flushes.
    writes: Mutex<()>,
    /// Written since the last flush.
    dirty: AtomicBool,
    /// A deferred flush is scheduled.
    flush_scheduled: AtomicBool,
}

impl Inner {
    fn read(&self) -> RwLockReadGuard<'_, Option<EdgeShard>> {
        self.shard.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Option<EdgeShard>> {
        self.shard.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Flush if anything was written since the last flush.
    fn flush_dirty(&self) -> Result<(), StoreError> {
        let slot = self.read();
        let _writing = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.as_ref() {
            Some(shard) if self.dirty.load(Ordering::Acquire) => self.flushed(shard),
            _ => Ok(()),
        }
    }

    /// After a write (under the write lock): note it, and make sure a
    /// flush follows within [`FLUSH_DELAY`]. Called from the blocking
    /// task, so a caller that stops waiting does not skip it.
    fn wrote(self: &Arc<Self>, runtime: &Handle) {
        self.dirty.store(true, Ordering::Release);
        if self.flush_scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        // Weak: a scheduled flush must not keep a dropped store open.
        let inner = Arc::downgrade(self);
        runtime.spawn(async move {
            tokio::time::sleep(FLUSH_DELAY).await;
            let Some(inner) = inner.upgrade() else {
                return;
            };
            // Writes from now on schedule the next flush.
            inner.flush_scheduled.store(false, Ordering::Release);
            let path = inner.path.clone();
            if let Err(e) = blocking(move || inner.flush_dirty()).await {
                tracing::error!(path = %path.display(), error = %e, "qdrant-edge: flush failed");
            }
        });
    }

    /// Flush `shard` now (the caller holds the write lock or the slot).
    fn flushed(&self, shard: &EdgeShard) -> Result<(), StoreError> {
        self.dirty.store(false, Ordering::Release);
        flush(&self.path, shard).inspect_err(|_| self.dirty.store(true, Ordering::Release))
    }

    /// Flush and close the shard, once calls in progress are done.
    fn close(&self) {
        let shard = self.write().take();
        // Dropping flushes; a failed flush panics inside qdrant-edge, which
        // must not take the process down with it.
        if let Some(shard) = shard {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(shard))).is_err() {
                tracing::error!(path = %self.path.display(), "qdrant-edge: flush on close failed");
            }
        }
    }
}

/// Closes the shard, flushing it: blocks until calls in progress (on the
/// blocking pool) are done and the flush is (usually well under a second).
impl Drop for EdgeStore {
    fn drop(&mut self) {
        self.inner.close();
    }
}

impl EdgeStore {
    /// Open the store in directory `path`: load the shard if one is there,
    /// else create it on the first [`ensure`](VectorStore::ensure). Does
    /// blocking I/O (call it at startup, or from a blocking task). Fails
    /// if `path` is not a directory or the shard cannot be loaded (for
    /// instance when another process has it open).
    pub fn open(path: &Path) -> Result<EdgeStore, StoreError> {
        if path.exists() && !path.is_dir() {
            return Err(failed(format!("{} is not a directory", path.display())));
        }
        let shard = if path.join(CONFIG_FILE).is_file() {
            let loaded = std::panic::catch_unwind(|| EdgeShard::load(path, None))
                .map_err(|_| failed(format!("loading {} panicked", path.display())))?;
            Some(loaded.map_err(|e| failed(format!("loading {}: {e}", path.display())))?)
        } else {
            None
        };
        Ok(EdgeStore {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                shard: RwLock::new(shard),
                writes: Mutex::new(()),
                dirty: AtomicBool::new(false),
                flush_scheduled: AtomicBool::new(false),
            }),
        })
    }

    /// The directory of the store.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Persist everything written so far now, rather than within
    /// [`FLUSH_DELAY`].
    pub async fn flush(&self) -> Result<(), StoreError> {
        let inner = self.inner.clone();
        blocking(move || inner.flush_dirty()).await
    }

    /// Run `f` on the blocking pool with the shard (`None` before
    /// [`ensure`](VectorStore::ensure)), shared with other calls; with
    /// the write lock held if `write`.
    async fn with_shard<T, F>(&self, write: bool, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Arc<Inner>, Option<&EdgeShard>) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        blocking(move || {
            let slot = inner.read();
            let _writing =
                write.then(|| inner.writes.lock().unwrap_or_else(PoisonError::into_inner));
            f(&inner, slot.as_ref())
        })
        .await
    }

    /// Run `f` on the blocking pool with the shard slot to itself.
    async fn exclusive<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner, &mut Option<EdgeShard>) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        blocking(move || {
            let mut slot = inner.write();
            f(&inner, &mut slot)
        })
        .await
    }
}

/// Run `f` on the blocking pool; a panic becomes an error.
async fn blocking<T, F>(f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| failed(format!("call failed: {e}")))?
}

fn flush(path: &Path, shard: &EdgeShard) -> Result<(), StoreError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| shard.flush()))
        .map_err(|_| failed(format!("flushing {} failed", path.display())))
}

fn config(dim: usize) -> EdgeConfig {
    EdgeConfig::builder()
        .vector(
            DENSE,
            EdgeVectorParams::builder(dim, Distance::Cosine).build(),
        )
        .sparse_vector(
            SPARSE,
            EdgeSparseVectorParams::builder()
                .modifier(Modifier::Idf)
                .build(),
        )
        .build()
}

/// The dense dimension of an existing shard, checking its layout.
fn shard_dim(shard: &EdgeShard) -> Result<usize, StoreError> {
    let config = shard.config();
    let dense = config.vectors.get(DENSE).ok_or_else(|| {
        failed(format!(
            "collection has no dense vector named {DENSE:?} (not created by respite?)"
        ))
    })?;
    if !config.sparse_vectors.contains_key(SPARSE) {
        return Err(failed(format!(
            "collection has no sparse vector named {SPARSE:?} (not created by respite?)"
        )));
    }
    Ok(dense.size)
}

/// Create the payload indexes (a no-op for those that exist).
fn create_indexes(shard: &EdgeShard) -> Result<(), StoreError> {
    for (field, kind) in PAYLOAD_INDEXES {
        let schema = match kind {
            IndexKind::Keyword => PayloadSchemaType::Keyword,
            IndexKind::Float => PayloadSchemaType::Float,
        };
        shard
            .update(UpdateOperation::FieldIndexOperation(
                FieldIndexOperations::CreateIndex(CreateIndex {
                    field_name: path(field)?,
                    field_schema: Some(PayloadFieldSchema::FieldType(schema)),
                }),
            ))
            .map_err(|e| failed(format!("creating the index on {field}: {e}")))?;
    }
    Ok(())
}

fn path(key: &str) -> Result<JsonPath, StoreError> {
    key.parse()
        .map_err(|()| failed(format!("invalid payload path {key:?}")))
}

fn sparse(s: Sparse) -> Result<SparseVector, StoreError> {
    SparseVector::new(s.indices, s.values).map_err(|e| failed(format!("sparse vector: {e}")))
}

fn point(p: VectorPoint) -> Result<PointStruct, StoreError> {
    let payload = Value::Object(stored_payload(&p));
    let vectors = Vectors::new_named([
        (DENSE, EdgeVector::new_dense(p.dense)),
        (SPARSE, EdgeVector::from(sparse(p.sparse)?)),
    ]);
    Ok(PointStruct::new(point_id(&p.id), vectors, payload))
}

fn condition(c: Cond) -> Result<Condition, StoreError> {
    let value = |key: &str, v| -> Result<Condition, StoreError> {
        Ok(Condition::Field(FieldCondition::new_match(
            path(key)?,
            Match::new_value(v),
        )))
    };
    match c {
        Cond::Keyword { key, value: v } => value(&key, ValueVariants::String(v)),
        Cond::Integer { key, value: v } => value(&key, ValueVariants::Integer(v)),
        Cond::Bool { key, value: v } => value(&key, ValueVariants::Bool(v)),
        Cond::Range { key, gte, lte } => Ok(Condition::Field(FieldCondition::new_range(
            path(&key)?,
            Range {
                gte: gte.map(OrderedFloat),
                lte: lte.map(OrderedFloat),
                gt: None,
                lt: None,
            },
        ))),
        Cond::AnyOf(any) => Ok(Condition::Filter(Filter {
            should: Some(any.into_iter().map(condition).collect::<Result<_, _>>()?),
            ..Filter::new()
        })),
    }
}

fn filter(q: &VectorQuery) -> Result<Option<Filter>, StoreError> {
    let must: Vec<Condition> = conditions(&q.filter)
        .into_iter()
        .map(condition)
        .collect::<Result<_, _>>()?;
    Ok((!must.is_empty()).then(|| Filter {
        must: Some(must),
        ..Filter::new()
    }))
}

fn nearest(query: VectorInternal, using: &str) -> ScoringQuery {
    ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery::new(query, using)))
}

fn prefetch(query: ScoringQuery, limit: usize) -> Prefetch {
    Prefetch {
        prefetches: vec![],
        query: Some(query),
        limit,
        params: None,
        filter: None,
        score_threshold: None,
    }
}

/// The request for `plan`, and whether its hits are fused (else they are
/// ranked, and only the offset remains to skip).
///
/// qdrant-edge 0.7 fetches `limit + offset` for a query request and
/// leaves skipping the offset to its caller, so requests here ask for the
/// first `limit + offset` hits and [`EdgeStore::search`] pages.
fn request(plan: Plan, q: &VectorQuery) -> Result<(QueryRequest, bool), StoreError> {
    let ranked = q.limit.saturating_add(q.offset);
    let (prefetches, query, limit, fused) = match plan {
        Plan::Dense(d) => (
            vec![],
            nearest(VectorInternal::Dense(d), DENSE),
            ranked,
            false,
        ),
        Plan::Sparse(s) => (
            vec![],
            nearest(VectorInternal::Sparse(sparse(s)?), SPARSE),
            ranked,
            false,
        ),
        Plan::Hybrid {
            dense,
            sparse: s,
            prefetch: n,
            fused,
        } => (
            vec![
                prefetch(nearest(VectorInternal::Dense(dense), DENSE), n),
                prefetch(nearest(VectorInternal::Sparse(sparse(s)?), SPARSE), n),
            ],
            ScoringQuery::Fusion(Fusion::Rrf {
                k: RRF_K,
                weights: None,
            }),
            fused,
            true,
        ),
    };
    let request = QueryRequest {
        prefetches,
        query: Some(query),
        // The root filter reaches every prefetch.
        filter: filter(q)?,
        score_threshold: None,
        limit,
        offset: 0,
        params: None,
        with_vector: WithVector::Bool(false),
        with_payload: WithPayloadInterface::Fields(vec![path(ID_FIELD)?]),
    };
    Ok((request, fused))
}

fn hits(points: Vec<ScoredPoint>) -> Vec<Hit> {
    points
        .into_iter()
        .filter_map(|p| {
            let id = p.payload?.0.get(ID_FIELD)?.as_str()?.to_owned();
            Some(Hit { id, score: p.score })
        })
        .collect()
}

fn missing(path: &Path) -> StoreError {
    failed(format!(
        "no collection at {} yet (ensure creates it)",
        path.display()
    ))
}

impl VectorStore for EdgeStore {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn ensure(&self, dim: usize) -> Result<(), StoreError> {
        if dim == 0 {
            return Err(failed("dense dimension must be at least 1"));
        }
        self.exclusive(move |inner, slot| {
            let path = &inner.path;
            if let Some(shard) = slot.as_ref() {
                let have = shard_dim(shard)?;
                if have != dim {
                    return Err(dim_mismatch(NAME, have, dim));
                }
            } else {
                std::fs::create_dir_all(path)
                    .map_err(|e| failed(format!("creating {}: {e}", path.display())))?;
                let shard = EdgeShard::new(path, config(dim))
                    .map_err(|e| failed(format!("creating {}: {e}", path.display())))?;
                *slot = Some(shard);
            }
            let shard = slot.as_ref().ok_or_else(|| missing(path))?;
            create_indexes(shard)?;
            inner.flushed(shard)
        })
        .await
    }

    async fn upsert(&self, points: Vec<VectorPoint>) -> Result<(), StoreError> {
        if points.is_empty() {
            return Ok(());
        }
        let runtime = Handle::current();
        self.with_shard(true, move |inner, shard| {
            let shard = shard.ok_or_else(|| missing(&inner.path))?;
            let points = points
                .into_iter()
                .map(|p| point(p).map(Into::into))
                .collect::<Result<Vec<_>, _>>()?;
            shard
                .update(UpdateOperation::PointOperation(
                    PointOperations::UpsertPoints(PointInsertOperations::PointsList(points)),
                ))
                .map_err(failed)?;
            inner.wrote(&runtime);
            Ok(())
        })
        .await
    }

    async fn delete(&self, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<PointId> = ids.iter().map(|id| point_id(id).into()).collect();
        let runtime = Handle::current();
        self.with_shard(true, move |inner, shard| {
            let Some(shard) = shard else {
                return Ok(());
            };
            shard
                .update(UpdateOperation::PointOperation(
                    PointOperations::DeletePoints { ids },
                ))
                .map_err(failed)?;
            inner.wrote(&runtime);
            Ok(())
        })
        .await
    }

    async fn search(&self, q: &VectorQuery) -> Result<Vec<Hit>, StoreError> {
        let Some(plan) = plan(q).map_err(failed)? else {
            return Ok(Vec::new());
        };
        let (request, fused) = request(plan, q)?;
        let (limit, offset) = (q.limit, q.offset);
        self.with_shard(false, move |_, shard| {
            let Some(shard) = shard else {
                return Ok(Vec::new());
            };
            let found = hits(shard.query(request).map_err(failed)?);
            Ok(if fused {
                page_fused(found, limit, offset)
            } else {
                found.into_iter().skip(offset).take(limit).collect()
            })
        })
        .await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        self.with_shard(false, |_, shard| {
            let Some(shard) = shard else {
                return Ok(0);
            };
            shard
                .count(CountRequest {
                    filter: None,
                    exact: true,
                })
                .map(|n| n as u64)
                .map_err(failed)
        })
        .await
    }

    /// Recreates the shard with the same configuration and indexes, which
    /// also discards its WAL (qdrant-edge never truncates it otherwise).
    async fn clear(&self) -> Result<(), StoreError> {
        self.exclusive(|inner, slot| {
            let path = &inner.path;
            let Some(shard) = slot.take() else {
                return Ok(());
            };
            let config = shard.config().clone();
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(shard)))
                .map_err(|_| failed(format!("flushing {} failed", path.display())))?;
            qdrant_edge::internal::clear_data(path)
                .map_err(|e| failed(format!("clearing {}: {e}", path.display())))?;
            let shard = EdgeShard::new(path, config)
                .map_err(|e| failed(format!("recreating {}: {e}", path.display())))?;
            let shard = &*slot.insert(shard);
            create_indexes(shard)?;
            inner.flushed(shard)
        })
        .await
    }

    /// Runs qdrant-edge's optimizers (merging segments, building the HNSW
    /// index of large ones) until they have nothing left to do. Writes
    /// wait meanwhile; searches do not.
    async fn optimize(&self) -> Result<(), StoreError> {
        self.with_shard(true, |inner, shard| {
            let Some(shard) = shard else {
                return Ok(());
            };
            shard.optimize().map_err(failed)?;
            // A segment created by the optimizer for new writes starts
            // without the payload indexes; give it them.
            create_indexes(shard)?;
            inner.flushed(shard)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // The shard is in-process: reachable if its slot can be read.
        self.with_shard(false, |_, _| Ok(())).await
    }
}
