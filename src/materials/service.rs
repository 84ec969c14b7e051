//! The catalogue service: reads through L1 → L2 → stores, and writes that
//! reach both stores and then invalidate both cache tiers.
//!
//! Reads: a material or search reply is looked up in L1 (process memory,
//! encoded per protocol); on a miss in L2 (the upstream Redis, JSON under
//! the materials prefix, read tracked so Redis tells this instance when it
//! changes); on a miss there in the stores, coalesced with identical misses
//! in flight, then stored in L2 with its TTL. A write goes to the relational
//! store (one transaction), then the vector store (the relational write is
//! undone if that fails), then drops the written materials' keys and
//! increments the search generation: locally first, then upstream, so the
//! writer's next read and every other instance's see it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use super::embed::{Bm25, Embedder};
use super::flight::Flights;
use super::keys::{Keys, SearchRequest};
use super::l2::{TrackedValues, L2};
use super::model::Material;
use super::recorder::Recorder;
use super::reply;
use super::MaterialsError;
use crate::command::cache::ReadInfo;
use crate::command::{CacheLayer, WriteEffect};
use crate::config::materials::MaterialsConfig;
use crate::protocol::encode::{self, ReplyWriter};
use crate::protocol::Proto;
use crate::store::relational::Relational;
use crate::store::vector::Vector;
use crate::store::{
    timed, RelationalStore, StoreError, StoreOp, VectorPoint, VectorQuery, VectorStore,
};
use crate::upstream::Upstream;

/// Counters of the materials tiers (INFO `# Materials`).
#[derive(Debug, Default)]
pub struct Counters {
    /// Replies served from process memory.
    pub l1_hits: AtomicU64,
    /// Lookups L1 could not serve.
    pub l1_misses: AtomicU64,
    /// Served from the upstream Redis.
    pub l2_hits: AtomicU64,
    /// Not in the upstream Redis either.
    pub l2_misses: AtomicU64,
    /// Upstream failures the materials path worked around.
    pub l2_errors: AtomicU64,
    /// Fetches from the stores.
    pub store_reads: AtomicU64,
    /// Store or embedder failures answered as `-BACKEND`.
    pub backend_errors: AtomicU64,
    /// Materials written or deleted.
    pub writes: AtomicU64,
    /// Keys dropped by writes and MINVALIDATE.
    pub invalidations: AtomicU64,
    /// The search generation as last read from the upstream (INFO).
    pub generation: AtomicU64,
    /// What the stores' calls said (INFO `# Backends`, HEALTH).
    pub stores: crate::store::health::StoreHealth,
}

/// The catalogue's cache lifetimes, in seconds. `materials.*_ttl_secs` are
/// live: the server keeps this and changes it; new L2 entries (and HEALTH
/// answers) take the value in force when they are stored.
#[derive(Debug)]
pub struct Ttls {
    search: AtomicU64,
    material: AtomicU64,
    health: AtomicU64,
}

impl Ttls {
    /// The lifetimes configured in `cfg`.
    pub fn new(cfg: &MaterialsConfig) -> Self {
        let ttls = Ttls {
            search: AtomicU64::new(0),
            material: AtomicU64::new(0),
            health: AtomicU64::new(0),
        };
        ttls.set(cfg);
        ttls
    }

    /// Take the lifetimes of `cfg` from now on.
    pub fn set(&self, cfg: &MaterialsConfig) {
        self.search.store(cfg.search_ttl_secs, Ordering::Relaxed);
        self.material
            .store(cfg.material_ttl_secs, Ordering::Relaxed);
        self.health.store(cfg.health_ttl_secs, Ordering::Relaxed);
    }

    /// How long a search result lives in L2.
    pub fn search_secs(&self) -> u64 {
        self.search.load(Ordering::Relaxed)
    }

    /// How long a material lives in L2.
    pub fn material_secs(&self) -> u64 {
        self.material.load(Ordering::Relaxed)
    }

    /// How long a HEALTH answer is reused.
    pub fn health_secs(&self) -> u64 {
        self.health.load(Ordering::Relaxed)
    }
}

/// Add one to a counter.
pub fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// What the upstream and L1 are, for the read and write paths.
#[derive(Clone, Copy)]
pub struct Tiers<'a> {
    /// The L1 cache and tracking state.
    pub cache: &'a Arc<CacheLayer>,
    /// The upstream Redis (L2).
    pub upstream: &'a Upstream,
}

/// Search results: materials with their scores, best first.
type Hits = Vec<(Material, f32)>;

