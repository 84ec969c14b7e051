//! The materials catalogue end to end, through real clients: MSEARCH,
//! MGET.MATERIAL, MSET.MATERIAL, MDEL.MATERIAL, MINVALIDATE and MWARM on
//! SQLite + qdrant-edge and on Postgres + qdrant-edge; both cache tiers;
//! two instances sharing one upstream and one relational store; bad input;
//! a store that goes down; no upstream at all.

use std::path::Path;
use std::time::Duration;

use crate::common::*;
use redis::Value;
use respite::config::Config;

/// A catalogue test rig: private Redis, respite with its own stores.
struct Rig {
    redis: RedisServer,
    proxy: Proxy,
    _dir: tempfile::TempDir,
}

fn record(id: &str, name: &str, category: &str, price: f64, extra: &str) -> String {
    format!(
        r#"{{"id":"{id}","name":"{name}","category":"{category}","unit":"шт","price":{price},"supplier":"ООО Стройснаб","sku":"SKU-{id}","description":"{name} для строительства"{extra}}}"#
    )
}

/// A small catalogue: what the searches below look for.
fn catalogue() -> Vec<String> {
    vec![
        record(
            "m-1",
            "Цемент М500 Д0 50 кг",
            "Цемент",
            520.0,
            r#","attributes":{"weight_kg":50,"brand":"Евроцемент"}"#,
        ),
        record(
            "m-2",
            "Цемент М400 25 кг",
            "Цемент",
            310.5,
            r#","attributes":{"weight_kg":25}"#,
        ),
        record(
            "m-3",
            "Кирпич облицовочный красный",
            "Кирпич",
            38.0,
            r#","attributes":{"colour":"красный"}"#,
        ),
        record(
            "m-4",
            "Гипсокартон Knauf 12.5 мм",
            "Гипсокартон",
            410.0,
            r#","attributes":{"thickness_mm":12}"#,
        ),
        record(
            "m-5",
            "Plasterboard moisture resistant 12.5 mm",
            "Гипсокартон",
            455.0,
            r#","attributes":{"thickness_mm":12}"#,
        ),
        record(
            "m-6",
            "Утеплитель минеральная вата 100 мм",
            "Утеплитель",
            1290.0,
            "",
        ),
        record("m-7", "Portland cement CEM I 42.5", "Цемент", 600.0, ""),
        record(
            "m-8",
            "Плитка керамическая настенная белая",
            "Плитка",
            890.0,
            "",
        ),
    ]
}

impl Rig {
    /// Stop respite before the stores' directory goes away.
    async fn stop(self) {
        self.proxy.stop().await;
    }
}

async fn start_rig(relational_url: Option<&str>, tweak: impl FnOnce(&mut Config)) -> Rig {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = materials_config(&redis.url(), dir.path());
    if let Some(url) = relational_url {
        c.materials.relational.url = url.to_string();
    }
    tweak(&mut c);
    let proxy = Proxy::start(c).await;
    proxy.wait_tracking().await;
    wait_open(&mut proxy.raw().await).await;
    Rig {
        redis,
        proxy,
        _dir: dir,
    }
}

/// A redis-rs connection that waits for slow catalogue writes (a loaded
/// CI machine can take longer than redis-rs's default 500 ms).
async fn client(url: &str) -> redis::aio::MultiplexedConnection {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(READY_BOUND));
    redis::Client::open(url)
        .expect("client")
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .expect("connect")
}

async fn mset(con: &mut redis::aio::MultiplexedConnection, records: &[String]) -> i64 {
    let mut cmd = redis::cmd("MSET.MATERIAL");
    for r in records {
        cmd.arg(r);
    }
    match cmd.query_async(con).await {
        Ok(n) => n,
        Err(e) => panic!("MSET.MATERIAL: {e}"),
    }
}

/// The ids of an MSEARCH reply (RESP2: arrays of field/value pairs).
fn ids(reply: &Value) -> Vec<String> {
    let Value::Array(items) = reply else {
        panic!("not an array: {reply:?}")
    };
    items.iter().map(|m| field(m, "id")).collect()
}

