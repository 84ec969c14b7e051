//! One contract for every relational store, run against SQLite (a file in a
//! temporary directory, and in memory) and Postgres (a database of its own,
//! created for the run and dropped afterwards, on failure too).
//!
//! Postgres: `postgres://postgres@127.0.0.1:5432` (trust auth), or the
//! server URL (no database path) in `RESPITE_TEST_PG_URL`.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, TimeZone, Utc};
use respite::materials::model::Material;
use respite::store::relational::Relational;
use respite::store::{RelationalStore, StoreError};
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

const DEFAULT_PG_SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// A fixed instant with microseconds (what both stores keep).
fn at(secs: i64, micros: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, micros * 1000)
        .single()
        .expect("valid timestamp")
}

fn material(id: &str, price: f64, t: DateTime<Utc>) -> Material {
    Material {
        id: id.to_string(),
        name: format!("Цемент М500 «Евро» {id}"),
        description: "Портландцемент, мешок 50 кг.\nДля фундаментов — и стяжки.".to_string(),
        category: "Сухие смеси".to_string(),
        unit: "мешок".to_string(),
        price,
        supplier: "ООО «Стройресурс»".to_string(),
        sku: format!("SKU-{id}"),
        attributes: json!({
            "вес_кг": 50,
            "colour": "серый",
            "ratio": 0.375,
            "nested": {"list": [1, 2.5, null, true, "ё"]}
        })
        .as_object()
        .cloned()
        .expect("object"),
        created_at: t,
        updated_at: t,
    }
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Everything a relational store promises, in one pass over an empty store.
async fn contract<S: RelationalStore>(store: &S) {
    store.migrate().await.expect("first migrate");
    store.migrate().await.expect("second migrate is a no-op");
    store.ping().await.expect("ping");
    assert_eq!(store.count().await.expect("count"), 0);
    empty_inputs(store).await;
    round_trip(store).await;
    update_keeps_created_at(store).await;
    failed_batch_leaves_nothing(store).await;
    duplicate_ids_in_a_batch(store).await;
    bulk_and_paging(store).await;
    delete_counts_what_existed(store).await;
}

async fn empty_inputs<S: RelationalStore>(store: &S) {
    store.upsert(&[]).await.expect("empty upsert");
    assert!(store.get_many(&[]).await.expect("empty get").is_empty());
    assert_eq!(store.delete(&[]).await.expect("empty delete"), 0);
    assert!(store.page(None, 10).await.expect("empty page").is_empty());
}

async fn round_trip<S: RelationalStore>(store: &S) {
    let t0 = at(0, 123_456);
    let batch = vec![
        material("a", 420.55, t0),
        material("b", 0.0, t0),
        material("c", 1e-3, t0),
    ];
    store.upsert(&batch).await.expect("upsert");
    let got = store
        .get_many(&ids(&["c", "missing", "a", "b", "a"]))
        .await
        .expect("get_many");
    let want = vec![
        Some(batch[2].clone()),
        None,
        Some(batch[0].clone()),
        Some(batch[1].clone()),
        Some(batch[0].clone()),
    ];
    assert_eq!(got, want);
    assert_eq!(store.count().await.expect("count"), 3);
}

async fn update_keeps_created_at<S: RelationalStore>(store: &S) {
    let t1 = at(3600, 654_321);
    let mut a = material("a", 99.99, t1);
    a.name = "Цемент М400".to_string();
    a.attributes.insert("новое".into(), json!("значение"));
    store
        .upsert(std::slice::from_ref(&a))
        .await
        .expect("update");
    let got = store.get_many(&ids(&["a"])).await.expect("get")[0]
        .clone()
        .expect("a is there");
    assert_eq!(got.created_at, at(0, 123_456), "created_at kept");
    assert_eq!(got.updated_at, t1);
    assert_eq!(got.price, 99.99);
    assert_eq!(got.name, "Цемент М400");
    assert_eq!(got.attributes["новое"], "значение");
    assert_eq!(store.count().await.expect("count"), 3);
}

async fn failed_batch_leaves_nothing<S: RelationalStore>(store: &S) {
    let before = store.get_many(&ids(&["b"])).await.expect("get")[0].clone();
    let t2 = at(7200, 0);
    let mut bad_price = material("bad-price", 1.0, t2);
    bad_price.price = -1.0; // bypasses validation; the schema refuses it
    let mut bad_name = material("bad-name", 1.0, t2);
    bad_name.name = String::new();
    for bad in [bad_price, bad_name] {
        let batch = vec![
            material("x-new", 5.0, t2),
            material("b", 777.0, t2),
            bad.clone(),
            material("y-new", 6.0, t2),
        ];
        let err = store.upsert(&batch).await.expect_err("constraint violated");
        assert!(
            matches!(&err, StoreError::Failed { store: s, .. } if *s == store.name()),
            "{err:?}"
        );
        let got = store
            .get_many(&ids(&["x-new", "b", &bad.id, "y-new"]))
            .await
            .expect("get");
        assert_eq!(got, vec![None, before.clone(), None, None], "{err}");
        assert_eq!(store.count().await.expect("count"), 3);
    }
}

async fn duplicate_ids_in_a_batch<S: RelationalStore>(store: &S) {
    let t = at(10, 0);
    let batch = vec![material("dup", 1.0, t), material("dup", 2.0, t)];
    store.upsert(&batch).await.expect("upsert");
    let got = store.get_many(&ids(&["dup"])).await.expect("get");
    assert_eq!(got, vec![Some(batch[1].clone())], "the last version wins");
    assert_eq!(store.delete(&ids(&["dup"])).await.expect("delete"), 1);
}

async fn bulk_and_paging<S: RelationalStore>(store: &S) {
    let t = at(20, 1);
    // Ids whose byte order differs from a locale's ("A" < "_" < "a").
    let mut odd: Vec<Material> = ["Z", "_x", "0", "a.b", ":c", "A-1", "a-1", "ab"]
        .iter()
        .map(|id| material(id, 3.5, t))
        .collect();
    let bulk: Vec<Material> = (0..1200)
        .map(|i| material(&format!("bulk-{i:05}"), i as f64 / 4.0, t))
        .collect();
    store.upsert(&bulk).await.expect("bulk upsert");
    store.upsert(&odd).await.expect("odd upsert");
    odd.extend(bulk);
    let total = 3 + odd.len();
    assert_eq!(store.count().await.expect("count") as usize, total);

    let mut want: Vec<String> = odd.iter().map(|m| m.id.clone()).collect();
    want.extend(ids(&["a", "b", "c"]));
    want.sort();
    let mut walked: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.page(after.as_deref(), 97).await.expect("page");
        assert!(page.len() <= 97);
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        walked.extend(page.into_iter().map(|m| m.id));
    }
    assert_eq!(walked, want, "every id once, in byte order");

    // More ids than one SQLite statement takes, in a scrambled order.
    let mut asked: Vec<String> = want.iter().rev().cloned().collect();
    asked.insert(600, "absent".to_string());
    let got = store.get_many(&asked).await.expect("get_many");
    for (id, m) in asked.iter().zip(&got) {
        match m {
            Some(m) => assert_eq!(&m.id, id),
            None => assert_eq!(id, "absent"),
        }
    }
    let b600 = got.iter().flatten().find(|m| m.id == "bulk-00600");
    assert_eq!(b600.map(|m| m.price), Some(150.0));
}