/// A search hit as stored in L2.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredHit {
    score: f32,
    material: Material,
}

/// The open catalogue: configuration, stores, embedders, cache plumbing.
#[derive(Debug)]
pub struct Catalogue {
    cfg: MaterialsConfig,
    relational: Relational,
    vector: Vector,
    embedder: Embedder,
    bm25: Bm25,
    /// The cache keys.
    pub keys: Keys,
    timeout: Duration,
    l2: L2,
    /// Tier counters (L1 per request: a hit is a reply served whole).
    pub counters: Arc<Counters>,
    searches: Flights<Result<Arc<Hits>, MaterialsError>>,
    fetches: Flights<Result<Arc<Vec<Option<Material>>>, MaterialsError>>,
    /// The most requested queries and ids (for MWARM).
    pub recorder: Recorder,
    /// Cache lifetimes (live).
    ttls: Arc<Ttls>,
}

/// L1 variant of a material element in `proto`.
pub fn material_variant(proto: Proto) -> [u8; 2] {
    [proto.version(), b'm']
}

/// L1 variant of a search reply in `proto`, with or without scores.
pub fn search_variant(proto: Proto, with_scores: bool) -> [u8; 2] {
    [proto.version(), if with_scores { b'S' } else { b's' }]
}

/// L1 variant of the generation value.
const GEN_VARIANT: &[u8] = b"g";

impl Catalogue {
    /// Assemble from opened parts.
    pub fn new(
        cfg: MaterialsConfig,
        relational: Relational,
        vector: Vector,
        embedder: Embedder,
        bm25: Bm25,
        counters: Arc<Counters>,
    ) -> Self {
        Catalogue {
            keys: Keys::new(&cfg.prefix),
            timeout: Duration::from_millis(cfg.timeout_ms),
            recorder: Recorder::new(10_000),
            ttls: Arc::new(Ttls::new(&cfg)),
            cfg,
            relational,
            vector,
            embedder,
            bm25,
            l2: L2::default(),
            counters,
            searches: Flights::default(),
            fetches: Flights::default(),
        }
    }

    /// Share the server's cache lifetimes, so changes to them reach this
    /// catalogue.
    pub fn with_ttls(mut self, ttls: Arc<Ttls>) -> Self {
        self.ttls = ttls;
        self
    }

    /// The configuration it started with (the `*_ttl_secs` in force are
    /// [`Catalogue::ttls`]).
    pub fn config(&self) -> &MaterialsConfig {
        &self.cfg
    }

    /// The cache lifetimes in force.
    pub fn ttls(&self) -> &Ttls {
        &self.ttls
    }

    /// Misses that shared another's fetch.
    pub fn coalesced(&self) -> u64 {
        self.searches.coalesced.load(Ordering::Relaxed)
            + self.fetches.coalesced.load(Ordering::Relaxed)
    }

    /// The relational store.
    pub fn relational(&self) -> &Relational {
        &self.relational
    }

    /// The vector store.
    pub fn vector(&self) -> &Vector {
        &self.vector
    }

    /// The kinds of the two stores (`postgres`/`sqlite`, `qdrant`/
    /// `qdrant-edge`): relational, then vector, as [`Self::ping_stores`]
    /// answers. INFO and HEALTH label the stores with these.
    pub fn store_kinds(&self) -> [&'static str; 2] {
        use crate::store::{RelationalStore, VectorStore};
        [self.relational.name(), self.vector.name()]
    }

    /// Ping both stores at once, each bounded by `bound`: relational, then
    /// vector. For health reports and the `store_up` metric.
    pub async fn ping_stores(&self, bound: Duration) -> [Result<(), StoreError>; 2] {
        let (r, v) = (&self.relational, &self.vector);
        let (r, v) = tokio::join!(
            timed(
                &self.counters.stores,
                r.name(),
                StoreOp::Ping,
                bound,
                r.ping()
            ),
            timed(
                &self.counters.stores,
                v.name(),
                StoreOp::Ping,
                bound,
                v.ping()
            ),
        );
        [r, v]
    }

    // ----- reads -------------------------------------------------------

    /// The L1 copy of the search generation.
    fn cached_generation(&self, t: Tiers<'_>) -> Option<u64> {
        let v = t.cache.l1.get(self.keys.generation(), GEN_VARIANT)?;
        std::str::from_utf8(&v).ok()?.parse().ok()
    }

