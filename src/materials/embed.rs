//! Embeddings: the dense vectors and BM25 sparse vectors a material and a
//! search text are turned into.
//!
//! Three dense embedders sit behind [`Embedder`]: the built-in
//! [`HashEmbedder`] (feature hashing of words and character n-grams; no model
//! weights, identical on every machine), an OpenAI-compatible HTTP service
//! ([`HttpEmbedder`]), or a vector the client sends itself
//! ([`vector_from_blob`]). [`Bm25`] builds the sparse side for mixed
//! Russian/English text.

use std::time::Duration;

use qdrant_edge::bm25_embed::{EdgeBm25, EdgeBm25Config};
use qdrant_edge::external::ordered_float::NotNan;
use qdrant_edge::SparseVector;
use serde::Deserialize;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::store::Sparse;

/// Dimension of the built-in embedder unless configured otherwise: a
/// balance of memory, speed and hash-collision noise for catalogue texts.
pub const DEFAULT_DIM: usize = 256;

/// Why an embedding could not be made. Messages read well after a
/// `BACKEND ` prefix and name the service.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmbedError {
    /// The service did not answer within the timeout.
    #[error("embedder {service}: timed out after {ms} ms")]
    Timeout {
        /// The endpoint called.
        service: String,
        /// The timeout that elapsed.
        ms: u64,
    },
    /// The service answered with a non-success HTTP status.
    #[error("embedder {service}: HTTP {status}: {body}")]
    Status {
        /// The endpoint called.
        service: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The service was unreachable or its answer was unusable.
    #[error("embedder {service}: {reason}")]
    Failed {
        /// The endpoint called.
        service: String,
        /// What went wrong.
        reason: String,
    },
    /// The embedder could not be built from its configuration.
    #[error("embedder config: {0}")]
    Config(String),
}

// ---------------------------------------------------------------------------
// Text normalisation shared by the hash embedder and BM25.

/// Lowercase and fold `ё` to `е`, so spelling variants meet.
fn normalise(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect()
}

/// The words of already-normalised text: runs of alphanumerics.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

// ---------------------------------------------------------------------------
// HashEmbedder

/// Words too common to say anything about a material.
const STOP_WORDS: &[&str] = &[
    "и", "в", "во", "на", "для", "с", "со", "по", "из", "от", "до", "к", "а", "the", "and", "of",
    "for", "with", "to", "in", "on", "a", "an",
];

/// Weight of a whole-word feature relative to one character n-gram.
const WORD_WEIGHT: f32 = 1.5;
/// Hash seeds, one per feature kind, so "abc" the word and "abc" the
/// trigram land in different buckets.
const SEED_WORD: u64 = 0x5157_4f52_4401;
const SEED_GRAM3: u64 = 0x5157_4752_3302;
const SEED_GRAM4: u64 = 0x5157_4752_3403;
/// Word boundary markers padded around each word before n-gramming.
const BOUNDARY_START: char = '<';
const BOUNDARY_END: char = '>';

/// The built-in dense embedder: signed feature hashing of whole words and
/// boundary-padded character 3- and 4-grams, L2-normalised. Needs no model
/// weights and gives the same vector for the same text everywhere (xxh3 with
/// fixed seeds), so stored vectors stay valid across restarts and versions.
/// The n-grams make inflections and typos ("цемент"/"цемента",
/// "plasterbord") land close together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashEmbedder {
    dim: usize,
}

impl Default for HashEmbedder {
    fn default() -> Self {
        HashEmbedder { dim: DEFAULT_DIM }
    }
}

impl HashEmbedder {
    /// An embedder producing `dim`-dimensional vectors (`dim` ≥ 1).
    pub fn new(dim: usize) -> Result<Self, EmbedError> {
        if dim == 0 {
            return Err(EmbedError::Config("dimension must be at least 1".into()));
        }
        Ok(HashEmbedder { dim })
    }

