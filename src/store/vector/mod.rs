//! Vector stores: Qdrant over gRPC and embedded qdrant-edge.
//!
//! Both backends lay a collection out the same way: a dense vector named
//! [`DENSE`] (cosine) and a sparse BM25 vector named [`SPARSE`] with the
//! IDF modifier, one point per material keyed by [`point_id`], and a
//! payload that always carries the material id under `"id"`. What both
//! need to agree on lives here, free of either client's types: which
//! payload fields are indexed ([`PAYLOAD_INDEXES`]), how a
//! [`SearchFilter`] becomes conditions ([`conditions`]), how a
//! [`VectorQuery`] is planned ([`plan`]) and how fused hybrid results are
//! paged ([`page_fused`]). Each backend only translates.
//!
//! [`point_id`]: super::point_id

pub mod edge;
pub mod qdrant;

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::{
    Hit, SearchFilter, SearchMode, Sparse, StoreError, VectorPoint, VectorQuery, VectorStore,
};

/// Name of the dense vector in a point.
pub const DENSE: &str = "dense";
/// Name of the sparse (BM25) vector in a point.
pub const SPARSE: &str = "bm25";
/// The payload field holding the material id.
pub const ID_FIELD: &str = "id";
/// Reciprocal-rank-fusion constant `k` (score of rank `r`, from 0, is
/// `1 / (r + k)`); 2 is Qdrant's own default.
pub const RRF_K: usize = 2;
/// Fewest candidates each hybrid prefetch fetches before fusion.
pub const HYBRID_PREFETCH_MIN: usize = 64;
/// Points per write request (keeps gRPC messages well under limits).
pub const WRITE_CHUNK: usize = 256;

/// The kind of a payload index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexKind {
    /// Exact string match.
    Keyword,
    /// Numeric range.
    Float,
}

/// The payload fields that get an index, and of which kind.
pub const PAYLOAD_INDEXES: &[(&str, IndexKind)] = &[
    (ID_FIELD, IndexKind::Keyword),
    ("category", IndexKind::Keyword),
    ("supplier", IndexKind::Keyword),
    ("unit", IndexKind::Keyword),
    ("sku", IndexKind::Keyword),
    ("price", IndexKind::Float),
];

/// One payload condition, backend-neutral.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    /// `key` equals the string `value`.
    Keyword {
        /// Payload path.
        key: String,
        /// Value.
        value: String,
    },
    /// `key` equals the integer `value`.
    Integer {
        /// Payload path.
        key: String,
        /// Value.
        value: i64,
    },
    /// `key` equals the boolean `value`.
    Bool {
        /// Payload path.
        key: String,
        /// Value.
        value: bool,
    },
    /// `key` is a number within the bounds (inclusive; `None` is open).
    Range {
        /// Payload path.
        key: String,
        /// Lower bound.
        gte: Option<f64>,
        /// Upper bound.
        lte: Option<f64>,
    },
    /// At least one of these holds.
    AnyOf(Vec<Cond>),
}

/// The conditions a [`SearchFilter`] means, all of which must hold
/// (empty: no filter).
///
/// A `fields` entry `(path, value)` matches the value as a string, and
/// also as an integer, a boolean or a number when it reads as one, so
/// `attributes.thickness_mm 12` finds `{"thickness_mm": 12}` and
/// `{"thickness_mm": "12"}` alike.
pub fn conditions(filter: &SearchFilter) -> Vec<Cond> {
    let mut out = Vec::new();
    if let Some(c) = &filter.category {
        out.push(Cond::Keyword {
            key: "category".into(),
            value: c.clone(),
        });
    }
    if let Some(s) = &filter.supplier {
        out.push(Cond::Keyword {
            key: "supplier".into(),
            value: s.clone(),
        });
    }
    if let Some((min, max)) = filter.price {
        out.push(Cond::Range {
            key: "price".into(),
            gte: min.is_finite().then_some(min),
            lte: max.is_finite().then_some(max),
        });
    }
    for (path, value) in &filter.fields {
        let mut any = vec![Cond::Keyword {
            key: path.clone(),
            value: value.clone(),
        }];
        let trimmed = value.trim();
        if let Ok(i) = trimmed.parse::<i64>() {
            any.push(Cond::Integer {
                key: path.clone(),
                value: i,
            });
        } else if let Ok(f) = trimmed.parse::<f64>() {
            if f.is_finite() {
                any.push(Cond::Range {
                    key: path.clone(),
                    gte: Some(f),
                    lte: Some(f),
                });
            }
        } else if let Ok(b) = trimmed.parse::<bool>() {
            any.push(Cond::Bool {
                key: path.clone(),
                value: b,
            });
        }
        out.push(Cond::AnyOf(any));
    }
    out
}