    /// The `MSEARCH` reply from L1 alone, if it is there.
    pub fn search_from_l1(&self, t: Tiers<'_>, proto: Proto, req: &SearchRequest) -> Option<Bytes> {
        if req.no_cache || !t.cache.enabled {
            return None;
        }
        let generation = self.cached_generation(t)?;
        let key = self.keys.search(generation, &req.cache_hash());
        let hit = t
            .cache
            .l1
            .get(&key, &search_variant(proto, req.with_scores));
        self.count_l1(hit.is_some());
        hit
    }

    /// The `MGET.MATERIAL` reply from L1 alone, written to `w`, if every
    /// id is there (else nothing is written). Written in place: on this
    /// path the reply is not built apart and copied.
    pub fn get_from_l1(&self, t: Tiers<'_>, ids: &[&str], w: &mut ReplyWriter) -> bool {
        if !t.cache.enabled {
            return false;
        }
        let variant = material_variant(w.proto());
        let mut hits = Vec::with_capacity(ids.len());
        let mut key = Vec::with_capacity(64);
        for id in ids {
            self.keys.material_into(&mut key, id);
            match t.cache.l1.get(&key, &variant) {
                Some(hit) => hits.push(hit),
                None => {
                    self.count_l1(false);
                    return false;
                }
            }
        }
        self.count_l1(true);
        w.array(ids.len());
        for hit in &hits {
            w.raw(hit);
        }
        true
    }

    fn count_l1(&self, hit: bool) {
        bump(if hit {
            &self.counters.l1_hits
        } else {
            &self.counters.l1_misses
        });
    }

    /// The search generation: L1, else a tracked read upstream (then kept
    /// in L1). `None` when the upstream cannot say: then nothing is cached.
    async fn generation(&self, t: Tiers<'_>) -> Option<u64> {
        if let Some(g) = self.cached_generation(t) {
            return Some(g);
        }
        let key = self.keys.generation().clone();
        let ticket = t.cache.l1.ticket(&key);
        let read = self.tracked(t, std::slice::from_ref(&key)).await?;
        let value = read.values.first().cloned().flatten();
        let g = value
            .as_deref()
            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
            .unwrap_or(0);
        self.counters.generation.store(g, Ordering::Relaxed);
        let info = read_info(&read, 0);
        let text = Bytes::from(g.to_string());
        t.cache.fill_derived(&key, GEN_VARIANT, text, info, ticket);
        Some(g)
    }

    /// A tracked read of `keys` from L2; `None` (counted) on failure.
    async fn tracked(&self, t: Tiers<'_>, keys: &[Bytes]) -> Option<TrackedValues> {
        match self.l2.tracked_get(t.upstream, keys).await {
            Ok(v) => Some(v),
            Err(e) => {
                bump(&self.counters.l2_errors);
                tracing::debug!(error = %e, "materials: L2 read failed, using the stores");
                None
            }
        }
    }

    /// Store `items` in L2 for `ttl_secs`; failures are counted, not fatal.
    async fn store_l2(&self, t: Tiers<'_>, items: &[(Bytes, Bytes)], ttl_secs: u64) {
        if let Err(e) = self.l2.set_ex(t.upstream, items, ttl_secs).await {
            bump(&self.counters.l2_errors);
            tracing::debug!(error = %e, "materials: L2 fill failed");
        }
    }

    /// `MSEARCH`: L1, L2, then the stores.
    pub async fn search(
        &self,
        t: Tiers<'_>,
        proto: Proto,
        req: &SearchRequest,
    ) -> Result<Bytes, MaterialsError> {
        let generation = match req.no_cache {
            true => None,
            false => self.generation(t).await,
        };
        let Some(generation) = generation else {
            let hits = self.run_search(req).await?;
            return Ok(reply::search(proto, &hits, req.with_scores));
        };
        let hash = req.cache_hash();
        let key = self.keys.search(generation, &hash);
        let variant = search_variant(proto, req.with_scores);
        if let Some(hit) = t.cache.l1.get(&key, &variant) {
            return Ok(hit);
        }
        let ticket = t.cache.l1.ticket(&key);
        if let Some(read) = self.tracked(t, std::slice::from_ref(&key)).await {
            let stored = read.values.first().cloned().flatten();
            if let Some(hits) = stored.and_then(|v| parse_hits(&v)) {
                bump(&self.counters.l2_hits);
                let out = reply::search(proto, &hits, req.with_scores);
                t.cache
                    .fill_derived(&key, &variant, out.clone(), read_info(&read, 0), ticket);
                return Ok(out);
            }
            bump(&self.counters.l2_misses);
        }
        let hits = self
            .searches
            .run(&key, || async {
                let hits = Arc::new(self.run_search(req).await?);
                let json = serde_json::to_vec(&to_stored(&hits)).unwrap_or_default();
                let ttl = self.ttls.search_secs();
                self.store_l2(t, &[(key.clone(), Bytes::from(json))], ttl)
                    .await;
                Ok(hits)
            })
            .await?;
        Ok(reply::search(proto, &hits, req.with_scores))
    }