    /// Vector length.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Embed one text. Text with no content words (only punctuation or
    /// stop words) is hashed whole, so only blank text gives the zero
    /// vector, which cosine search cannot rank.
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0; self.dim];
        let text = normalise(text);
        let mut chars = Vec::with_capacity(32);
        let mut any = false;
        for word in words(&text).filter(|w| !STOP_WORDS.contains(w)) {
            self.add_word(&mut v, word, &mut chars);
            any = true;
        }
        let trimmed = text.trim();
        if !any && !trimmed.is_empty() {
            self.add_feature(&mut v, trimmed.as_bytes(), SEED_WORD, 1.0);
        }
        l2_normalise(&mut v);
        v
    }

    /// Add one word's features, scaled so each word has about unit weight
    /// whatever its length (so "plaster board" and "plasterboard" balance).
    fn add_word(&self, v: &mut [f32], word: &str, chars: &mut Vec<char>) {
        chars.clear();
        chars.push(BOUNDARY_START);
        chars.extend(word.chars());
        chars.push(BOUNDARY_END);
        let grams = chars.len().saturating_sub(2) + chars.len().saturating_sub(3);
        let scale = 1.0 / (WORD_WEIGHT * WORD_WEIGHT + grams as f32).sqrt();
        self.add_feature(v, word.as_bytes(), SEED_WORD, WORD_WEIGHT * scale);
        let mut buf = [0u8; 16];
        for (n, seed) in [(3, SEED_GRAM3), (4, SEED_GRAM4)] {
            for gram in chars.windows(n) {
                self.add_feature(v, encode(gram, &mut buf), seed, scale);
            }
        }
    }

    /// Add `weight` to the feature's bucket, signed by a hash bit.
    fn add_feature(&self, v: &mut [f32], feature: &[u8], seed: u64, weight: f32) {
        let h = xxh3_64_with_seed(feature, seed);
        let bucket = (h % self.dim as u64) as usize;
        let sign = if h >> 63 == 1 { -1.0 } else { 1.0 };
        v[bucket] += sign * weight;
    }
}

/// UTF-8 encode up to four chars into `buf` (4 × 4 bytes fits).
fn encode<'a>(chars: &[char], buf: &'a mut [u8; 16]) -> &'a [u8] {
    let mut len = 0;
    for c in chars {
        len += c.encode_utf8(&mut buf[len..]).len();
    }
    &buf[..len]
}

/// Scale `v` to unit length (the zero vector stays zero).
fn l2_normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

// ---------------------------------------------------------------------------
// BM25

/// Expected length (tokens) of a material's embedding text, for BM25's
/// length normalisation: a name, a category and a sentence or two.
const BM25_AVG_LEN: f64 = 24.0;

/// BM25 sparse vectors for mixed Russian/English text. Cyrillic words go
/// through a Russian pipeline (Russian stemmer and stopwords), everything
/// else through an English one, so "кирпича" and "bricks" are both stemmed
/// by the right rules. Term ids are qdrant's (murmur3), so vectors are
/// compatible with a Qdrant server's BM25.
#[derive(Debug)]
pub struct Bm25 {
    russian: EdgeBm25,
    english: EdgeBm25,
}

impl Bm25 {
    /// Build both language pipelines.
    pub fn new() -> Result<Self, EmbedError> {
        Ok(Bm25 {
            russian: bm25_for("russian")?,
            english: bm25_for("english")?,
        })
    }

    /// The sparse vector stored for a material's text (TF weights).
    pub fn document(&self, text: &str) -> Sparse {
        let (ru, other) = split_by_script(text);
        merge(
            self.russian.embed_document(&ru),
            self.english.embed_document(&other),
        )
    }

    /// The sparse vector searched with (unit weights).
    pub fn query(&self, text: &str) -> Sparse {
        let (ru, other) = split_by_script(text);
        merge(
            self.russian.embed_query(&ru),
            self.english.embed_query(&other),
        )
    }
}

fn bm25_for(language: &str) -> Result<EdgeBm25, EmbedError> {
    let avg_len = NotNan::new(BM25_AVG_LEN)
        .map_err(|e| EmbedError::Config(format!("BM25 average length: {e}")))?;
    let config = EdgeBm25Config {
        language: Some(language.to_string()),
        avg_len,
        ..EdgeBm25Config::default()
    };
    EdgeBm25::new(config).map_err(|e| EmbedError::Config(format!("BM25 ({language}): {e}")))
}

/// Split text into its Cyrillic words and all other words (Latin, digits),
/// each normalised and joined by spaces. A word counts as Cyrillic if any
/// of its letters is ("м500" goes with the Russian words).
fn split_by_script(text: &str) -> (String, String) {
    let text = normalise(text);
    let (mut cyrillic, mut other) = (String::new(), String::new());
    for word in words(&text) {
        let out = if word.chars().any(is_cyrillic) {
            &mut cyrillic
        } else {
            &mut other
        };
        out.push_str(word);
        out.push(' ');
    }
    (cyrillic, other)
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04FF}' | '\u{0500}'..='\u{052F}')
}

