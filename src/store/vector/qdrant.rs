//! The production vector store: a Qdrant server over gRPC.
//!
//! One collection with the layout described in [`super`]; hybrid search
//! is one Query API call with a dense and a sparse prefetch fused by
//! RRF. Writes wait for the server to apply them, so a search right after
//! an upsert sees it.

use std::time::Duration;

use qdrant_client::qdrant::{
    value::Kind, vectors_config, CollectionStatus, Condition, CountPointsBuilder,
    CreateCollectionBuilder, CreateFieldIndexCollectionBuilder, DeletePointsBuilder, Distance,
    FieldType, Filter, Modifier, NamedVectors, PayloadIncludeSelector, PointId, PointStruct,
    PointsIdsList, PrefetchQueryBuilder, Query, QueryPointsBuilder, Range, RrfBuilder, ScoredPoint,
    SparseVectorParamsBuilder, SparseVectorsConfigBuilder, UpsertPointsBuilder, Vector as QVector,
    VectorInput, VectorParamsBuilder, VectorsConfigBuilder,
};
use qdrant_client::{Payload, Qdrant};

use super::{
    conditions, dim_mismatch, page_fused, plan, stored_payload, Cond, IndexKind, Plan, DENSE,
    ID_FIELD, PAYLOAD_INDEXES, RRF_K, SPARSE, WRITE_CHUNK,
};
use crate::store::{point_id, Hit, StoreError, VectorPoint, VectorQuery, VectorStore};

const NAME: &str = "qdrant";
/// How often [`QdrantStore::optimize`] polls the collection's status.
const OPTIMIZE_POLL: Duration = Duration::from_millis(250);

fn failed(reason: impl std::fmt::Display) -> StoreError {
    StoreError::failed(NAME, reason)
}

/// A collection on a Qdrant server.
pub struct QdrantStore {
    client: Qdrant,
    collection: String,
}

impl std::fmt::Debug for QdrantStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QdrantStore")
            .field("url", &self.client.config.uri)
            .field("collection", &self.collection)
            .finish_non_exhaustive()
    }
}

impl QdrantStore {
    /// A client for `collection` at `url` (the gRPC port, usually 6334),
    /// every request bounded by `timeout`. Connects lazily: an unreachable
    /// server shows on the first call ([`ping`](VectorStore::ping)).
    pub async fn connect(
        url: &str,
        collection: &str,
        api_key: Option<&str>,
        timeout: Duration,
    ) -> Result<QdrantStore, StoreError> {
        if collection.is_empty() {
            return Err(failed("empty collection name"));
        }
        let client = Qdrant::from_url(url)
            .api_key(api_key.map(str::to_owned))
            .timeout(timeout)
            .connect_timeout(timeout)
            // The check would block on a health check and print to stdout.
            .skip_compatibility_check()
            .build()
            .map_err(|e| failed(format!("{url}: {e}")))?;
        Ok(QdrantStore {
            client,
            collection: collection.to_owned(),
        })
    }

    /// The collection's name.
    pub fn collection(&self) -> &str {
        &self.collection
    }

    /// Drop the whole collection (tests, tear-down). Absent is fine.
    pub async fn drop_collection(&self) -> Result<(), StoreError> {
        if self.exists().await? {
            self.client
                .delete_collection(self.collection.as_str())
                .await
                .map_err(failed)?;
        }
        Ok(())
    }

    async fn exists(&self) -> Result<bool, StoreError> {
        self.client
            .collection_exists(self.collection.as_str())
            .await
            .map_err(failed)
    }

    async fn create(&self, dim: usize) -> Result<(), StoreError> {
        let mut dense = VectorsConfigBuilder::default();
        dense.add_named_vector_params(
            DENSE,
            VectorParamsBuilder::new(dim as u64, Distance::Cosine),
        );
        let mut sparse = SparseVectorsConfigBuilder::default();
        sparse.add_named_vector_params(
            SPARSE,
            SparseVectorParamsBuilder::default().modifier(Modifier::Idf),
        );
        self.client
            .create_collection(
                CreateCollectionBuilder::new(self.collection.as_str())
                    .vectors_config(dense)
                    .sparse_vectors_config(sparse),
            )
            .await
            .map(|_| ())
            .map_err(failed)
    }