    /// Embed the query, search the vector store, hydrate from the
    /// relational store (hits whose record is gone are dropped).
    async fn run_search(
        &self,
        req: &SearchRequest,
    ) -> Result<Vec<(Material, f32)>, MaterialsError> {
        bump(&self.counters.store_reads);
        let dense = match (&req.vector, req.mode) {
            (Some(v), _) => Some(v.clone()),
            (None, crate::store::SearchMode::Sparse) => None,
            (None, _) => Some(self.embed_one(&req.query).await?),
        };
        let sparse =
            (req.mode != crate::store::SearchMode::Dense).then(|| self.bm25.query(&req.query));
        let query = VectorQuery {
            dense,
            sparse,
            mode: req.mode,
            filter: req.filter.clone(),
            limit: req.limit,
            offset: req.offset,
        };
        let v = &self.vector;
        let hits = self
            .backend(self.timed(v.name(), StoreOp::Search, v.search(&query)))
            .await?;
        let ids: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
        let records = self.fetch(&ids).await?;
        Ok(hits
            .into_iter()
            .zip(records.iter())
            .filter_map(|(h, m)| m.clone().map(|m| (m, h.score)))
            .collect())
    }

    async fn embed_one(&self, text: &str) -> Result<Vec<f32>, MaterialsError> {
        self.embed(&[text.to_string()])
            .await?
            .pop()
            .ok_or_else(|| MaterialsError::Backend("embedder returned no vector".into()))
    }

