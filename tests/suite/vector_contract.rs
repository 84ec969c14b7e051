//! One contract for every vector store: qdrant-edge always (in a temporary
//! directory), a Qdrant server when `RESPITE_TEST_QDRANT_URL` is set (in a
//! fresh collection, dropped afterwards).

use std::io::Write;
use std::time::Duration;

use respite::store::vector::edge::{EdgeStore, FLUSH_DELAY};
use respite::store::vector::qdrant::QdrantStore;
use respite::store::vector::Vector;
use respite::store::{
    Hit, SearchFilter, SearchMode, Sparse, StoreError, VectorPoint, VectorQuery, VectorStore,
};
use serde_json::{json, Value};

const DIM: usize = 8;

/// A unit-ish vector in the plane of the first two axes: `x` along axis
/// 0, `y` along axis 1. Cosine to `(1, 0)` falls as `y` grows.
fn dense(x: f32, y: f32) -> Vec<f32> {
    let mut v = vec![0.0; DIM];
    v[0] = x;
    v[1] = y;
    v
}

fn sparse(terms: &[u32]) -> Sparse {
    Sparse {
        indices: terms.to_vec(),
        values: vec![1.0; terms.len()],
    }
}

fn weighted(terms: &[(u32, f32)]) -> Sparse {
    Sparse {
        indices: terms.iter().map(|t| t.0).collect(),
        values: terms.iter().map(|t| t.1).collect(),
    }
}

fn point(id: &str, d: Vec<f32>, terms: &[u32], payload: Value) -> VectorPoint {
    let Value::Object(payload) = payload else {
        panic!("payload must be an object")
    };
    VectorPoint {
        id: id.into(),
        dense: d,
        sparse: sparse(terms),
        payload,
    }
}

/// Six materials. By dense similarity to `(1, 0)`: m1 > m2 > … > m6. Each
/// shares sparse terms with its neighbours only: m1 {1, 2}, m2 {2, 3},
/// m3 {3, 4}, m4 {4, 5}, m5 {5, 6}, m6 {6, 7}.
fn catalogue() -> Vec<VectorPoint> {
    vec![
        point(
            "m1",
            dense(1.0, 0.0),
            &[1, 2],
            json!({"category": "timber", "supplier": "acme", "price": 10.0, "unit": "m2",
                   "attributes": {"thickness_mm": 12, "finish": "oak"}}),
        ),
        point(
            "m2",
            dense(0.9, 0.1),
            &[2, 3],
            json!({"category": "timber", "supplier": "bolt", "price": 20.0, "unit": "m2",
                   "attributes": {"thickness_mm": 18, "finish": "pine"}}),
        ),
        point(
            "m3",
            dense(0.7, 0.3),
            &[3, 4],
            json!({"category": "metal", "supplier": "acme", "price": 30.0, "unit": "kg",
                   "attributes": {"thickness_mm": "12"}}),
        ),
        point(
            "m4",
            dense(0.5, 0.5),
            &[4, 5],
            json!({"category": "metal", "supplier": "bolt", "price": 40.0, "unit": "kg"}),
        ),
        point(
            "m5",
            dense(0.3, 0.7),
            &[5, 6],
            json!({"category": "stone", "supplier": "crag", "price": 50.0, "unit": "t"}),
        ),
        point(
            "m6",
            dense(0.0, 1.0),
            &[6, 7],
            json!({"category": "stone", "supplier": "crag", "price": 60.0, "unit": "t"}),
        ),
    ]
}

fn query(mode: SearchMode, d: Option<Vec<f32>>, s: Option<Sparse>) -> VectorQuery {
    VectorQuery {
        dense: d,
        sparse: s,
        mode,
        filter: SearchFilter::default(),
        limit: 10,
        offset: 0,
    }
}

fn near_m1() -> VectorQuery {
    query(SearchMode::Dense, Some(dense(1.0, 0.0)), None)
}

