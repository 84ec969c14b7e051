//! Relational stores: Postgres and SQLite through sqlx.
//!
//! [`Relational::connect`] picks the backend from the URL's scheme; a
//! [`Relational`] implements [`RelationalStore`] by delegating to
//! [`postgres::PgStore`] or [`sqlite::SqliteStore`]. The schema lives in
//! `migrations/postgres` and `migrations/sqlite` and is embedded in the
//! binary. What both backends share is here: the column list, the upsert
//! clause, the row → [`Material`] conversion, batch de-duplication and the
//! reordering of fetched rows into the caller's order.
//!
//! Timestamps are stored with microsecond precision (Postgres's own), in
//! both backends, so a record reads back the same from either.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;

use super::{RelationalStore, StoreError};
use crate::materials::model::Material;

/// The columns of `materials`, in the order every query names them.
macro_rules! columns {
    () => {
        "id, name, description, category, unit, price, supplier, sku, attributes, \
         created_at, updated_at"
    };
}

/// What an upsert does to an existing id: everything but `created_at` is
/// replaced. Postgres and SQLite spell it the same way.
macro_rules! on_conflict_update {
    () => {
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
         description = excluded.description, category = excluded.category, \
         unit = excluded.unit, price = excluded.price, supplier = excluded.supplier, \
         sku = excluded.sku, attributes = excluded.attributes, \
         updated_at = excluded.updated_at"
    };
}

pub mod postgres;
pub mod sqlite;

/// How long a first connection may take before connecting gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a call may wait for a free pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The configured relational store, whichever backend it is.
#[derive(Clone, Debug)]
pub enum Relational {
    /// A Postgres server.
    Postgres(postgres::PgStore),
    /// An embedded SQLite file (or in-memory database).
    Sqlite(sqlite::SqliteStore),
}

impl Relational {
    /// Open the store at `url` with a pool of up to `max_connections`:
    /// `postgres://…` / `postgresql://…` for Postgres, `sqlite:…` for
    /// SQLite (`sqlite://data/materials.db`, `sqlite::memory:`). Fails at
    /// once, with the reason, when the URL is of another kind or the store
    /// is unreachable.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Relational, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let store = postgres::PgStore::connect(url, max_connections).await?;
            Ok(Relational::Postgres(store))
        } else if url.starts_with("sqlite:") {
            let store = sqlite::SqliteStore::connect(url, max_connections).await?;
            Ok(Relational::Sqlite(store))
        } else {
            // Only the scheme is echoed: the rest may hold a password.
            let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
            Err(StoreError::failed(
                "relational",
                format!(
                    "unsupported URL scheme {scheme:?}: expected postgres://…, \
                     postgresql://… or sqlite:…"
                ),
            ))
        }
    }
}

impl RelationalStore for Relational {
    fn name(&self) -> &'static str {
        match self {
            Relational::Postgres(s) => s.name(),
            Relational::Sqlite(s) => s.name(),
        }
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Relational::Postgres(s) => s.migrate().await,
            Relational::Sqlite(s) => s.migrate().await,
        }
    }

    async fn upsert(&self, batch: &[Material]) -> Result<(), StoreError> {
        match self {
            Relational::Postgres(s) => s.upsert(batch).await,
            Relational::Sqlite(s) => s.upsert(batch).await,
        }
    }

    async fn get_many(&self, ids: &[String]) -> Result<Vec<Option<Material>>, StoreError> {
        match self {
            Relational::Postgres(s) => s.get_many(ids).await,
            Relational::Sqlite(s) => s.get_many(ids).await,
        }
    }

    async fn delete(&self, ids: &[String]) -> Result<u64, StoreError> {
        match self {
            Relational::Postgres(s) => s.delete(ids).await,
            Relational::Sqlite(s) => s.delete(ids).await,
        }
    }

    async fn count(&self) -> Result<u64, StoreError> {
        match self {
            Relational::Postgres(s) => s.count().await,
            Relational::Sqlite(s) => s.count().await,
        }
    }

    async fn page(&self, after: Option<&str>, limit: u32) -> Result<Vec<Material>, StoreError> {
        match self {
            Relational::Postgres(s) => s.page(after, limit).await,
            Relational::Sqlite(s) => s.page(after, limit).await,
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Relational::Postgres(s) => s.ping().await,
            Relational::Sqlite(s) => s.ping().await,
        }
    }
}

/// One row of `materials` as both backends decode it.
#[derive(sqlx::FromRow)]
struct MaterialRow {
    id: String,
    name: String,
    description: String,
    category: String,
    unit: String,
    price: f64,
    supplier: String,
    sku: String,
    attributes: Json<Map<String, Value>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<MaterialRow> for Material {
    fn from(r: MaterialRow) -> Material {
        Material {
            id: r.id,
            name: r.name,
            description: r.description,
            category: r.category,
            unit: r.unit,
            price: r.price,
            supplier: r.supplier,
            sku: r.sku,
            attributes: r.attributes.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A timestamp as stored: truncated to microseconds.
fn stored_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// The last record of each id in `batch`, in first-seen order: a batch
/// naming an id twice means its last version (one statement may not touch
/// a row twice in Postgres).
fn last_of_each_id(batch: &[Material]) -> Vec<&Material> {
    let mut slot: HashMap<&str, usize> = HashMap::with_capacity(batch.len());
    let mut out: Vec<&Material> = Vec::with_capacity(batch.len());
    for m in batch {
        match slot.get(m.id.as_str()) {
            Some(&i) => out[i] = m,
            None => {
                slot.insert(&m.id, out.len());
                out.push(m);
            }
        }
    }
    out
}

/// `found` (in any order) rearranged to follow `ids`, `None` where absent.
fn in_order_of(ids: &[String], found: Vec<Material>) -> Vec<Option<Material>> {
    let by_id: HashMap<String, Material> = found.into_iter().map(|m| (m.id.clone(), m)).collect();
    ids.iter().map(|id| by_id.get(id).cloned()).collect()
}