async fn delete_counts_what_existed<S: RelationalStore>(store: &S) {
    let before = store.count().await.expect("count");
    let n = store
        .delete(&ids(&["a", "missing", "b", "a"]))
        .await
        .expect("delete");
    assert_eq!(n, 2);
    assert_eq!(store.count().await.expect("count"), before - 2);
    let got = store.get_many(&ids(&["a", "b", "c"])).await.expect("get");
    assert!(got[0].is_none() && got[1].is_none() && got[2].is_some());
    let bulk: Vec<String> = (0..1200).map(|i| format!("bulk-{i:05}")).collect();
    assert_eq!(store.delete(&bulk).await.expect("bulk delete"), 1200);
    assert_eq!(store.count().await.expect("count"), before - 2 - 1200);
}

#[tokio::test]
async fn sqlite_file_meets_the_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The directory of the file does not exist yet: connect creates it.
    let path = dir.path().join("nested/dir/materials.db");
    let store = Relational::connect(&format!("sqlite://{}", path.display()), 4)
        .await
        .expect("connect");
    assert_eq!(store.name(), "sqlite");
    contract(&store).await;
    assert!(path.exists());
}

#[tokio::test]
async fn sqlite_in_memory_meets_the_contract() {
    let store = Relational::connect("sqlite::memory:", 4)
        .await
        .expect("connect");
    contract(&store).await;
}

#[tokio::test]
async fn postgres_meets_the_contract() {
    let db = PgDatabase::create().await;
    let store = Relational::connect(&db.url(), 4).await.expect("connect");
    assert!(matches!(store, Relational::Postgres(_)));
    assert_eq!(store.name(), "postgres");
    contract(&store).await;
}

#[tokio::test]
async fn connect_refuses_an_unknown_scheme() {
    let err = Relational::connect("mysql://user:s3cret@localhost/db", 1)
        .await
        .expect_err("unsupported");
    let text = err.to_string();
    assert!(text.contains("unsupported URL scheme \"mysql\""), "{text}");
    assert!(
        !text.contains("s3cret"),
        "the password is not echoed: {text}"
    );
    assert!(Relational::connect("", 1).await.is_err());
}

#[tokio::test]
async fn connect_fails_fast_when_postgres_is_unreachable() {
    let call = Relational::connect("postgres://postgres@127.0.0.1:1/nothing", 2);
    let result = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("connect gives up within 10 s");
    match result {
        Err(StoreError::Failed { store, reason }) => {
            assert_eq!(store, "postgres");
            assert!(reason.contains("127.0.0.1:1"), "{reason}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// A database of this test's own on the Postgres server; dropped (with any
/// connections still open to it) when this value is, also while a failing
/// test unwinds.
struct PgDatabase {
    admin: PgConnectOptions,
    url: String,
    name: String,
}

impl PgDatabase {
    async fn create() -> PgDatabase {
        let server =
            std::env::var("RESPITE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_SERVER.into());
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_nanos();
        let name = format!("respite_test_{}_{nanos}", std::process::id());
        let (base, query) = match server.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (server.as_str(), String::new()),
        };
        let url = format!("{}/{name}{query}", base.trim_end_matches('/'));
        let admin = PgConnectOptions::from_str(&server)
            .expect("RESPITE_TEST_PG_URL is a postgres:// URL")
            .database("postgres");
        let mut conn = admin.connect().await.unwrap_or_else(|e| {
            panic!("Postgres at {server} (set RESPITE_TEST_PG_URL) is needed: {e}")
        });
        conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .expect("create the test database");
        let _ = conn.close().await;
        PgDatabase { admin, url, name }
    }

    fn url(&self) -> String {
        self.url.clone()
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop may run inside the test's runtime, which cannot block: use a
        // thread with a runtime of its own.
        let outcome = std::thread::spawn(move || -> Result<(), String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let mut conn = admin.connect().await.map_err(|e| e.to_string())?;
                conn.execute(sql.as_str())
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = conn.close().await;
                Ok(())
            })
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("could not drop test database {}: panicked", self.name),
        }
    }
}
