//! The two backends of the materials catalogue, behind one trait each.
//!
//! [`RelationalStore`] holds the records (Postgres in production, SQLite
//! embedded); [`VectorStore`] holds each record's embeddings and the payload
//! fields searches filter on (Qdrant over gRPC in production, qdrant-edge
//! embedded). Nothing here knows RESP, caches or clients. Every call made
//! through [`timed`] has a deadline, and every failure is a [`StoreError`]
//! naming the store.

pub mod health;
pub mod relational;
pub mod vector;

use std::future::Future;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::materials::model::Material;

/// Why a store call failed. The message names the store, so a client's
/// `-BACKEND …` error says which one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No answer within the configured timeout.
    #[error("{store} timed out after {ms} ms")]
    Timeout {
        /// The store (`postgres`, `sqlite`, `qdrant`, `qdrant-edge`).
        store: &'static str,
        /// The timeout that elapsed.
        ms: u64,
    },
    /// The store answered with an error or could not be reached.
    #[error("{store}: {reason}")]
    Failed {
        /// The store.
        store: &'static str,
        /// What it said.
        reason: String,
    },
}

impl StoreError {
    /// A failure of `store` for `reason`.
    pub fn failed(store: &'static str, reason: impl std::fmt::Display) -> Self {
        StoreError::Failed {
            store,
            reason: reason.to_string(),
        }
    }
}

/// What a store call does: the `op` label of its latency histogram, a
/// fixed set so the label stays bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOp {
    /// Open the connection or files.
    Connect,
    /// Create or upgrade the relational schema.
    Migrate,
    /// Create the vector collection.
    Ensure,
    /// Read records by id.
    Get,
    /// Insert or update records or points.
    Upsert,
    /// Remove records or points.
    Delete,
    /// Vector search.
    Search,
    /// Count records or points.
    Count,
    /// Walk the records (reindex).
    Page,
    /// Remove every point (reindex).
    Clear,
    /// Build vector indexes.
    Optimize,
    /// A health round trip.
    Ping,
    /// Embed query or record text.
    Embed,
    /// Undo a write the other store refused.
    Rollback,
}

impl StoreOp {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreOp::Connect => "connect",
            StoreOp::Migrate => "migrate",
            StoreOp::Ensure => "ensure",
            StoreOp::Get => "get",
            StoreOp::Upsert => "upsert",
            StoreOp::Delete => "delete",
            StoreOp::Search => "search",
            StoreOp::Count => "count",
            StoreOp::Page => "page",
            StoreOp::Clear => "clear",
            StoreOp::Optimize => "optimize",
            StoreOp::Ping => "ping",
            StoreOp::Embed => "embed",
            StoreOp::Rollback => "rollback",
        }
    }
}

/// Run a store call with a deadline; a late answer becomes
/// [`StoreError::Timeout`]. Every call's duration, whatever its outcome,
/// goes to the store latency histogram under `store` and `op`, and its
/// outcome to the server's `health` table.
pub async fn timed<T>(
    health: &health::StoreHealth,
    store: &'static str,
    op: StoreOp,
    timeout: Duration,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(timeout, call).await;
    let elapsed = started.elapsed();
    crate::metrics::record_store(store, op, elapsed);
    let result = match result {
        Ok(r) => r,
        Err(_) => Err(StoreError::Timeout {
            store,
            ms: timeout.as_millis() as u64,
        }),
    };
    let error = result.as_ref().err().map(|e| e as &dyn std::fmt::Display);
    health.record(store, elapsed, error);
    result
}

/// The relational store: the source of truth for materials.
pub trait RelationalStore: Send + Sync + 'static {
    /// `postgres` or `sqlite`.
    fn name(&self) -> &'static str;
    /// Create or upgrade the schema (idempotent).
    fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Insert or update `batch` in one transaction: all or nothing. An
    /// update keeps the row's `created_at`.
    fn upsert(&self, batch: &[Material]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The records for `ids`, in the same order, `None` where absent.
    fn get_many(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Option<Material>>, StoreError>> + Send;
    /// Delete `ids`; how many existed.
    fn delete(&self, ids: &[String]) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// How many records there are.
    fn count(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Up to `limit` records with ids greater than `after`, by id (to walk
    /// the whole table, as reindex does).
    fn page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Material>, StoreError>> + Send;
    /// A cheap round trip, for health checks.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A sparse vector (BM25 term weights).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sparse {
    /// Term ids, ascending.
    pub indices: Vec<u32>,
    /// Weights, one per id.
    pub values: Vec<f32>,
}

/// One material's entry in the vector store.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorPoint {
    /// The material id (the store derives its own point id from it).
    pub id: String,
    /// Dense embedding of the configured dimension.
    pub dense: Vec<f32>,
    /// BM25 sparse vector.
    pub sparse: Sparse,
    /// Fields searches filter on (`id`, `category`, `supplier`, `unit`,
    /// `price`, `sku`, `attributes`).
    pub payload: Map<String, Value>,
}

/// Which vectors a search uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SearchMode {
    /// Dense only.
    Dense,
    /// Sparse (BM25) only.
    Sparse,
    /// Both, fused by reciprocal rank.
    #[default]
    Hybrid,
}

/// Conditions every hit must meet (all of them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchFilter {
    /// `category` equals this.
    pub category: Option<String>,
    /// `supplier` equals this.
    pub supplier: Option<String>,
    /// `price` within `[min, max]`.
    pub price: Option<(f64, f64)>,
    /// Payload path (`unit`, `attributes.colour` …) equals the value (as a
    /// string, or as an integer when the value is one).
    pub fields: Vec<(String, String)>,
}

/// A vector search.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorQuery {
    /// Dense query vector (dense and hybrid modes).
    pub dense: Option<Vec<f32>>,
    /// Sparse query vector (sparse and hybrid modes).
    pub sparse: Option<Sparse>,
    /// Which vectors to use.
    pub mode: SearchMode,
    /// Conditions on the payload.
    pub filter: SearchFilter,
    /// How many hits.
    pub limit: usize,
    /// How many best hits to skip first.
    pub offset: usize,
}

/// One search hit.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The material id.
    pub id: String,
    /// Higher is better.
    pub score: f32,
}

/// The vector store: embeddings and filterable payload.
pub trait VectorStore: Send + Sync + 'static {
    /// `qdrant` or `qdrant-edge`.
    fn name(&self) -> &'static str;
    /// Create the collection (dense vectors of `dim`, cosine; a sparse
    /// vector with IDF) and the payload indexes if missing. Fails if it
    /// exists with another dimension.
    fn ensure(&self, dim: usize) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Insert or replace points.
    fn upsert(
        &self,
        points: Vec<VectorPoint>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Remove the points of `ids` (absent ids are fine).
    fn delete(&self, ids: &[String]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Best hits first.
    fn search(&self, q: &VectorQuery) -> impl Future<Output = Result<Vec<Hit>, StoreError>> + Send;
    /// How many points there are.
    fn count(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Remove every point, keeping the collection (reindex starts here).
    fn clear(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Make bulk-loaded points fast to search (build indexes); may be slow.
    fn optimize(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A cheap round trip, for health checks.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The point id a material id maps to: stable across processes and
/// versions (XXH3-64 of the id), as both Qdrant and qdrant-edge key points
/// by integer.
pub fn point_id(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}