    /// Dense vectors for `texts`, in one embedder call with the deadline.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, MaterialsError> {
        let call = async {
            self.embedder
                .embed(texts)
                .await
                .map_err(|e| crate::store::StoreError::failed("embedder", e))
        };
        self.backend(self.timed("embedder", StoreOp::Embed, call))
            .await
    }

    /// Count and convert a store failure.
    async fn backend<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, crate::store::StoreError>>,
    ) -> Result<T, MaterialsError> {
        call.await.map_err(|e| {
            bump(&self.counters.backend_errors);
            MaterialsError::Backend(e.to_string())
        })
    }

    /// A store call under this catalogue's deadline, recorded in its
    /// health table.
    async fn timed<T>(
        &self,
        store: &'static str,
        op: StoreOp,
        call: impl std::future::Future<Output = Result<T, crate::store::StoreError>>,
    ) -> Result<T, crate::store::StoreError> {
        timed(&self.counters.stores, store, op, self.timeout, call).await
    }

    /// Records for `ids` from the relational store, coalesced with an
    /// identical fetch in flight.
    async fn fetch(&self, ids: &[String]) -> Result<Arc<Vec<Option<Material>>>, MaterialsError> {
        let key = ids.join("\n");
        self.fetches
            .run(key.as_bytes(), || async {
                bump(&self.counters.store_reads);
                let r = &self.relational;
                let rows = self
                    .backend(self.timed(r.name(), StoreOp::Get, r.get_many(ids)))
                    .await?;
                Ok(Arc::new(rows))
            })
            .await
    }

    /// `MGET.MATERIAL`: each id from L1, L2 or the relational store.
    pub async fn get(
        &self,
        t: Tiers<'_>,
        proto: Proto,
        ids: &[String],
    ) -> Result<Bytes, MaterialsError> {
        let variant = material_variant(proto);
        let keys: Vec<Bytes> = ids.iter().map(|id| self.keys.material(id)).collect();
        let mut parts: Vec<Option<Bytes>> =
            keys.iter().map(|k| t.cache.l1.get(k, &variant)).collect();
        let missing: Vec<usize> = (0..ids.len()).filter(|&i| parts[i].is_none()).collect();
        if !missing.is_empty() {
            self.fill_from_l2(t, proto, &keys, &missing, &mut parts)
                .await;
        }
        let missing: Vec<usize> = (0..ids.len()).filter(|&i| parts[i].is_none()).collect();
        if !missing.is_empty() {
            let want: Vec<String> = missing.iter().map(|&i| ids[i].clone()).collect();
            let found = self.fetch(&want).await?;
            let mut fills = Vec::new();
            for (&i, m) in missing.iter().zip(found.iter()) {
                parts[i] = Some(reply::material_bytes(proto, m.as_ref()));
                // An id that does not exist is cached too (as JSON null):
                // asking again for it costs no store read until a write
                // of that id drops the entry, as it drops any other.
                if let Ok(json) = serde_json::to_vec(m) {
                    fills.push((keys[i].clone(), Bytes::from(json)));
                }
            }
            self.store_l2(t, &fills, self.ttls.material_secs()).await;
        }
        let mut out = BytesMut::new();
        encode::array_header(&mut out, ids.len());
        for p in parts {
            out.extend_from_slice(&p.unwrap_or_else(|| reply::material_bytes(proto, None)));
        }
        Ok(out.freeze())
    }

    /// Fill `parts[i]` for each `i` in `missing` from L2 (and L1 from it).
    async fn fill_from_l2(
        &self,
        t: Tiers<'_>,
        proto: Proto,
        keys: &[Bytes],
        missing: &[usize],
        parts: &mut [Option<Bytes>],
    ) {
        let want: Vec<Bytes> = missing.iter().map(|&i| keys[i].clone()).collect();
        let tickets: Vec<_> = want.iter().map(|k| t.cache.l1.ticket(k)).collect();
        let Some(read) = self.tracked(t, &want).await else {
            return;
        };
        let variant = material_variant(proto);
        for (j, &i) in missing.iter().enumerate() {
            let stored = read.values.get(j).cloned().flatten();
            // `null` is an id known not to exist.
            let known = stored.and_then(|v| serde_json::from_slice::<Option<Material>>(&v).ok());
            let Some(m) = known else {
                bump(&self.counters.l2_misses);
                continue;
            };
            bump(&self.counters.l2_hits);
            let element = reply::material_bytes(proto, m.as_ref());
            t.cache.fill_derived(
                &keys[i],
                &variant,
                element.clone(),
                read_info(&read, j),
                tickets[j],
            );
            parts[i] = Some(element);
        }
    }

    // ----- writes ------------------------------------------------------

    /// Embed and write `batch` to both stores; if the vector store fails,
    /// the relational write is undone. Returns how many were written.
    pub async fn store(&self, batch: &[Material]) -> Result<usize, MaterialsError> {
        let points = self.points(batch).await?;
        let ids: Vec<String> = batch.iter().map(|m| m.id.clone()).collect();
        let r = &self.relational;
        let before = self
            .backend(self.timed(r.name(), StoreOp::Get, r.get_many(&ids)))
            .await?;
        self.backend(self.timed(r.name(), StoreOp::Upsert, r.upsert(batch)))
            .await?;
        let v = &self.vector;
        if let Err(e) = self
            .backend(self.timed(v.name(), StoreOp::Upsert, v.upsert(points)))
            .await
        {
            self.restore(&ids, &before).await;
            return Err(MaterialsError::Backend(format!(
                "{e}; the relational store was rolled back"
            )));
        }
        self.counters
            .writes
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(batch.len())
    }

    /// Put the relational store back as it was before a failed write.
    async fn restore(&self, ids: &[String], before: &[Option<Material>]) {
        let r = &self.relational;
        let old: Vec<Material> = before.iter().flatten().cloned().collect();
        let new: Vec<String> = ids
            .iter()
            .zip(before)
            .filter(|(_, b)| b.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        let undo = async {
            r.delete(&new).await?;
            if !old.is_empty() {
                r.upsert(&old).await?;
            }
            Ok(())
        };
        if let Err(e) = self.timed(r.name(), StoreOp::Rollback, undo).await {
            tracing::error!(error = %e, "materials: could not roll the relational store back; run `respite reindex`");
        }
    }

    /// Vector points for `batch`: dense (one embedder call) and sparse.
    pub async fn points(&self, batch: &[Material]) -> Result<Vec<VectorPoint>, MaterialsError> {
        let texts: Vec<String> = batch.iter().map(Material::embedding_text).collect();
        let dense = self.embed(&texts).await?;
        Ok(batch
            .iter()
            .zip(dense)
            .zip(&texts)
            .map(|((m, dense), text)| VectorPoint {
                id: m.id.clone(),
                dense,
                sparse: self.bm25.document(text),
                payload: payload(m),
            })
            .collect())
    }

    /// Delete `ids` from both stores; how many existed. If the relational
    /// delete fails, the vector points are put back.
    pub async fn delete(&self, ids: &[String]) -> Result<u64, MaterialsError> {
        let r = &self.relational;
        let before = self
            .backend(self.timed(r.name(), StoreOp::Get, r.get_many(ids)))
            .await?;
        let v = &self.vector;
        self.backend(self.timed(v.name(), StoreOp::Delete, v.delete(ids)))
            .await?;
        match self
            .backend(self.timed(r.name(), StoreOp::Delete, r.delete(ids)))
            .await
        {
            Ok(n) => {
                self.counters.writes.fetch_add(n, Ordering::Relaxed);
                Ok(n)
            }
            Err(e) => {
                let old: Vec<Material> = before.into_iter().flatten().collect();
                let restored = match self.points(&old).await {
                    Ok(points) => self
                        .timed(v.name(), StoreOp::Upsert, v.upsert(points))
                        .await
                        .is_ok(),
                    Err(_) => false,
                };
                if !restored {
                    tracing::error!("materials: vector points of a failed delete not restored; run `respite reindex`");
                }
                Err(e)
            }
        }
    }

    /// After a write of `ids`: drop their keys and the generation in L1 at
    /// once (read-your-writes here), then in L2 (everyone else).
    pub async fn invalidate(&self, t: Tiers<'_>, ids: &[String]) {
        let mut keys: Vec<Bytes> = ids.iter().map(|id| self.keys.material(id)).collect();
        self.counters
            .invalidations
            .fetch_add(keys.len() as u64 + 1, Ordering::Relaxed);
        keys.push(self.keys.generation().clone());
        t.cache.apply_write(&WriteEffect::Keys(keys.clone()));
        keys.pop();
        let generation = self.keys.generation().clone();
        if let Err(e) = self
            .l2
            .invalidate(t.upstream, &keys, Some(&generation))
            .await
        {
            bump(&self.counters.l2_errors);
            tracing::warn!(error = %e, "materials: could not invalidate L2; cached copies expire on their TTL");
        }
        // Drop again: a read that raced the upstream write may have filled.
        t.cache.apply_write(&WriteEffect::Keys(
            ids.iter()
                .map(|id| self.keys.material(id))
                .chain(std::iter::once(generation))
                .collect(),
        ));
    }

    /// `MINVALIDATE pattern`: SCAN + UNLINK under the prefix in bounded
    /// batches; how many keys were dropped.
    pub async fn invalidate_pattern(
        &self,
        t: Tiers<'_>,
        pattern: &[u8],
    ) -> Result<u64, MaterialsError> {
        let glob = self.keys.pattern(pattern);
        let mut cursor = Bytes::from_static(b"0");
        let mut dropped = 0;
        loop {
            let (next, keys) = self.l2.scan(t.upstream, &cursor, &glob).await?;
            if !keys.is_empty() {
                t.cache.apply_write(&WriteEffect::Keys(keys.clone()));
                dropped += self.l2.unlink(t.upstream, &keys).await?;
            }
            if &next[..] == b"0" {
                break;
            }
            cursor = next;
        }
        self.counters
            .invalidations
            .fetch_add(dropped, Ordering::Relaxed);
        Ok(dropped)
    }
}

