//! The embedded SQLite relational store.
//!
//! A file database runs in WAL mode (readers never wait for the writer;
//! writers queue behind each other for up to the busy timeout) with
//! `synchronous = NORMAL`. Batches become multi-row statements of at most
//! [`ROWS_PER_STATEMENT`] rows, which keeps the bound parameters well under
//! SQLite's limit. `sqlite::memory:` is one connection that lives as long
//! as the store, since an in-memory database dies with its last connection.

use std::fmt::Display;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::types::Json;
use sqlx::{QueryBuilder, Sqlite};

use super::{in_order_of, last_of_each_id, stored_time, MaterialRow, ACQUIRE_TIMEOUT};
use crate::materials::model::Material;
use crate::store::{RelationalStore, StoreError};

/// The store's name in errors and health reports.
const NAME: &str = "sqlite";
/// Rows per multi-row INSERT, and ids per `IN (…)` list (11 and 1
/// parameters each; SQLite allows 32 766 per statement).
const ROWS_PER_STATEMENT: usize = 500;
/// How long a writer waits for another to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

fn fail(e: impl Display) -> StoreError {
    StoreError::failed(NAME, e)
}

/// Materials in an SQLite database, through a connection pool.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Open (creating it, and its directory, if missing) the database at
    /// `url` (`sqlite://path/to/file.db`, `sqlite::memory:`) with a pool of
    /// up to `max_connections` (one for an in-memory database).
    pub async fn connect(url: &str, max_connections: u32) -> Result<SqliteStore, StoreError> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut options = SqliteConnectOptions::from_str(url)
            .map_err(|e| fail(format!("bad URL {url:?}: {e}")))?
            .create_if_missing(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        let pool = if in_memory {
            pool.max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            create_parent_dir(options.get_filename())?;
            options = options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            pool.max_connections(max_connections.max(1))
        };
        let pool = pool
            .connect_with(options)
            .await
            .map_err(|e| fail(format!("cannot open {url:?}: {e}")))?;
        Ok(SqliteStore { pool })
    }
}

fn create_parent_dir(file: &Path) -> Result<(), StoreError> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create directory {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}

/// `SELECT … WHERE id IN (?, …)` or `DELETE … WHERE id IN (?, …)` for `ids`.
fn with_ids<'a>(head: &'static str, ids: &'a [String]) -> QueryBuilder<'a, Sqlite> {
    let mut q = QueryBuilder::new(head);
    q.push(" WHERE id IN (");
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(id.as_str());
    }
    q.push(")");
    q
}

impl RelationalStore for SqliteStore {
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
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q =
                QueryBuilder::<Sqlite>::new(concat!("INSERT INTO materials (", columns!(), ") "));
            q.push_values(chunk, |mut row, m| {
                row.push_bind(m.id.as_str())
                    .push_bind(m.name.as_str())
                    .push_bind(m.description.as_str())
                    .push_bind(m.category.as_str())
                    .push_bind(m.unit.as_str())
                    .push_bind(m.price)
                    .push_bind(m.supplier.as_str())
                    .push_bind(m.sku.as_str())
                    .push_bind(Json(&m.attributes))
                    .push_bind(stored_time(m.created_at))
                    .push_bind(stored_time(m.updated_at));
            });
            q.push(on_conflict_update!());
            q.build().execute(&mut *tx).await.map_err(fail)?;
        }
        tx.commit().await.map_err(fail)
    }

    async fn get_many(&self, ids: &[String]) -> Result<Vec<Option<Material>>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let head = concat!("SELECT ", columns!(), " FROM materials");
            let rows: Vec<MaterialRow> = with_ids(head, chunk)
                .build_query_as()
                .fetch_all(&self.pool)
                .await
                .map_err(fail)?;
            found.extend(rows.into_iter().map(Material::from));
        }
        Ok(in_order_of(ids, found))
    }

    async fn delete(&self, ids: &[String]) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await.map_err(fail)?;
        let mut deleted = 0;
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let done = with_ids("DELETE FROM materials", chunk)
                .build()
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            deleted += done.rows_affected();
        }
        tx.commit().await.map_err(fail)?;
        Ok(deleted)
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
            " FROM materials WHERE id > ? ORDER BY id LIMIT ?"
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