/// One field of a material reply (RESP2 flat array or RESP3 map).
fn field(material: &Value, name: &str) -> String {
    let text = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Double(d) => d.to_string(),
        other => format!("{other:?}"),
    };
    match material {
        Value::Array(kv) => kv
            .chunks(2)
            .find(|p| text(&p[0]) == name)
            .map(|p| text(&p[1]))
            .unwrap_or_else(|| panic!("no field {name} in {material:?}")),
        Value::Map(kv) => kv
            .iter()
            .find(|(k, _)| text(k) == name)
            .map(|(_, v)| text(v))
            .unwrap_or_else(|| panic!("no field {name} in {material:?}")),
        other => panic!("not a material: {other:?}"),
    }
}

async fn search(con: &mut redis::aio::MultiplexedConnection, args: &[&str]) -> Value {
    let mut cmd = redis::cmd("MSEARCH");
    for a in args {
        cmd.arg(*a);
    }
    cmd.query_async(con).await.expect("MSEARCH")
}

/// Everything a client does with the catalogue, on whatever stores the
/// rig has.
async fn exercise_catalogue(rig: &Rig) {
    let mut con = client(&rig.proxy.url()).await;
    assert_eq!(mset(&mut con, &catalogue()).await, 8);

    // MGET.MATERIAL: order kept, nil for a missing id.
    let got: Value = redis::cmd("MGET.MATERIAL")
        .arg(&["m-3", "nope", "m-1"])
        .query_async(&mut con)
        .await
        .expect("MGET.MATERIAL");
    let Value::Array(items) = &got else {
        panic!("{got:?}")
    };
    assert_eq!(items.len(), 3);
    assert_eq!(field(&items[0], "name"), "Кирпич облицовочный красный");
    assert_eq!(items[1], Value::Nil);
    assert_eq!(field(&items[2], "price"), "520");
    let attributes: serde_json::Value =
        serde_json::from_str(&field(&items[2], "attributes")).unwrap();
    assert_eq!(
        attributes,
        serde_json::json!({"brand": "Евроцемент", "weight_kg": 50})
    );

    // Inflected and misspelt Russian finds cement first; English too.
    let found = ids(&search(&mut con, &["цемента м500", "LIMIT", "3"]).await);
    assert_eq!(found.first().map(String::as_str), Some("m-1"), "{found:?}");
    let found = ids(&search(&mut con, &["облицовочного кирпича"]).await);
    assert_eq!(found.first().map(String::as_str), Some("m-3"), "{found:?}");
    let found = ids(&search(&mut con, &["plasterbord", "MODE", "dense", "LIMIT", "2"]).await);
    assert!(found.contains(&"m-5".to_string()), "{found:?}");

    // Filters.
    let found = ids(&search(
        &mut con,
        &["цемент", "CATEGORY", "Цемент", "PRICE", "300", "550"],
    )
    .await);
    assert_eq!(sorted(found), vec!["m-1", "m-2"]);
    let found = ids(&search(
        &mut con,
        &["гипсокартон", "FILTER", "attributes.thickness_mm", "12"],
    )
    .await);
    assert_eq!(sorted(found), vec!["m-4", "m-5"]);
    let found = ids(&search(&mut con, &["цемент", "SUPPLIER", "нет такого"]).await);
    assert!(found.is_empty());

    // Paging and scores.
    let all = ids(&search(&mut con, &["цемент", "LIMIT", "4"]).await);
    let first = ids(&search(&mut con, &["цемент", "LIMIT", "2"]).await);
    let second = ids(&search(&mut con, &["цемент", "LIMIT", "2", "OFFSET", "2"]).await);
    assert_eq!([first, second].concat(), all);
    let scored = search(&mut con, &["цемент", "LIMIT", "1", "WITHSCORES"]).await;
    let Value::Array(one) = &scored else { panic!() };
    assert!(field(&one[0], "score").parse::<f64>().is_ok());
    let found = ids(&search(&mut con, &["кирпич", "MODE", "sparse"]).await);
    assert_eq!(found.first().map(String::as_str), Some("m-3"));

    // A client vector: the embedding of a material's own text finds it.
    let embedder = respite::materials::embed::HashEmbedder::new(256).expect("embedder");
    let vector = embedder.embed("Кирпич облицовочный красный Кирпич");
    let blob: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    let v: Value = redis::cmd("MSEARCH")
        .arg("")
        .arg("VECTOR")
        .arg(blob)
        .arg("MODE")
        .arg("dense")
        .query_async(&mut con)
        .await
        .expect("MSEARCH VECTOR");
    assert_eq!(ids(&v).first().map(String::as_str), Some("m-3"), "{v:?}");

    // An update shows in the next read of either command.
    let repriced = record("m-1", "Цемент М500 Д0 50 кг", "Цемент", 999.0, "");
    assert_eq!(mset(&mut con, &[repriced]).await, 1);
    let got: Value = redis::cmd("MGET.MATERIAL")
        .arg("m-1")
        .query_async(&mut con)
        .await
        .unwrap();
    let Value::Array(items) = &got else { panic!() };
    assert_eq!(field(&items[0], "price"), "999");
    let hit = search(&mut con, &["цемента м500", "LIMIT", "3"]).await;
    let Value::Array(items) = &hit else { panic!() };
    assert_eq!(field(&items[0], "price"), "999");

    // Delete.
    let n: i64 = redis::cmd("MDEL.MATERIAL")
        .arg(&["m-8", "nope"])
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let got: Value = redis::cmd("MGET.MATERIAL")
        .arg("m-8")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(got, Value::Array(vec![Value::Nil]));
    let found = ids(&search(&mut con, &["плитка керамическая"]).await);
    assert!(!found.contains(&"m-8".to_string()));

    // MWARM loads what was asked most; MINVALIDATE drops cached keys.
    let warmed: i64 = redis::cmd("MWARM").query_async(&mut con).await.unwrap();
    assert!(warmed > 0, "MWARM loaded nothing");
    let mut direct = rig.redis.direct().await;
    let cached: Vec<String> = redis::cmd("KEYS")
        .arg("rag_materials:material:*")
        .query_async(&mut direct)
        .await
        .unwrap();
    assert!(!cached.is_empty());
    let n: i64 = redis::cmd("MINVALIDATE")
        .arg("material:*")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(n as usize, cached.len());
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("rag_materials:material:*")
        .query_async(&mut direct)
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

/// A command on a raw connection, arguments as text.
async fn call(raw: &mut Raw, args: &[&str]) -> String {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    raw.call(&bytes).await
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_on_sqlite_and_edge() {
    let rig = start_rig(None, |_| {}).await;
    exercise_catalogue(&rig).await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_on_postgres_and_edge() {
    let db = PgDatabase::create();
    let rig = start_rig(Some(&db.url), |_| {}).await;
    exercise_catalogue(&rig).await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_are_maps_in_resp3_and_cached_in_both_tiers() {
    let rig = start_rig(None, |c| c.l1.admit_min_reads = 1).await;
    let mut con = client(&rig.proxy.url()).await;
    mset(&mut con, &catalogue()).await;
    let mut raw = rig.proxy.raw().await;
    raw.hello3().await;
    let reply = call(&mut raw, &["MGET.MATERIAL", "m-2"]).await;
    assert!(
        reply.starts_with("*1\r\n%11\r\n$2\r\nid\r\n$3\r\nm-2\r\n"),
        "{reply}"
    );
    assert!(reply.contains("$5\r\nprice\r\n,310.5\r\n"), "{reply}");

    let before = info_field(&mut raw, "materials", "materials_store_reads").await;
    let first = call(&mut raw, &["MSEARCH", "cement", "WITHSCORES"]).await;
    // The first read fills L2; a later one fills L1 (once the fill is not
    // raced by the invalidation of respite's own L2 write); then L1 serves.
    let served_from_l1 = eventually(READY_BOUND, async || {
        let again = call(&mut raw, &["MSEARCH", "  CEMENT ", "WITHSCORES"]).await;
        assert_eq!(again, first, "normalised queries share a cache entry");
        info_field(&mut raw, "materials", "materials_l1_hits").await >= 1
    })
    .await;
    assert!(served_from_l1, "MSEARCH never served from L1");
    let after = info_field(&mut raw, "materials", "materials_store_reads").await;
    // One search, and its hydration from the relational store.
    assert!(after - before <= 2, "{before} -> {after}");
    let mut direct = rig.redis.direct().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("rag_materials:search:*")
        .query_async(&mut direct)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let ttl: i64 = redis::cmd("TTL")
        .arg(&keys[0])
        .query_async(&mut direct)
        .await
        .unwrap();
    assert!((1..=300).contains(&ttl), "search TTL {ttl}");
    let ttl: i64 = redis::cmd("TTL")
        .arg("rag_materials:material:m-2")
        .query_async(&mut direct)
        .await
        .unwrap();
    assert!((3000..=3600).contains(&ttl), "material TTL {ttl}");

    // A write bumps the generation: every cached search is stale at once.
    mset(
        &mut con,
        &[record("m-9", "Цемент белый", "Цемент", 700.0, "")],
    )
    .await;
    let generation: i64 = redis::cmd("GET")
        .arg("rag_materials:gen")
        .query_async(&mut direct)
        .await
        .unwrap();
    assert_eq!(generation, 2);
    rig.stop().await;
}

/// An id that does not exist is cached as such: asking again reads no
/// store, and writing that id makes it appear at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_id_is_cached_until_it_is_written() {
    let rig = start_rig(None, |c| c.l1.admit_min_reads = 1).await;
    let mut con = client(&rig.proxy.url()).await;
    mset(&mut con, &catalogue()).await;
    let mut raw = rig.proxy.raw().await;
    let before = info_field(&mut raw, "materials", "materials_store_reads").await;
    for _ in 0..3 {
        let reply = call(&mut raw, &["MGET.MATERIAL", "m-1", "ghost"]).await;
        assert!(reply.starts_with("*2\r\n*22\r\n"), "{reply}");
        assert!(reply.ends_with("$-1\r\n"), "{reply}");
    }
    let reads = info_field(&mut raw, "materials", "materials_store_reads").await - before;
    assert_eq!(reads, 1, "the missing id was read from the store again");
    let mut direct = rig.redis.direct().await;
    let stored: String = redis::cmd("GET")
        .arg("rag_materials:material:ghost")
        .query_async(&mut direct)
        .await
        .unwrap();
    assert_eq!(stored, "null");

    mset(
        &mut con,
        &[record("ghost", "Гвозди строительные", "Крепёж", 90.0, "")],
    )
    .await;
    let reply = call(&mut raw, &["MGET.MATERIAL", "ghost"]).await;
    assert!(reply.contains("Гвозди строительные"), "{reply}");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_concurrent_misses_coalesce() {
    let rig = start_rig(None, |_| {}).await;
    let mut con = client(&rig.proxy.url()).await;
    mset(&mut con, &catalogue()).await;
    let mut raw = rig.proxy.raw().await;
    let before = info_field(&mut raw, "materials", "materials_store_reads").await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let url = rig.proxy.url();
        tasks.push(tokio::spawn(async move {
            let mut c = client(&url).await;
            search(&mut c, &["утеплитель минеральная вата"]).await
        }));
    }
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.expect("task"));
    }
    assert!(replies.windows(2).all(|w| w[0] == w[1]));
    let reads = info_field(&mut raw, "materials", "materials_store_reads").await - before;
    let coalesced = info_field(&mut raw, "materials", "materials_coalesced").await;
    // Each search that reached the stores costs two reads (vector, then
    // hydration); far fewer than 16 searches did.
    assert!(reads < 16, "{reads} store reads for 16 identical searches");
    assert!(
        coalesced > 0 || reads <= 2,
        "coalesced {coalesced}, reads {reads}"
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_update_shows_through_two_instances() {
    let redis = RedisServer::start();
    let shared = tempfile::tempdir().expect("tempdir");
    let db = shared.path().join("shared.db");
    let instance = |sub: &str| {
        let dir = shared.path().join(sub);
        let mut c = materials_config(&redis.url(), &dir);
        c.materials.relational.url = format!("sqlite://{}", db.display());
        c.l1.admit_min_reads = 1;
        c
    };
    let a = Proxy::start(instance("a")).await;
    let b = Proxy::start(instance("b")).await;
    for p in [&a, &b] {
        p.wait_tracking().await;
        wait_open(&mut p.raw().await).await;
    }
    let (mut ca, mut cb) = (client(&a.url()).await, client(&b.url()).await);
    // Each instance keeps its own qdrant-edge: both get the records.
    mset(&mut ca, &catalogue()).await;
    mset(&mut cb, &catalogue()).await;
    let mut rb = b.raw().await;
    for round in 0..5 {
        let price = 1000 + round;
        // B reads twice: the second read is an L1 hit.
        for _ in 0..2 {
            search(&mut cb, &["portland cement"]).await;
            let _: Value = redis::cmd("MGET.MATERIAL")
                .arg("m-7")
                .query_async(&mut cb)
                .await
                .unwrap();
        }
        let pushed = info_field(&mut rb, "l1", "l1_invalidations_pushed").await;
        let new = record(
            "m-7",
            "Portland cement CEM I 42.5",
            "Цемент",
            price as f64,
            "",
        );
        mset(&mut ca, &[new]).await;
        // Wait (bounded) for B's invalidation to land, then one read each.
        let landed = eventually(READY_BOUND, async || {
            info_field(&mut rb, "l1", "l1_invalidations_pushed").await > pushed
        })
        .await;
        assert!(landed, "B never heard of A's write");
        let got: Value = redis::cmd("MGET.MATERIAL")
            .arg("m-7")
            .query_async(&mut cb)
            .await
            .unwrap();
        let Value::Array(items) = &got else { panic!() };
        assert_eq!(
            field(&items[0], "price"),
            price.to_string(),
            "MGET.MATERIAL via B"
        );
        let hits = search(&mut cb, &["portland cement"]).await;
        let Value::Array(items) = &hits else { panic!() };
        let m7 = items
            .iter()
            .find(|m| field(m, "id") == "m-7")
            .expect("m-7 found");
        assert_eq!(field(m7, "price"), price.to_string(), "MSEARCH via B");
    }
    a.stop().await;
    b.stop().await;
}

async fn assert_error(raw: &mut Raw, args: &[&str], code: &str, words: &str) {
    let reply = call(raw, args).await;
    assert!(
        reply.starts_with(&format!("-{code} ")) && reply.contains(words),
        "{:?} answered {reply:?}, expected -{code} …{words}…",
        args[0]
    );
    assert_eq!(
        call(raw, &["PING"]).await,
        "+PONG\r\n",
        "connection unusable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors_and_nothing_is_written() {
    let rig = start_rig(None, |_| {}).await;
    let mut raw = rig.proxy.raw().await;
    let good = record("ok-1", "Цемент", "Цемент", 1.0, "");
    assert_error(
        &mut raw,
        &["MSET.MATERIAL", good.as_str(), "{not json"],
        "ERR",
        "record 2: field 'record': malformed JSON",
    )
    .await;
    assert_error(
        &mut raw,
        &["MSET.MATERIAL", r#"{"name":"x","price":1}"#],
        "ERR",
        "field 'id': is required",
    )
    .await;
    assert_error(
        &mut raw,
        &["MSET.MATERIAL", r#"{"id":"a","name":"x","price":"cheap"}"#],
        "ERR",
        "field 'price'",
    )
    .await;
    assert_error(
        &mut raw,
        &["MSET.MATERIAL", r#"{"id":"a","name":["x"],"price":1}"#],
        "ERR",
        "field 'name': must be a string",
    )
    .await;
    // Nothing of the refused calls was written, not even the good record.
    assert_eq!(
        call(&mut raw, &["MGET.MATERIAL", "ok-1"]).await,
        "*1\r\n$-1\r\n"
    );
    assert_error(
        &mut raw,
        &["MSEARCH", "x", "LIMIT", "1000000"],
        "ERR",
        "LIMIT must be between 1 and 100",
    )
    .await;
    assert_error(
        &mut raw,
        &["MSEARCH", "x", "LIMIT", "many"],
        "ERR",
        "LIMIT is not a number",
    )
    .await;
    assert_error(
        &mut raw,
        &["MSEARCH", "x", "VECTOR", "abc"],
        "ERR",
        "VECTOR",
    )
    .await;
    assert_error(
        &mut raw,
        &["MSEARCH", "x", "SORTBY", "price"],
        "ERR",
        "unknown MSEARCH option 'SORTBY'",
    )
    .await;
    assert_error(
        &mut raw,
        &["MSEARCH", "x", "PRICE", "10"],
        "ERR",
        "PRICE needs 2",
    )
    .await;
    assert_error(
        &mut raw,
        &["MSEARCH", "x", "MODE", "fuzzy"],
        "ERR",
        "MODE must be",
    )
    .await;
    assert_error(
        &mut raw,
        &["MSEARCH"],
        "ERR",
        "wrong number of arguments for 'msearch'",
    )
    .await;
    assert_error(
        &mut raw,
        &["MGET.MATERIAL", "bad id"],
        "ERR",
        "invalid material id",
    )
    .await;
    assert_error(
        &mut raw,
        &["MINVALIDATE"],
        "ERR",
        "wrong number of arguments",
    )
    .await;
    assert_error(&mut raw, &["MWARM", "SOON"], "ERR", "syntax error").await;
    let many: Vec<String> = (0..1001).map(|i| format!("id{i}")).collect();
    let mut args: Vec<&str> = vec!["MGET.MATERIAL"];
    args.extend(many.iter().map(String::as_str));
    assert_error(&mut raw, &args, "ERR", "between 1 and 1000 items").await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_is_down_gets_backend_errors_and_cache_still_serves() {
    let db = PgDatabase::create();
    let rig = start_rig(Some(&db.url), |c| {
        c.l1.admit_min_reads = 1;
        c.materials.timeout_ms = 1000;
    })
    .await;
    let mut con = client(&rig.proxy.url()).await;
    mset(&mut con, &catalogue()).await;
    let mut raw = rig.proxy.raw().await;
    let cached_get = call(&mut raw, &["MGET.MATERIAL", "m-1"]).await;
    let cached_search = call(&mut raw, &["MSEARCH", "cement"]).await;
    assert!(cached_get.contains("m-1") && cached_search.starts_with('*'));

    db.take_down();
    assert_eq!(call(&mut raw, &["MGET.MATERIAL", "m-1"]).await, cached_get);
    assert_eq!(call(&mut raw, &["MSEARCH", "cement"]).await, cached_search);
    // Not cached: the store is needed, and says it is down.
    assert_error(&mut raw, &["MGET.MATERIAL", "m-2"], "BACKEND", "postgres").await;
    assert_error(
        &mut raw,
        &["MSET.MATERIAL", record("m-9", "x", "y", 1.0, "").as_str()],
        "BACKEND",
        "postgres",
    )
    .await;

    db.bring_up();
    let back = eventually(READY_BOUND, async || {
        call(&mut raw, &["MGET.MATERIAL", "m-2"])
            .await
            .contains("m-2")
    })
    .await;
    assert!(back, "the catalogue did not recover with its store");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_upstream_the_catalogue_still_serves_from_the_stores() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dead = format!("redis://127.0.0.1:{}", free_port());
    let proxy = Proxy::start(materials_config(&dead, dir.path())).await;
    let mut raw = proxy.raw().await;
    wait_open(&mut raw).await;
    let rec = record("m-1", "Цемент М500", "Цемент", 5.0, "");
    assert_eq!(
        call(&mut raw, &["MSET.MATERIAL", rec.as_str()]).await,
        ":1\r\n"
    );
    assert!(call(&mut raw, &["MGET.MATERIAL", "m-1"])
        .await
        .contains("Цемент М500"));
    assert!(call(&mut raw, &["MSEARCH", "цемент"]).await.contains("m-1"));
    assert!(call(&mut raw, &["GET", "k"]).await.starts_with("-UPSTREAM"));
    let reply = call(&mut raw, &["MINVALIDATE", "*"]).await;
    assert!(
        reply.starts_with("-UPSTREAM upstream 127.0.0.1:"),
        "{reply}"
    );
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cli_runs_the_catalogue_commands() {
    let rig = start_rig(None, |_| {}).await;
    let port = rig.proxy.addr.port().to_string();
    let cli = |args: &[&str]| {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &port])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let rec = record("m-1", "Кирпич силикатный", "Кирпич", 21.0, "");
    // Not on a terminal, redis-cli prints replies raw, one value per line.
    assert_eq!(cli(&["MSET.MATERIAL", &rec]).trim(), "1");
    let out = cli(&["MSEARCH", "кирпич", "WITHSCORES"]);
    assert!(
        out.contains("Кирпич силикатный") && out.contains("score"),
        "{out}"
    );
    let out = cli(&["MGET.MATERIAL", "m-1", "m-2"]);
    assert!(
        out.lines().any(|l| l == "m-1") && out.contains("price"),
        "{out}"
    );
    rig.stop().await;
}

#[test]
fn import_reports_bad_lines_and_loads_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("batch.jsonl");
    let lines = [
        record("i-1", "Цемент", "Цемент", 1.0, ""),
        "{not json".to_string(),
        r#"{"name":"no id","price":1}"#.to_string(),
        record("i-2", "Кирпич", "Кирпич", 2.0, ""),
        r#"{"id":"i-3","name":"x","price":"abc"}"#.to_string(),
        record("i-4", "Плитка", "Плитка", 3.0, ""),
    ];
    std::fs::write(&file, lines.join("\n")).expect("write");
    let config = dir.path().join("respite.toml");
    std::fs::write(&config, tool_config(dir.path())).expect("config");
    let out = respite_command()
        .args(["import", "--batch", "2", "--config"])
        .arg(&config)
        .arg(&file)
        .output()
        .expect("respite import");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("import: 3 written, 3 rejected"), "{stdout}");
    assert!(
        stdout.contains("line 2: field 'record': malformed JSON"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 3: field 'id': is required"),
        "{stdout}"
    );
    assert!(stdout.contains("line 5: field 'price'"), "{stdout}");

    let out = respite_command()
        .args(["seed", "--count", "50", "--config"])
        .arg(&config)
        .output()
        .expect("seed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("seed: 50 written, 0 rejected"),
        "{stdout}"
    );
    let out = respite_command()
        .args(["reindex", "--config"])
        .arg(&config)
        .output()
        .expect("reindex");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("reindex: 53 written"),
        "{stdout}"
    );
}

/// A config file for the CLI tools: stores under `dir`, no upstream.
fn tool_config(dir: &Path) -> String {
    format!(
        "[upstream]\nurl = \"redis://127.0.0.1:{}\"\n[materials]\nseed_on_empty = 0\n[materials.relational]\nurl = \"sqlite://{}\"\n[materials.vector]\npath = \"{}\"\n",
        free_port(),
        dir.join("m.db").display(),
        dir.join("vectors").display()
    )
}

#[test]
fn the_binary_seeds_a_demo_catalogue_into_an_empty_embedded_store() {
    let redis = RedisServer::start();
    let p = RespiteProcess::spawn(&redis.url(), None);
    let found = eventually_blocking(Duration::from_secs(60), || {
        let out = std::process::Command::new("redis-cli")
            .args([
                "-p",
                &p.addr.port().to_string(),
                "MSEARCH",
                "цемент",
                "LIMIT",
                "3",
            ])
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).contains("id")
    });
    assert!(
        found,
        "no MSEARCH results from the demo catalogue:\n{}",
        p.stderr()
    );
    assert!(
        p.stderr().contains("seeding demo materials"),
        "{}",
        p.stderr()
    );
}

/// Poll a blocking condition with a bound.
fn eventually_blocking(bound: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + bound;
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