/// The payload the vector store keeps for filtering.
pub fn payload(m: &Material) -> serde_json::Map<String, serde_json::Value> {
    let mut p = serde_json::Map::new();
    p.insert("id".into(), m.id.clone().into());
    p.insert("name".into(), m.name.clone().into());
    p.insert("category".into(), m.category.clone().into());
    p.insert("supplier".into(), m.supplier.clone().into());
    p.insert("unit".into(), m.unit.clone().into());
    p.insert("sku".into(), m.sku.clone().into());
    p.insert("price".into(), m.price.into());
    p.insert(
        "attributes".into(),
        serde_json::Value::Object(m.attributes.clone()),
    );
    p
}

fn read_info(read: &TrackedValues, i: usize) -> ReadInfo {
    ReadInfo {
        tracked: read.tracked,
        pttl: read.ttls.get(i).copied().flatten(),
        sent: read.sent,
    }
}

fn to_stored(hits: &[(Material, f32)]) -> Vec<StoredHit> {
    hits.iter()
        .map(|(m, s)| StoredHit {
            score: *s,
            material: m.clone(),
        })
        .collect()
}

fn parse_hits(v: &[u8]) -> Option<Vec<(Material, f32)>> {
    let stored: Vec<StoredHit> = serde_json::from_slice(v).ok()?;
    Some(stored.into_iter().map(|h| (h.material, h.score)).collect())
}