/// What a [`VectorQuery`] asks the store to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// Nearest by the dense vector; the store pages (`limit`, `offset`).
    Dense(Vec<f32>),
    /// Nearest by the sparse vector; the store pages.
    Sparse(Sparse),
    /// Both, each fetching `prefetch` candidates, fused by RRF; the store
    /// returns up to `fused` hits from offset 0 and [`page_fused`] pages.
    Hybrid {
        /// Dense query.
        dense: Vec<f32>,
        /// Sparse query.
        sparse: Sparse,
        /// Candidates per prefetch.
        prefetch: usize,
        /// Fused hits to ask for (every candidate).
        fused: usize,
    },
}

/// Plan `q`. Hybrid with only one of the two vectors degrades to that
/// one; `None` when there is nothing to do (`limit` 0). Fails when the
/// mode's vector is missing.
///
/// The hybrid prefetch size only changes at powers of two (at least
/// [`HYBRID_PREFETCH_MIN`]), so consecutive pages within one bucket fuse
/// the same candidates and page consistently.
pub fn plan(q: &VectorQuery) -> Result<Option<Plan>, String> {
    if q.limit == 0 {
        return Ok(None);
    }
    let plan = match (q.mode, &q.dense, &q.sparse) {
        (SearchMode::Dense, Some(d), _) | (SearchMode::Hybrid, Some(d), None) => {
            Plan::Dense(d.clone())
        }
        (SearchMode::Sparse, _, Some(s)) | (SearchMode::Hybrid, None, Some(s)) => {
            Plan::Sparse(s.clone())
        }
        (SearchMode::Hybrid, Some(d), Some(s)) => {
            let prefetch = q
                .limit
                .saturating_add(q.offset)
                .max(HYBRID_PREFETCH_MIN)
                .checked_next_power_of_two()
                .unwrap_or(usize::MAX);
            Plan::Hybrid {
                dense: d.clone(),
                sparse: s.clone(),
                prefetch,
                fused: prefetch.saturating_mul(2),
            }
        }
        (SearchMode::Dense, None, _) => return Err("dense search without a dense vector".into()),
        (SearchMode::Sparse, _, None) => return Err("sparse search without a sparse vector".into()),
        (SearchMode::Hybrid, None, None) => {
            return Err("hybrid search without a dense or sparse vector".into())
        }
    };
    Ok(Some(plan))
}

/// Page fused hits: best score first, ties broken by id so that pages
/// are stable (RRF produces many equal scores and the stores do not
/// break ties), then skip `offset` and keep `limit`.
pub fn page_fused(mut hits: Vec<Hit>, limit: usize, offset: usize) -> Vec<Hit> {
    hits.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.id.cmp(&b.id))
    });
    hits.into_iter().skip(offset).take(limit).collect()
}

/// The payload stored for `point`: its payload with `"id"` set to the
/// material id (hits are mapped back through it).
pub fn stored_payload(point: &VectorPoint) -> Map<String, Value> {
    let mut payload = point.payload.clone();
    payload.insert(ID_FIELD.into(), Value::String(point.id.clone()));
    payload
}

/// The error for an existing collection whose dense dimension differs.
pub fn dim_mismatch(store: &'static str, existing: usize, wanted: usize) -> StoreError {
    StoreError::failed(
        store,
        format!(
            "collection has dense vectors of dimension {existing}, but dimension {wanted} \
             was requested (reindex into a fresh collection to change it)"
        ),
    )
}

/// The configured vector store.
#[derive(Debug)]
pub enum Vector {
    /// Embedded qdrant-edge.
    Edge(edge::EdgeStore),
    /// Qdrant server over gRPC.
    Qdrant(qdrant::QdrantStore),
}

