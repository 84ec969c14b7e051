//! `[materials]`: the catalogue commands, their cache tiers and the two
//! stores behind them. The defaults are the embedded ones (SQLite and
//! qdrant-edge under `./data`, the built-in embedder), so a bare `respite`
//! serves `MSEARCH` with nothing else installed.

use serde::{Deserialize, Serialize};

use super::{at_least, invalid, max_ms, max_secs, ConfigError};

/// `[materials]`: what the catalogue commands cache, for how long, and
/// where the records and vectors live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaterialsConfig {
    /// Serve the catalogue commands (false: they answer an error).
    pub enabled: bool,
    /// Prefix of every cache key in the upstream Redis (L2).
    pub prefix: String,
    /// Lifetime of a cached search result.
    pub search_ttl_secs: u64,
    /// Lifetime of a cached material.
    pub material_ttl_secs: u64,
    /// How long a HEALTH answer is reused.
    pub health_ttl_secs: u64,
    /// `MSEARCH` results when no LIMIT is given.
    pub default_limit: usize,
    /// Largest LIMIT accepted.
    pub max_limit: usize,
    /// Largest OFFSET accepted.
    pub max_offset: usize,
    /// Most ids or records one command may carry.
    pub max_batch: usize,
    /// Deadline of every store and embedder call.
    pub timeout_ms: u64,
    /// On first start with an empty embedded (SQLite) store, generate this
    /// many demo materials; 0 = never. Never applies to Postgres.
    pub seed_on_empty: usize,
    /// How many recorded queries and ids a bare `MWARM` loads.
    pub warm_top: usize,
    /// The relational store.
    pub relational: RelationalConfig,
    /// The vector store.
    pub vector: VectorConfig,
    /// How text becomes vectors.
    pub embedder: EmbedderConfig,
}

impl Default for MaterialsConfig {
    fn default() -> Self {
        MaterialsConfig {
            enabled: true,
            prefix: "rag_materials:".to_string(),
            search_ttl_secs: 300,
            material_ttl_secs: 3600,
            health_ttl_secs: 60,
            default_limit: 10,
            max_limit: 100,
            max_offset: 10_000,
            max_batch: 1000,
            timeout_ms: 5000,
            seed_on_empty: 2000,
            warm_top: 100,
            relational: RelationalConfig::default(),
            vector: VectorConfig::default(),
            embedder: EmbedderConfig::default(),
        }
    }
}

/// `[materials.relational]`: where the records live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelationalConfig {
    /// `sqlite://path/to/file.db` (embedded) or `postgres://user@host/db`.
    pub url: String,
    /// Connection pool size.
    pub max_connections: u32,
}

impl RelationalConfig {
    /// The store the URL names: `postgres` or `sqlite` (what HEALTH and
    /// INFO call it before it is open).
    pub fn kind(&self) -> &'static str {
        if self.url.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        }
    }
}

impl Default for RelationalConfig {
    fn default() -> Self {
        RelationalConfig {
            url: "sqlite://data/materials.db".to_string(),
            max_connections: 8,
        }
    }
}

/// Which vector store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VectorBackend {
    /// qdrant-edge, in process, under `path`.
    #[default]
    Edge,
    /// A Qdrant server over gRPC at `url`.
    Qdrant,
}

/// `[materials.vector]`: where the embeddings live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VectorConfig {
    /// `edge` or `qdrant`.
    pub backend: VectorBackend,
    /// qdrant-edge's directory.
    pub path: String,
    /// Qdrant's gRPC address.
    pub url: String,
    /// Qdrant collection name.
    pub collection: String,
    /// Qdrant API key ("" = none).
    pub api_key: String,
}

impl VectorConfig {
    /// The store's name: `qdrant-edge` or `qdrant`.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            VectorBackend::Edge => "qdrant-edge",
            VectorBackend::Qdrant => "qdrant",
        }
    }
}

impl Default for VectorConfig {
    fn default() -> Self {
        VectorConfig {
            backend: VectorBackend::Edge,
            path: "data/vectors".to_string(),
            url: "http://127.0.0.1:6334".to_string(),
            collection: "materials".to_string(),
            api_key: String::new(),
        }
    }
}

/// Which dense embedder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbedderKind {
    /// Hashed words and character n-grams: no weights, deterministic.
    #[default]
    Builtin,
    /// An OpenAI-compatible `/v1/embeddings` service at `url`.
    Http,
}

/// `[materials.embedder]`: how text becomes a dense vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbedderConfig {
    /// `builtin` or `http`.
    pub kind: EmbedderKind,
    /// Vector dimension (the HTTP model's, when `http`).
    pub dim: usize,
    /// The embedding service (`http` only).
    pub url: String,
    /// The model name sent to it.
    pub model: String,
}

impl Default for EmbedderConfig {
    fn default() -> Self {
        EmbedderConfig {
            kind: EmbedderKind::Builtin,
            dim: 256,
            url: String::new(),
            model: String::new(),
        }
    }
}

impl MaterialsConfig {
    /// Check ranges and combinations; errors name the dotted key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.prefix.is_empty() || self.prefix.contains(['*', '?', '[', ']']) {
            return Err(invalid(
                "materials.prefix",
                "must be non-empty and free of glob characters (* ? [ ])",
            ));
        }
        for (key, secs) in [
            ("materials.search_ttl_secs", self.search_ttl_secs),
            ("materials.material_ttl_secs", self.material_ttl_secs),
            ("materials.health_ttl_secs", self.health_ttl_secs),
        ] {
            max_secs(key, secs)?;
            at_least(key, secs as usize, 1)?;
        }
        at_least("materials.max_limit", self.max_limit, 1)?;
        at_least("materials.default_limit", self.default_limit, 1)?;
        if self.default_limit > self.max_limit {
            return Err(invalid(
                "materials.default_limit",
                format!("must not exceed materials.max_limit ({})", self.max_limit),
            ));
        }
        at_least("materials.max_batch", self.max_batch, 1)?;
        at_least("materials.timeout_ms", self.timeout_ms as usize, 1)?;
        max_ms("materials.timeout_ms", self.timeout_ms)?;
        at_least(
            "materials.relational.max_connections",
            self.relational.max_connections as usize,
            1,
        )?;
        let url = &self.relational.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "materials.relational.url",
                format!("expected sqlite://FILE or postgres://…, got {url:?}"),
            ));
        }
        if !(8..=4096).contains(&self.embedder.dim) {
            return Err(invalid(
                "materials.embedder.dim",
                format!("must be between 8 and 4096, got {}", self.embedder.dim),
            ));
        }
        if self.embedder.kind == EmbedderKind::Http && self.embedder.url.is_empty() {
            return Err(invalid(
                "materials.embedder.url",
                "must be set when materials.embedder.kind = \"http\"",
            ));
        }
        Ok(())
    }

    /// Whether the relational store is the embedded SQLite one.
    pub fn is_embedded(&self) -> bool {
        self.relational.url.starts_with("sqlite:")
    }
}
