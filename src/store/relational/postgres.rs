//! The Postgres relational store.
//!
//! Batches travel as one array per column: an upsert is
//! `INSERT … SELECT * FROM UNNEST($1::text[], …) ON CONFLICT …`, a lookup
//! `WHERE id = ANY($1)`, so a statement has a fixed number of parameters
//! whatever the batch size, and its plan is prepared once per connection.

use std::fmt::Display;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::types::Json;
use sqlx::{Connection, PgConnection};

use super::{
    in_order_of, last_of_each_id, stored_time, MaterialRow, ACQUIRE_TIMEOUT, CONNECT_TIMEOUT,
};
use crate::materials::model::Material;
use crate::store::{RelationalStore, StoreError};

/// The store's name in errors and health reports.
const NAME: &str = "postgres";
/// Rows per INSERT statement (all inside one transaction).
const ROWS_PER_INSERT: usize = 1000;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

fn fail(e: impl Display) -> StoreError {
    StoreError::failed(NAME, e)
}

/// Materials in a Postgres database, through a connection pool.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connect to `url` (`postgres://user[:password]@host[:port]/db`) with a
    /// pool of up to `max_connections`. One connection is opened first, so
    /// an unreachable server or a refused login fails here, with its
    /// reason, within a few seconds.
    pub async fn connect(url: &str, max_connections: u32) -> Result<PgStore, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| fail(format!("bad URL: {e}")))?;
        let target = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        );
        match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
            Err(_) => {
                return Err(fail(format!(
                    "cannot connect to {target}: no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )))
            }
            Ok(Err(e)) => return Err(fail(format!("cannot connect to {target}: {e}"))),
            Ok(Ok(probe)) => {
                // The probe only proved the server is there.
                let _ = probe.close().await;
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(PgStore { pool })
    }
}

/// A batch as one array per column, for `UNNEST`.
#[derive(Default)]
struct Columns<'a> {
    id: Vec<&'a str>,
    name: Vec<&'a str>,
    description: Vec<&'a str>,
    category: Vec<&'a str>,
    unit: Vec<&'a str>,
    price: Vec<f64>,
    supplier: Vec<&'a str>,
    sku: Vec<&'a str>,
    attributes: Vec<Json<&'a Map<String, Value>>>,
    created_at: Vec<DateTime<Utc>>,
    updated_at: Vec<DateTime<Utc>>,
}

impl<'a> Columns<'a> {
    fn of(rows: &[&'a Material]) -> Columns<'a> {
        let mut c = Columns::default();
        for m in rows {
            c.id.push(&m.id);
            c.name.push(&m.name);
            c.description.push(&m.description);
            c.category.push(&m.category);
            c.unit.push(&m.unit);
            c.price.push(m.price);
            c.supplier.push(&m.supplier);
            c.sku.push(&m.sku);
            c.attributes.push(Json(&m.attributes));
            c.created_at.push(stored_time(m.created_at));
            c.updated_at.push(stored_time(m.updated_at));
        }
        c
    }
}

const UPSERT: &str = concat!(
    "INSERT INTO materials (",
    columns!(),
    ") SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
     $6::float8[], $7::text[], $8::text[], $9::jsonb[], $10::timestamptz[], \
     $11::timestamptz[])",
    on_conflict_update!()
);

impl RelationalStore for PgStore {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(fail)
    }

    async fn upsert(&self, batch: &[Material]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let rows = last_of_each_id(batch);
        let mut tx = self.pool.begin().await.map_err(fail)?;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let c = Columns::of(chunk);
            sqlx::query(UPSERT)
                .bind(c.id)
                .bind(c.name)
                .bind(c.description)
                .bind(c.category)
                .bind(c.unit)
                .bind(c.price)
                .bind(c.supplier)
                .bind(c.sku)
                .bind(c.attributes)
                .bind(c.created_at)
                .bind(c.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)
    }

    async fn get_many(&self, ids: &[String]) -> Result<Vec<Option<Material>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        const SQL: &str = concat!("SELECT ", columns!(), " FROM materials WHERE id = ANY($1)");
        let rows: Vec<MaterialRow> = sqlx::query_as(SQL)
            .bind(ids)
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        Ok(in_order_of(
            ids,
            rows.into_iter().map(Material::from).collect(),
        ))
    }

    async fn delete(&self, ids: &[String]) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query("DELETE FROM materials WHERE id = ANY($1)")
            .bind(ids)
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(done.rows_affected())
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM materials")
            .fetch_one(&self.pool)
            .await
            .map_err(fail)?;
        Ok(n.max(0) as u64)
    }

    async fn page(&self, after: Option<&str>, limit: u32) -> Result<Vec<Material>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM materials WHERE id > $1 ORDER BY id LIMIT $2"
        );
        // Every id is non-empty, so "" is before the first.
        let rows: Vec<MaterialRow> = sqlx::query_as(SQL)
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        Ok(rows.into_iter().map(Material::from).collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(fail)
            .map(drop)
    }
}
