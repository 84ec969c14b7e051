//! The materials catalogue: records, embeddings, cache keys, and the
//! read-through service behind `MSEARCH`, `MGET.MATERIAL` and the
//! catalogue writes.
//!
//! [`Materials`] is what the server holds: the catalogue once its stores
//! are open (they are opened in the background, retried until they
//! answer, so respite starts even when a store is down), and the reason
//! while they are not.

pub mod bulk;
pub mod embed;
pub mod flight;
pub mod import;
pub mod keys;
pub mod l2;
pub mod model;
pub mod recorder;
pub mod reply;
pub mod seed;
pub mod service;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::config::materials::{EmbedderKind, MaterialsConfig, VectorBackend};
use crate::store::relational::Relational;
use crate::store::vector::edge::EdgeStore;
use crate::store::vector::qdrant::QdrantStore;
use crate::store::vector::Vector;
use crate::store::{timed, RelationalStore, StoreError, StoreOp, VectorStore};
use embed::{Bm25, Embedder, HashEmbedder, HttpEmbedder};
pub use service::{Catalogue, Counters, Tiers, Ttls};

/// Why a catalogue command failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MaterialsError {
    /// A store or the embedder failed (`-BACKEND`).
    #[error("{0}")]
    Backend(String),
    /// The upstream Redis failed where it is needed (`-UPSTREAM`).
    #[error("{0}")]
    Upstream(#[from] crate::error::UpstreamError),
}

/// The catalogue as the server holds it.
#[derive(Debug)]
pub struct Materials {
    enabled: bool,
    open: OnceLock<Arc<Catalogue>>,
    last_error: Mutex<String>,
    /// Tier counters (live before the stores open, for INFO).
    pub counters: Arc<Counters>,
    /// Cache lifetimes, live (`materials.*_ttl_secs`); the catalogue
    /// shares them once open.
    pub ttls: Arc<Ttls>,
}

impl Materials {
    /// Not open yet (or disabled by config).
    pub fn new(cfg: &MaterialsConfig) -> Self {
        Materials {
            enabled: cfg.enabled,
            open: OnceLock::new(),
            last_error: Mutex::new("stores are being opened".into()),
            counters: Arc::default(),
            ttls: Arc::new(Ttls::new(cfg)),
        }
    }

    /// Whether the catalogue is configured on (`materials.enabled`).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The open catalogue, or why there is none.
    pub fn get(&self) -> Result<&Arc<Catalogue>, MaterialsError> {
        if !self.enabled {
            return Err(MaterialsError::Backend(
                "the materials catalogue is disabled (materials.enabled = false)".into(),
            ));
        }
        self.open.get().ok_or_else(|| {
            let why = self
                .last_error
                .lock()
                .map(|e| e.clone())
                .unwrap_or_default();
            MaterialsError::Backend(format!("catalogue stores not open: {why}"))
        })
    }

    /// Open the stores in the background, retrying with back-off until they
    /// answer; seed the embedded store on first start.
    pub fn open_in_background(self: &Arc<Self>, cfg: MaterialsConfig) {
        if !self.enabled {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            let mut wait = Duration::from_millis(200);
            loop {
                match open(&cfg, me.counters.clone()).await {
                    Ok(cat) => {
                        let cat = Arc::new(cat.with_ttls(me.ttls.clone()));
                        if let Err(e) = bulk::seed_if_empty(&cat).await {
                            tracing::warn!(error = %e, "materials: demo seed failed");
                        }
                        let _ = me.open.set(cat);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, retry_ms = wait.as_millis() as u64, "materials: stores not available");
                        if let Ok(mut last) = me.last_error.lock() {
                            *last = e.to_string();
                        }
                    }
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(10));
            }
        });
    }
}

/// Open both stores and the embedders from config; create or migrate
/// their schema.
pub async fn open(cfg: &MaterialsConfig, counters: Arc<Counters>) -> Result<Catalogue, StoreError> {
    let timeout = Duration::from_millis(cfg.timeout_ms);
    let r = &cfg.relational;
    let relational = timed(
        &counters.stores,
        "relational store",
        StoreOp::Connect,
        timeout,
        Relational::connect(&r.url, r.max_connections),
    )
    .await?;
    timed(
        &counters.stores,
        relational.name(),
        StoreOp::Migrate,
        timeout * 6,
        relational.migrate(),
    )
    .await?;
    let v = &cfg.vector;
    let vector = match v.backend {
        VectorBackend::Edge => Vector::Edge(EdgeStore::open(std::path::Path::new(&v.path))?),
        VectorBackend::Qdrant => {
            let key = (!v.api_key.is_empty()).then_some(v.api_key.as_str());
            Vector::Qdrant(QdrantStore::connect(&v.url, &v.collection, key, timeout).await?)
        }
    };
    timed(
        &counters.stores,
        vector.name(),
        StoreOp::Ensure,
        timeout * 6,
        vector.ensure(cfg.embedder.dim),
    )
    .await?;
    let e = &cfg.embedder;
    let embedder = match e.kind {
        EmbedderKind::Builtin => Embedder::Builtin(
            HashEmbedder::new(e.dim).map_err(|err| StoreError::failed("embedder", err))?,
        ),
        EmbedderKind::Http => Embedder::Http(
            HttpEmbedder::new(&e.url, &e.model, e.dim, timeout)
                .map_err(|err| StoreError::failed("embedder", err))?,
        ),
    };
    let bm25 = Bm25::new().map_err(|err| StoreError::failed("bm25", err))?;
    Ok(Catalogue::new(
        cfg.clone(),
        relational,
        vector,
        embedder,
        bm25,
        counters,
    ))
}