impl VectorStore for Vector {
    fn name(&self) -> &'static str {
        match self {
            Vector::Edge(s) => s.name(),
            Vector::Qdrant(s) => s.name(),
        }
    }

    async fn ensure(&self, dim: usize) -> Result<(), StoreError> {
        match self {
            Vector::Edge(s) => s.ensure(dim).await,
            Vector::Qdrant(s) => s.ensure(dim).await,
        }
    }

    async fn upsert(&self, points: Vec<VectorPoint>) -> Result<(), StoreError> {
        match self {
            Vector::Edge(s) => s.upsert(points).await,
            Vector::Qdrant(s) => s.upsert(points).await,
        }
    }

    async fn delete(&self, ids: &[String]) -> Result<(), StoreError> {
        match self {
            Vector::Edge(s) => s.delete(ids).await,
            Vector::Qdrant(s) => s.delete(ids).await,
        }
    }

    async fn search(&self, q: &VectorQuery) -> Result<Vec<Hit>, StoreError> {
        match self {
            Vector::Edge(s) => s.search(q).await,
            Vector::Qdrant(s) => s.search(q).await,
        }
    }

    async fn count(&self) -> Result<u64, StoreError> {
        match self {
            Vector::Edge(s) => s.count().await,
            Vector::Qdrant(s) => s.count().await,
        }
    }

    async fn clear(&self) -> Result<(), StoreError> {
        match self {
            Vector::Edge(s) => s.clear().await,
            Vector::Qdrant(s) => s.clear().await,
        }
    }

    async fn optimize(&self) -> Result<(), StoreError> {
        match self {
            Vector::Edge(s) => s.optimize().await,
            Vector::Qdrant(s) => s.optimize().await,
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Vector::Edge(s) => s.ping().await,
            Vector::Qdrant(s) => s.ping().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str, score: f32) -> Hit {
        Hit {
            id: id.into(),
            score,
        }
    }

    #[test]
    fn fields_match_as_string_and_number() {
        let f = SearchFilter {
            fields: vec![
                ("a.n".into(), "12".into()),
                ("a.x".into(), "1.5".into()),
                ("a.b".into(), "true".into()),
                ("a.s".into(), "red".into()),
            ],
            ..Default::default()
        };
        let c = conditions(&f);
        assert_eq!(c.len(), 4);
        assert!(matches!(&c[0], Cond::AnyOf(v) if v.len() == 2
            && v[1] == Cond::Integer { key: "a.n".into(), value: 12 }));
        assert!(matches!(&c[1], Cond::AnyOf(v) if v.len() == 2
            && matches!(v[1], Cond::Range { gte: Some(_), lte: Some(_), .. })));
        assert!(matches!(&c[2], Cond::AnyOf(v) if v.len() == 2
            && v[1] == Cond::Bool { key: "a.b".into(), value: true }));
        assert!(matches!(&c[3], Cond::AnyOf(v) if v.len() == 1));
    }

    #[test]
    fn open_price_bounds() {
        let f = SearchFilter {
            price: Some((f64::NEG_INFINITY, 10.0)),
            ..Default::default()
        };
        assert_eq!(
            conditions(&f),
            vec![Cond::Range {
                key: "price".into(),
                gte: None,
                lte: Some(10.0)
            }]
        );
    }

    #[test]
    fn hybrid_prefetch_is_bucketed() {
        let q = |limit, offset| VectorQuery {
            dense: Some(vec![1.0]),
            sparse: Some(Sparse::default()),
            mode: SearchMode::Hybrid,
            filter: SearchFilter::default(),
            limit,
            offset,
        };
        let prefetch = |q: &VectorQuery| match plan(q).unwrap().unwrap() {
            Plan::Hybrid { prefetch, .. } => prefetch,
            other => panic!("{other:?}"),
        };
        assert_eq!(prefetch(&q(2, 0)), 64);
        assert_eq!(prefetch(&q(2, 62)), 64);
        assert_eq!(prefetch(&q(10, 60)), 128);
        assert!(plan(&q(0, 0)).unwrap().is_none());
    }

    #[test]
    fn hybrid_degrades_and_missing_vectors_fail() {
        let mut q = VectorQuery {
            dense: None,
            sparse: Some(Sparse::default()),
            mode: SearchMode::Hybrid,
            filter: SearchFilter::default(),
            limit: 1,
            offset: 0,
        };
        assert!(matches!(plan(&q), Ok(Some(Plan::Sparse(_)))));
        q.mode = SearchMode::Dense;
        assert!(plan(&q).is_err());
    }

    #[test]
    fn fused_pages_break_ties_by_id() {
        let hits = vec![hit("c", 0.5), hit("a", 0.5), hit("b", 0.9), hit("d", 0.1)];
        let ids = |v: Vec<Hit>| v.into_iter().map(|h| h.id).collect::<Vec<_>>();
        assert_eq!(ids(page_fused(hits.clone(), 2, 0)), ["b", "a"]);
        assert_eq!(ids(page_fused(hits.clone(), 2, 2)), ["c", "d"]);
        assert_eq!(ids(page_fused(hits, 10, 5)), Vec::<String>::new());
    }
}