/// Merge two sparse vectors into one with ascending unique indices,
/// summing the weights of an index both contain.
fn merge(a: SparseVector, b: SparseVector) -> Sparse {
    let mut pairs: Vec<(u32, f32)> = a
        .indices
        .into_iter()
        .zip(a.values)
        .chain(b.indices.into_iter().zip(b.values))
        .collect();
    pairs.sort_unstable_by_key(|&(i, _)| i);
    let mut out = Sparse {
        indices: Vec::with_capacity(pairs.len()),
        values: Vec::with_capacity(pairs.len()),
    };
    for (i, w) in pairs {
        match (out.indices.last(), out.values.last_mut()) {
            (Some(&last), Some(acc)) if last == i => *acc += w,
            _ => {
                out.indices.push(i);
                out.values.push(w);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// HttpEmbedder

/// Longest part of an error response body quoted in an error (chars).
const ERROR_BODY_CHARS: usize = 200;

/// A dense embedder served over HTTP by anything speaking OpenAI's
/// embeddings API (vLLM, TEI, Ollama, LocalAI, OpenAI itself behind a
/// plain-http gateway): for production-quality vectors when a model is
/// available. One request embeds a whole batch.
#[derive(Clone, Debug)]
pub struct HttpEmbedder {
    url: String,
    model: String,
    dim: usize,
    timeout: Duration,
    client: reqwest::Client,
}

/// The part of an embeddings response we read.
#[derive(Deserialize)]
struct EmbeddingsResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

impl HttpEmbedder {
    /// An embedder calling `POST {url}/v1/embeddings` (or `url` itself if
    /// it already ends with `/embeddings`; `{url}/embeddings` if it ends
    /// with `/v1`) with `model`, expecting `dim`-value vectors, giving up on
    /// a call after `timeout`. Only plain `http://` is supported.
    pub fn new(url: &str, model: &str, dim: usize, timeout: Duration) -> Result<Self, EmbedError> {
        if !url.starts_with("http://") {
            return Err(EmbedError::Config(format!(
                "url '{url}' must start with http:// (this build has no TLS)"
            )));
        }
        if dim == 0 {
            return Err(EmbedError::Config("dimension must be at least 1".into()));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .build()
            .map_err(|e| EmbedError::Config(format!("HTTP client: {e}")))?;
        Ok(HttpEmbedder {
            url: endpoint(url),
            model: model.to_string(),
            dim,
            timeout,
            client,
        })
    }

    /// The endpoint called.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Vector length.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Embed `texts` in one request, vectors in the same order.
    pub async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        match tokio::time::timeout(self.timeout, self.call(texts)).await {
            Ok(result) => result,
            Err(_) => Err(EmbedError::Timeout {
                service: self.url.clone(),
                ms: self.timeout.as_millis() as u64,
            }),
        }
    }

    async fn call(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let body = serde_json::json!({ "model": self.model, "input": texts });
        let response = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.failed(error_chain(&e)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.failed(format!("reading the body: {}", error_chain(&e))))?;
        if !status.is_success() {
            return Err(EmbedError::Status {
                service: self.url.clone(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(ERROR_BODY_CHARS)
                    .collect(),
            });
        }
        let parsed: EmbeddingsResponse = serde_json::from_slice(&bytes)
            .map_err(|e| self.failed(format!("bad response body: {e}")))?;
        self.vectors(parsed.data, texts.len())
    }

    /// The response's vectors in input order, each checked.
    fn vectors(
        &self,
        mut items: Vec<EmbeddingItem>,
        expected: usize,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        if items.len() != expected {
            return Err(self.failed(format!(
                "bad response body: {} embeddings for {expected} inputs",
                items.len()
            )));
        }
        if items.iter().all(|item| item.index.is_some()) {
            items.sort_by_key(|item| item.index);
        }
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| self.check(i, item))
            .collect()
    }

    fn check(&self, position: usize, item: EmbeddingItem) -> Result<Vec<f32>, EmbedError> {
        if item.index.is_some_and(|index| index != position) {
            return Err(self.failed("bad response body: duplicate or missing index"));
        }
        if item.embedding.len() != self.dim {
            return Err(self.failed(format!(
                "bad response body: embedding {position} has {} values, expected {}",
                item.embedding.len(),
                self.dim
            )));
        }
        if item.embedding.iter().any(|x| !x.is_finite()) {
            return Err(self.failed(format!(
                "bad response body: embedding {position} has a non-finite value"
            )));
        }
        Ok(item.embedding)
    }

    fn failed(&self, reason: impl Into<String>) -> EmbedError {
        EmbedError::Failed {
            service: self.url.clone(),
            reason: reason.into(),
        }
    }
}

/// The embeddings endpoint for a configured base URL.
fn endpoint(url: &str) -> String {
    let base = url.trim_end_matches('/');
    if base.ends_with("/embeddings") {
        base.to_string()
    } else if base.ends_with("/v1") {
        format!("{base}/embeddings")
    } else {
        format!("{base}/v1/embeddings")
    }
}

/// An error and its sources, joined: reqwest's top-level message alone
/// ("error sending request") hides the reason ("Connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

// ---------------------------------------------------------------------------
// Embedder

/// The configured dense embedder, chosen at startup: callers embed through
/// this and need not know which one runs.
#[derive(Clone, Debug)]
pub enum Embedder {
    /// The built-in hash embedder (default; no model needed).
    Builtin(HashEmbedder),
    /// An HTTP embedding service.
    Http(HttpEmbedder),
}

impl Embedder {
    /// Vector length, which the vector store's collection must match.
    pub fn dim(&self) -> usize {
        match self {
            Embedder::Builtin(e) => e.dim(),
            Embedder::Http(e) => e.dim(),
        }
    }

    /// What runs, for INFO and logs: `builtin` or the HTTP endpoint.
    pub fn name(&self) -> &str {
        match self {
            Embedder::Builtin(_) => "builtin",
            Embedder::Http(e) => e.url(),
        }
    }

    /// Embed `texts`, vectors in the same order. The built-in embedder
    /// runs inline (microseconds per text), never on another task.
    pub async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        match self {
            Embedder::Builtin(e) => Ok(texts.iter().map(|t| e.embed(t)).collect()),
            Embedder::Http(e) => e.embed(texts).await,
        }
    }
}

// ---------------------------------------------------------------------------
// Client-supplied vectors

/// Decode a client's `VECTOR <blob>`: `dim` float32 values, little-endian,
/// as RediSearch clients send them. Refuses a wrong length or a NaN/inf.
pub fn vector_from_blob(blob: &[u8], dim: usize) -> Result<Vec<f32>, String> {
    let expected = dim * 4;
    if blob.len() != expected {
        return Err(format!(
            "vector blob has {} bytes, expected {expected} ({dim} float32 values)",
            blob.len()
        ));
    }
    let vector: Vec<f32> = blob
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    match vector.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(format!("vector value {i} is not a finite number")),
        None => Ok(vector),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn sim(a: &str, b: &str) -> f32 {
        let e = HashEmbedder::default();
        cosine(&e.embed(a), &e.embed(b))
    }

    #[test]
    fn hash_embedder_is_deterministic_and_normalised() {
        let a = HashEmbedder::new(DEFAULT_DIM).unwrap();
        let b = HashEmbedder::default();
        let text = "Цемент М500 Евроцемент 50 кг";
        let v = a.embed(text);
        assert_eq!(v, b.embed(text));
        assert_eq!(v.len(), DEFAULT_DIM);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        assert!(a.embed(" \t ").iter().all(|&x| x == 0.0));
        for odd in [" ,.; ", "и", "!!!"] {
            let v = a.embed(odd);
            let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{odd:?}");
        }
        assert_eq!(HashEmbedder::new(64).unwrap().embed(text).len(), 64);
        assert!(HashEmbedder::new(0).is_err());
        // Case and ё do not matter.
        assert_eq!(a.embed("ЩЁТКА"), a.embed("щетка"));
    }

    #[test]
    fn hash_embedder_groups_inflections_and_typos() {
        let unrelated = [
            sim("цемент", "плитка"),
            sim("кирпич облицовочный", "краска фасадная"),
            sim("plasterboard", "roofing felt"),
            sim("цемент", "кабель"),
        ];
        let max_unrelated = unrelated.into_iter().fold(f32::MIN, f32::max);
        assert!(max_unrelated < 0.25, "unrelated {unrelated:?}");
        let related = [
            ("цемент", "цемента"),
            ("цемент", "цементный"),
            ("кирпич облицовочный", "облицовочного кирпича"),
            ("plasterboard", "plaster board"),
            ("plasterboard", "plasterbord"),
            ("гипсокартон", "гипсокартона"),
            ("утеплитель", "утиплитель"),
            ("Цемент М500 50 кг", "цемент м500"),
        ];
        for (a, b) in related {
            let s = sim(a, b);
            assert!(
                s > max_unrelated + 0.3,
                "{a} ~ {b}: {s} vs unrelated {max_unrelated}"
            );
        }
    }

    fn assert_sorted_unique(s: &Sparse) {
        assert_eq!(s.indices.len(), s.values.len());
        assert!(!s.indices.is_empty());
        assert!(s.indices.windows(2).all(|w| w[0] < w[1]), "{s:?}");
        assert!(s.values.iter().all(|v| v.is_finite() && *v > 0.0));
    }

    #[test]
    fn bm25_merges_scripts_sorted_and_unique() {
        let bm25 = Bm25::new().unwrap();
        for text in [
            "Кирпич облицовочный красный",
            "Facing brick red",
            "Гипсокартон Knauf влагостойкий 12,5 мм plasterboard",
        ] {
            assert_sorted_unique(&bm25.document(text));
            assert_sorted_unique(&bm25.query(text));
        }
        // Russian stemming puts inflections on the same term.
        assert_eq!(bm25.query("кирпича").indices, bm25.query("кирпичи").indices);
        assert_eq!(bm25.query("bricks").indices, bm25.query("brick").indices);
        // The mixed text holds both halves' terms.
        let mixed = bm25.query("кирпич brick");
        let ru = bm25.query("кирпич");
        let en = bm25.query("brick");
        assert!(ru.indices.iter().all(|i| mixed.indices.contains(i)));
        assert!(en.indices.iter().all(|i| mixed.indices.contains(i)));
    }

    #[test]
    fn merge_sums_collisions() {
        let a = SparseVector {
            indices: vec![1, 5],
            values: vec![1.0, 2.0],
        };
        let b = SparseVector {
            indices: vec![3, 5],
            values: vec![0.5, 0.25],
        };
        let m = merge(a, b);
        assert_eq!(m.indices, vec![1, 3, 5]);
        assert_eq!(m.values, vec![1.0, 0.5, 2.25]);
    }

    #[test]
    fn blob_parsing() {
        let values = [0.5f32, -1.25, 3.0];
        let blob: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(vector_from_blob(&blob, 3).unwrap(), values);
        let err = vector_from_blob(&blob[..11], 3).unwrap_err();
        assert!(
            err.contains("11 bytes") && err.contains("expected 12"),
            "{err}"
        );
        let mut nan = blob.clone();
        nan[4..8].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(vector_from_blob(&nan, 3).unwrap_err().contains("value 1"));
        let mut inf = blob;
        inf[..4].copy_from_slice(&f32::INFINITY.to_le_bytes());
        assert!(vector_from_blob(&inf, 3).is_err());
    }

    #[test]
    fn endpoints() {
        assert_eq!(endpoint("http://h:1"), "http://h:1/v1/embeddings");
        assert_eq!(endpoint("http://h:1/"), "http://h:1/v1/embeddings");
        assert_eq!(endpoint("http://h:1/v1"), "http://h:1/v1/embeddings");
        assert_eq!(
            endpoint("http://h:1/api/embeddings"),
            "http://h:1/api/embeddings"
        );
        assert!(HttpEmbedder::new("https://h", "m", 3, Duration::from_secs(1)).is_err());
    }

    /// Serve one HTTP exchange on a fresh port: read the request, answer
    /// `status` with `body` (or never answer if `body` is `None`). The
    /// request text comes back through the join handle.
    async fn one_shot_server(
        status: &'static str,
        body: Option<String>,
    ) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let request = read_request(&mut sock).await;
            match body {
                Some(body) => {
                    let reply = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    sock.write_all(reply.as_bytes()).await.unwrap();
                    sock.shutdown().await.unwrap();
                }
                None => tokio::time::sleep(Duration::from_secs(10)).await,
            }
            request
        });
        (url, handle)
    }

    /// Read headers and a content-length body.
    async fn read_request(sock: &mut tokio::net::TcpStream) -> String {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = sock.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len || n == 0 {
                    return text;
                }
            }
            if n == 0 {
                return text;
            }
        }
    }

    fn texts(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn http_embedder_reads_vectors_in_index_order() {
        let body = r#"{"object":"list","model":"m","data":[
            {"object":"embedding","index":1,"embedding":[0.0,1.0,0.0]},
            {"object":"embedding","index":0,"embedding":[1.0,0.0,0.5]}]}"#;
        let (url, server) = one_shot_server("200 OK", Some(body.to_string())).await;
        let e = HttpEmbedder::new(&url, "test-model", 3, Duration::from_secs(5)).unwrap();
        let embedder = Embedder::Http(e);
        assert_eq!(embedder.dim(), 3);
        let v = embedder.embed(&texts(&["цемент", "brick"])).await.unwrap();
        assert_eq!(v, vec![vec![1.0, 0.0, 0.5], vec![0.0, 1.0, 0.0]]);
        let request = server.await.unwrap();
        assert!(
            request.starts_with("POST /v1/embeddings HTTP/1.1"),
            "{request}"
        );
        let json_start = request.find('{').unwrap();
        let sent: serde_json::Value = serde_json::from_str(&request[json_start..]).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({"model": "test-model", "input": ["цемент", "brick"]})
        );
    }

    #[tokio::test]
    async fn http_embedder_reports_bad_answers() {
        let cases = [
            (
                "200 OK",
                r#"{"data":[{"embedding":[1.0,2.0]}]}"#,
                "2 values, expected 3",
            ),
            ("200 OK", r#"{"data":[]}"#, "0 embeddings for 1 inputs"),
            ("200 OK", "not json", "bad response body"),
            (
                "500 Internal Server Error",
                "model not loaded",
                "HTTP 500: model not loaded",
            ),
        ];
        for (status, body, want) in cases {
            let (url, _server) = one_shot_server(status, Some(body.to_string())).await;
            let e = HttpEmbedder::new(&url, "m", 3, Duration::from_secs(5)).unwrap();
            let err = e.embed(&texts(&["x"])).await.unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("embedder {url}/v1/embeddings: ")),
                "{err}"
            );
            assert!(err.contains(want), "{err} lacks {want}");
        }
    }

    #[tokio::test]
    async fn http_embedder_times_out_and_names_unreachable() {
        let (url, server) = one_shot_server("200 OK", None).await;
        let e = HttpEmbedder::new(&url, "m", 3, Duration::from_millis(200)).unwrap();
        let started = std::time::Instant::now();
        let err = tokio::time::timeout(Duration::from_secs(5), e.embed(&texts(&["x"])))
            .await
            .expect("the embedder's own timeout must fire first")
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            err.to_string(),
            format!("embedder {url}/v1/embeddings: timed out after 200 ms")
        );
        server.abort();

        // A port nobody listens on.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let e = HttpEmbedder::new(&url, "m", 3, Duration::from_secs(2)).unwrap();
        let err = e.embed(&texts(&["x"])).await.unwrap_err();
        assert!(matches!(err, EmbedError::Failed { .. }), "{err}");
    }

    #[tokio::test]
    async fn builtin_embedder_through_the_enum() {
        let embedder = Embedder::Builtin(HashEmbedder::default());
        assert_eq!(embedder.name(), "builtin");
        let v = embedder.embed(&texts(&["a b", "c"])).await.unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].len(), DEFAULT_DIM);
        assert!(embedder.embed(&[]).await.unwrap().is_empty());
    }

    #[test]
    fn bm25_and_embedders_are_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Bm25>();
        assert_send_sync::<Embedder>();
    }

    /// Not a benchmark: prints the cost of one builtin embed for the record.
    #[test]
    fn builtin_embed_speed() {
        let e = HashEmbedder::default();
        let text = "Кирпич облицовочный красный одинарный Braer Строительные материалы";
        let n = 20_000;
        let started = std::time::Instant::now();
        let mut sink = 0.0;
        for _ in 0..n {
            sink += e.embed(text)[0];
        }
        let per = started.elapsed().as_secs_f64() * 1e6 / n as f64;
        eprintln!("builtin embed: {per:.2} µs per text ({sink})");
    }
}