    /// The dense dimension of the existing collection, checking its
    /// layout; and which payload fields are indexed.
    async fn layout(&self) -> Result<(usize, Vec<String>), StoreError> {
        let info = self
            .client
            .collection_info(self.collection.as_str())
            .await
            .map_err(failed)?
            .result
            .ok_or_else(|| failed("collection info missing from the reply"))?;
        let params = info.config.and_then(|c| c.params);
        let dense = params
            .as_ref()
            .and_then(|p| p.vectors_config.as_ref())
            .and_then(|v| match &v.config {
                Some(vectors_config::Config::ParamsMap(m)) => m.map.get(DENSE).map(|p| p.size),
                _ => None,
            });
        let Some(dim) = dense else {
            return Err(failed(format!(
                "collection {} has no dense vector named {DENSE:?} (not created by respite?)",
                self.collection
            )));
        };
        let has_sparse = params
            .as_ref()
            .and_then(|p| p.sparse_vectors_config.as_ref())
            .is_some_and(|s| s.map.contains_key(SPARSE));
        if !has_sparse {
            return Err(failed(format!(
                "collection {} has no sparse vector named {SPARSE:?} (not created by respite?)",
                self.collection
            )));
        }
        Ok((dim as usize, info.payload_schema.into_keys().collect()))
    }
}

fn condition(c: Cond) -> Condition {
    match c {
        Cond::Keyword { key, value } => Condition::matches(key, value),
        Cond::Integer { key, value } => Condition::matches(key, value),
        Cond::Bool { key, value } => Condition::matches(key, value),
        Cond::Range { key, gte, lte } => Condition::range(
            key,
            Range {
                gte,
                lte,
                ..Default::default()
            },
        ),
        Cond::AnyOf(any) => Filter::should(any.into_iter().map(condition)).into(),
    }
}

fn filter(q: &VectorQuery) -> Option<Filter> {
    let must = conditions(&q.filter);
    (!must.is_empty()).then(|| Filter::must(must.into_iter().map(condition)))
}

fn point(p: VectorPoint) -> PointStruct {
    let payload = Payload::from(stored_payload(&p));
    let vectors = NamedVectors::default()
        .add_vector(DENSE, QVector::new_dense(p.dense))
        .add_vector(
            SPARSE,
            QVector::new_sparse(p.sparse.indices, p.sparse.values),
        );
    PointStruct::new(point_id(&p.id), vectors, payload)
}

fn hits(points: Vec<ScoredPoint>) -> Vec<Hit> {
    points
        .into_iter()
        .filter_map(|mut p| {
            let id = match p.payload.remove(ID_FIELD)?.kind? {
                Kind::StringValue(s) => s,
                _ => return None,
            };
            Some(Hit { id, score: p.score })
        })
        .collect()
}

impl VectorStore for QdrantStore {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn ensure(&self, dim: usize) -> Result<(), StoreError> {
        if dim == 0 {
            return Err(failed("dense dimension must be at least 1"));
        }
        if !self.exists().await? {
            if let Err(e) = self.create(dim).await {
                // Another instance may have created it meanwhile.
                if !self.exists().await? {
                    return Err(e);
                }
            }
        }
        let (have, indexed) = self.layout().await?;
        if have != dim {
            return Err(dim_mismatch(NAME, have, dim));
        }
        for (field, kind) in PAYLOAD_INDEXES {
            if indexed.iter().any(|f| f == field) {
                continue;
            }
            let kind = match kind {
                IndexKind::Keyword => FieldType::Keyword,
                IndexKind::Float => FieldType::Float,
            };
            self.client
                .create_field_index(
                    CreateFieldIndexCollectionBuilder::new(self.collection.as_str(), *field, kind)
                        .wait(true),
                )
                .await
                .map_err(|e| failed(format!("creating the index on {field}: {e}")))?;
        }
        Ok(())
    }