fn ids(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

async fn search<V: VectorStore>(store: &V, q: &VectorQuery) -> Vec<String> {
    let hits = store.search(q).await.expect("search");
    for pair in hits.windows(2) {
        assert!(pair[0].score >= pair[1].score, "hits best first: {hits:?}");
    }
    hits.into_iter().map(|h| h.id).collect()
}

async fn filtered<V: VectorStore>(store: &V, filter: SearchFilter) -> Vec<String> {
    let q = VectorQuery {
        filter,
        ..near_m1()
    };
    search(store, &q).await
}

fn field(path: &str, value: &str) -> SearchFilter {
    SearchFilter {
        fields: vec![(path.into(), value.into())],
        ..Default::default()
    }
}

async fn pages_agree<V: VectorStore>(store: &V, q: VectorQuery, what: &str) {
    let page = |limit, offset| VectorQuery {
        limit,
        offset,
        ..q.clone()
    };
    let all = search(store, &page(4, 0)).await;
    let first = search(store, &page(2, 0)).await;
    let second = search(store, &page(2, 2)).await;
    assert_eq!(all.len(), 4, "{what}: limit 4 gives 4 hits: {all:?}");
    assert_eq!(
        [first, second].concat(),
        all,
        "{what}: offset 0 limit 2 + offset 2 limit 2 == limit 4"
    );
}

/// The contract every [`VectorStore`] meets. Starts from a store on which
/// `ensure` was never called; leaves it empty.
async fn contract<V: VectorStore>(store: &V) {
    // ensure: idempotent; another dimension fails, naming both.
    store.ensure(DIM).await.expect("ensure");
    store.ensure(DIM).await.expect("ensure again");
    let err = store.ensure(DIM * 2).await.expect_err("another dimension");
    let msg = err.to_string();
    assert!(
        msg.contains(&DIM.to_string()) && msg.contains(&(DIM * 2).to_string()),
        "the error names both dimensions: {msg}"
    );
    assert!(
        msg.contains(store.name()),
        "the error names the store: {msg}"
    );
    assert_eq!(store.count().await.unwrap(), 0);

    // upsert, count.
    store.upsert(catalogue()).await.expect("upsert");
    assert_eq!(store.count().await.unwrap(), 6);

    // dense: nearest first, ids mapped back.
    let hits = store.search(&near_m1()).await.unwrap();
    assert_eq!(ids(&hits), ["m1", "m2", "m3", "m4", "m5", "m6"]);
    assert!(hits[0].score > 0.99, "cosine of equal vectors: {hits:?}");
    let q = query(SearchMode::Dense, Some(dense(0.0, 1.0)), None);
    assert_eq!(
        search(store, &q).await,
        ["m6", "m5", "m4", "m3", "m2", "m1"]
    );

    // sparse: by term overlap, only overlapping points; the rarer term
    // (1, in m1 only) outweighs the shared one (2, in m1 and m2).
    let q = query(SearchMode::Sparse, None, Some(sparse(&[1, 2])));
    assert_eq!(search(store, &q).await, ["m1", "m2"]);
    let q = query(SearchMode::Sparse, None, Some(sparse(&[6])));
    let mut got = search(store, &q).await;
    got.sort();
    assert_eq!(got, ["m5", "m6"]);

    // hybrid: the union of both rankings, fused. Dense (towards m6) ranks
    // m6..m1; sparse finds only m1. m1 is in both lists, so it leads;
    // the rest keep their dense order.
    let q = query(
        SearchMode::Hybrid,
        Some(dense(0.0, 1.0)),
        Some(sparse(&[1])),
    );
    assert_eq!(
        search(store, &q).await,
        ["m1", "m6", "m5", "m4", "m3", "m2"]
    );
    // Hybrid with one vector is that search.
    let q = query(SearchMode::Hybrid, None, Some(sparse(&[1, 2])));
    assert_eq!(search(store, &q).await, ["m1", "m2"]);
    // A mode without its vector fails.
    let q = query(SearchMode::Dense, None, Some(sparse(&[1])));
    assert!(store.search(&q).await.is_err());

    // limit and offset page consistently, in every mode.
    pages_agree(store, near_m1(), "dense").await;
    let terms = weighted(&[(2, 4.0), (3, 3.0), (4, 2.0), (5, 1.0)]);
    let q = query(SearchMode::Sparse, None, Some(terms));
    pages_agree(store, q, "sparse").await;
    // Fusing these gives equal scores (m1 and m5, m3 and m4 with k = 2):
    // pages must still agree.
    let terms = weighted(&[(4, 1.0), (5, 2.0), (6, 3.0), (7, 4.0)]);
    let q = query(SearchMode::Hybrid, Some(dense(1.0, 0.0)), Some(terms));
    pages_agree(store, q, "hybrid").await;
    let q = VectorQuery {
        limit: 0,
        ..near_m1()
    };
    assert!(search(store, &q).await.is_empty(), "limit 0");

    // filters.
    let category = |c: &str| SearchFilter {
        category: Some(c.into()),
        ..Default::default()
    };
    assert_eq!(filtered(store, category("timber")).await, ["m1", "m2"]);
    let supplier = SearchFilter {
        supplier: Some("acme".into()),
        ..Default::default()
    };
    assert_eq!(filtered(store, supplier).await, ["m1", "m3"]);
    let price = SearchFilter {
        price: Some((15.0, 30.0)),
        ..Default::default()
    };
    assert_eq!(
        filtered(store, price).await,
        ["m2", "m3"],
        "inclusive range"
    );
    let open = SearchFilter {
        price: Some((45.0, f64::INFINITY)),
        ..Default::default()
    };
    assert_eq!(filtered(store, open).await, ["m5", "m6"], "open range");
    assert_eq!(filtered(store, field("unit", "kg")).await, ["m3", "m4"]);
    assert_eq!(
        filtered(store, field("attributes.finish", "oak")).await,
        ["m1"],
        "nested string"
    );
    // 12 matches the number 12 (m1) and the string "12" (m3), not 18.
    assert_eq!(
        filtered(store, field("attributes.thickness_mm", "12")).await,
        ["m1", "m3"],
        "nested integer"
    );
    let both = SearchFilter {
        category: Some("timber".into()),
        fields: vec![("attributes.thickness_mm".into(), "12".into())],
        ..Default::default()
    };
    assert_eq!(filtered(store, both).await, ["m1"], "all conditions hold");
    assert!(filtered(store, category("glass")).await.is_empty());
    // Filters apply to hybrid searches too (inside both prefetches).
    let q = VectorQuery {
        filter: category("stone"),
        ..query(
            SearchMode::Hybrid,
            Some(dense(1.0, 0.0)),
            Some(sparse(&[1, 2])),
        )
    };
    let mut got = search(store, &q).await;
    got.sort();
    assert_eq!(got, ["m5", "m6"]);

    // optimize keeps everything searchable.
    store.optimize().await.expect("optimize");
    assert_eq!(store.count().await.unwrap(), 6);
    assert_eq!(filtered(store, category("timber")).await, ["m1", "m2"]);

    // upsert replaces: same id, new payload.
    let mut m2 = catalogue().remove(1);
    m2.payload.insert("category".into(), json!("metal"));
    store.upsert(vec![m2]).await.expect("upsert again");
    assert_eq!(store.count().await.unwrap(), 6, "replaced, not added");
    assert_eq!(filtered(store, category("timber")).await, ["m1"]);
    assert_eq!(filtered(store, category("metal")).await, ["m2", "m3", "m4"]);

    // delete: absent ids are fine.
    store
        .delete(&["m6".into(), "no-such-material".into()])
        .await
        .expect("delete");
    assert_eq!(store.count().await.unwrap(), 5);
    assert_eq!(
        search(store, &near_m1()).await,
        ["m1", "m2", "m3", "m4", "m5"]
    );
    store.delete(&[]).await.expect("delete nothing");

    // clear empties but keeps the collection.
    store.clear().await.expect("clear");
    assert_eq!(store.count().await.unwrap(), 0);
    assert!(search(store, &near_m1()).await.is_empty());
    store.ensure(DIM).await.expect("ensure after clear");
    store.upsert(catalogue()).await.expect("upsert after clear");
    assert_eq!(store.count().await.unwrap(), 6);
    assert_eq!(filtered(store, category("timber")).await, ["m1", "m2"]);
    store.clear().await.expect("clear again");
    assert_eq!(store.count().await.unwrap(), 0);

    store.ping().await.expect("ping");
}

#[tokio::test(flavor = "multi_thread")]
async fn edge_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(&dir.path().join("vectors")).expect("open");
    assert_eq!(store.name(), "qdrant-edge");
    contract(&store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn edge_through_the_enum_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = Vector::Edge(EdgeStore::open(dir.path()).expect("open"));
    assert_eq!(store.name(), "qdrant-edge");
    contract(&store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn edge_before_ensure_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(&dir.path().join("vectors")).expect("open");
    assert_eq!(store.count().await.unwrap(), 0);
    assert!(store.search(&near_m1()).await.unwrap().is_empty());
    store.delete(&["m1".into()]).await.unwrap();
    store.clear().await.unwrap();
    store.optimize().await.unwrap();
    store.ping().await.unwrap();
    let err = store
        .upsert(catalogue())
        .await
        .expect_err("no collection yet");
    assert!(err.to_string().contains("qdrant-edge"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn edge_persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vectors");
    {
        let store = EdgeStore::open(&path).expect("open");
        store.ensure(DIM).await.unwrap();
        store.upsert(catalogue()).await.unwrap();
        store.delete(&["m6".into()]).await.unwrap();
    }
    let store = EdgeStore::open(&path).expect("reopen");
    assert_eq!(store.count().await.unwrap(), 5);
    store.ensure(DIM).await.expect("ensure on reopen");
    let err = store.ensure(DIM + 1).await.expect_err("dimension is kept");
    assert!(err.to_string().contains(&(DIM + 1).to_string()), "{err}");
    assert_eq!(
        search(&store, &near_m1()).await,
        ["m1", "m2", "m3", "m4", "m5"]
    );
    let timber = SearchFilter {
        category: Some("timber".into()),
        ..Default::default()
    };
    assert_eq!(filtered(&store, timber).await, ["m1", "m2"]);

    // Optimized segments persist too.
    store.optimize().await.unwrap();
    drop(store);
    let store = EdgeStore::open(&path).expect("reopen after optimize");
    assert_eq!(store.count().await.unwrap(), 5);
    store
        .upsert(catalogue())
        .await
        .expect("write after optimize");
    assert_eq!(store.count().await.unwrap(), 6);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// What a crash now would leave: the count in a copy of the directory
/// taken while the store is open (`None` if the copy does not load).
async fn count_after_crash(path: &std::path::Path, copy: &std::path::Path) -> Option<u64> {
    copy_dir(path, copy);
    let store = EdgeStore::open(copy).ok()?;
    store.count().await.ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn edge_writes_reach_disk_without_closing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vectors");
    let store = EdgeStore::open(&path).expect("open");
    store.ensure(DIM).await.unwrap();
    store.upsert(catalogue()).await.unwrap();
    store.flush().await.expect("flush");
    let copy = dir.path().join("copy-after-flush");
    assert_eq!(count_after_crash(&path, &copy).await, Some(6));

    // Without an explicit flush, within FLUSH_DELAY (plus the flush).
    store.delete(&["m6".into()]).await.unwrap();
    let mut seen = None;
    for attempt in 0..20 {
        tokio::time::sleep(FLUSH_DELAY / 2).await;
        let copy = dir.path().join(format!("copy-{attempt}"));
        seen = count_after_crash(&path, &copy).await;
        if seen == Some(5) {
            break;
        }
    }
    assert_eq!(seen, Some(5), "the deferred flush persisted the delete");
    assert_eq!(store.count().await.unwrap(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn edge_refuses_a_second_open_of_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let first = EdgeStore::open(dir.path()).expect("open");
    first.ensure(DIM).await.unwrap();
    let second = EdgeStore::open(dir.path());
    assert!(second.is_err(), "the shard is locked by the first store");
    drop(first);
    EdgeStore::open(dir.path()).expect("open once the first is closed");
}

#[test]
fn edge_on_a_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = EdgeStore::open(&file).expect_err("a file is not a store");
    assert!(
        matches!(
            err,
            StoreError::Failed {
                store: "qdrant-edge",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn qdrant_server_meets_the_contract() {
    let Ok(url) = std::env::var("RESPITE_TEST_QDRANT_URL") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: qdrant_server_meets_the_contract: RESPITE_TEST_QDRANT_URL not set \
             (e.g. http://localhost:6334 for a Qdrant server's gRPC port)"
        );
        return;
    };
    let api_key = std::env::var("RESPITE_TEST_QDRANT_API_KEY").ok();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let collection = format!("respite_contract_{}_{nanos}", std::process::id());
    let store = QdrantStore::connect(
        &url,
        &collection,
        api_key.as_deref(),
        Duration::from_secs(10),
    )
    .await
    .expect("connect");
    assert_eq!(store.name(), "qdrant");
    store.ping().await.expect("the server answers");
    let store = std::sync::Arc::new(store);
    // Run the suite in its own task so that the collection is dropped
    // even when an assertion fails.
    let run = tokio::spawn({
        let store = store.clone();
        async move { contract(&*store).await }
    })
    .await;
    store
        .drop_collection()
        .await
        .expect("drop the test collection");
    if let Err(e) = run {
        std::panic::resume_unwind(e.into_panic());
    }
}