    async fn upsert(&self, points: Vec<VectorPoint>) -> Result<(), StoreError> {
        let mut points = points.into_iter().map(point).peekable();
        while points.peek().is_some() {
            let chunk: Vec<PointStruct> = points.by_ref().take(WRITE_CHUNK).collect();
            self.client
                .upsert_points(UpsertPointsBuilder::new(self.collection.as_str(), chunk).wait(true))
                .await
                .map_err(failed)?;
        }
        Ok(())
    }

    async fn delete(&self, ids: &[String]) -> Result<(), StoreError> {
        for chunk in ids.chunks(WRITE_CHUNK) {
            let ids: Vec<PointId> = chunk.iter().map(|id| point_id(id).into()).collect();
            self.client
                .delete_points(
                    DeletePointsBuilder::new(self.collection.as_str())
                        .points(PointsIdsList { ids })
                        .wait(true),
                )
                .await
                .map_err(failed)?;
        }
        Ok(())
    }

    async fn search(&self, q: &VectorQuery) -> Result<Vec<Hit>, StoreError> {
        let Some(plan) = plan(q).map_err(failed)? else {
            return Ok(Vec::new());
        };
        let mut request = QueryPointsBuilder::new(self.collection.as_str()).with_payload(
            PayloadIncludeSelector {
                fields: vec![ID_FIELD.to_owned()],
            },
        );
        // The top-level filter also applies inside every prefetch.
        if let Some(f) = filter(q) {
            request = request.filter(f);
        }
        let fused = matches!(plan, Plan::Hybrid { .. });
        request = match plan {
            Plan::Dense(d) => request
                .query(Query::new_nearest(VectorInput::new_dense(d)))
                .using(DENSE)
                .limit(q.limit as u64)
                .offset(q.offset as u64),
            Plan::Sparse(s) => request
                .query(Query::new_nearest(VectorInput::new_sparse(
                    s.indices, s.values,
                )))
                .using(SPARSE)
                .limit(q.limit as u64)
                .offset(q.offset as u64),
            Plan::Hybrid {
                dense,
                sparse,
                prefetch,
                fused,
            } => request
                .add_prefetch(
                    PrefetchQueryBuilder::default()
                        .query(Query::new_nearest(VectorInput::new_dense(dense)))
                        .using(DENSE)
                        .limit(prefetch as u64),
                )
                .add_prefetch(
                    PrefetchQueryBuilder::default()
                        .query(Query::new_nearest(VectorInput::new_sparse(
                            sparse.indices,
                            sparse.values,
                        )))
                        .using(SPARSE)
                        .limit(prefetch as u64),
                )
                .query(Query::new_rrf(RrfBuilder::with_k(RRF_K as u32)))
                .limit(fused as u64),
        };
        let found = hits(self.client.query(request).await.map_err(failed)?.result);
        Ok(if fused {
            page_fused(found, q.limit, q.offset)
        } else {
            found
        })
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let reply = self
            .client
            .count(CountPointsBuilder::new(self.collection.as_str()).exact(true))
            .await
            .map_err(failed)?;
        Ok(reply.result.map_or(0, |r| r.count))
    }

    async fn clear(&self) -> Result<(), StoreError> {
        // An empty filter matches every point.
        self.client
            .delete_points(
                DeletePointsBuilder::new(self.collection.as_str())
                    .points(Filter::default())
                    .wait(true),
            )
            .await
            .map(|_| ())
            .map_err(failed)
    }

    /// The server optimizes by itself; this waits until it has (status no
    /// longer yellow). Bound it with [`timed`](crate::store::timed).
    async fn optimize(&self) -> Result<(), StoreError> {
        loop {
            let status = self
                .client
                .collection_info(self.collection.as_str())
                .await
                .map_err(failed)?
                .result
                .map(|i| i.status());
            match status {
                Some(CollectionStatus::Yellow) => tokio::time::sleep(OPTIMIZE_POLL).await,
                Some(CollectionStatus::Red) => {
                    return Err(failed(format!(
                        "collection {} is red (optimization failed)",
                        self.collection
                    )))
                }
                _ => return Ok(()),
            }
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client.health_check().await.map(|_| ()).map_err(failed)
    }
}
