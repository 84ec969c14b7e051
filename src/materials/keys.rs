//! Cache keys of the materials tiers: deterministic, so every instance
//! that shares the upstream finds what another stored.
//!
//! - `{prefix}material:{id}`: one material's JSON;
//! - `{prefix}gen`: the search generation, incremented by every write;
//! - `{prefix}search:{gen}:{hash}`: a search result, where `hash` is
//!   XXH3-128 of the normalised query, the canonical filters, the limits,
//!   the mode and any client vector. A write bumps the generation, so every
//!   cached search is unreachable at once (O(1)) and expires on its TTL.

use bytes::Bytes;

use crate::store::{SearchFilter, SearchMode};

/// Builds the keys under one prefix.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
    generation: Bytes,
}

impl Keys {
    /// Keys under `prefix` (e.g. `rag_materials:`).
    pub fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.to_string(),
            generation: Bytes::from(format!("{prefix}gen")),
        }
    }

    /// The key of material `id`.
    pub fn material(&self, id: &str) -> Bytes {
        let mut key = Vec::new();
        self.material_into(&mut key, id);
        Bytes::from(key)
    }

    /// The key of material `id`, written over `key` (so a batch of look-ups
    /// reuses one buffer instead of allocating a key per id).
    pub fn material_into(&self, key: &mut Vec<u8>, id: &str) {
        key.clear();
        key.extend_from_slice(self.prefix.as_bytes());
        key.extend_from_slice(b"material:");
        key.extend_from_slice(id.as_bytes());
    }

    /// The search generation key.
    pub fn generation(&self) -> &Bytes {
        &self.generation
    }

    /// The key of a search with canonical `hash` under generation `gen`.
    pub fn search(&self, generation: u64, hash: &str) -> Bytes {
        Bytes::from(format!("{}search:{generation}:{hash}", self.prefix))
    }

    /// A glob over the prefix (`MINVALIDATE pattern`).
    pub fn pattern(&self, pattern: &[u8]) -> Bytes {
        let mut p = self.prefix.as_bytes().to_vec();
        p.extend_from_slice(pattern);
        Bytes::from(p)
    }
}

/// Everything an `MSEARCH` asks, parsed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchRequest {
    /// The query text.
    pub query: String,
    /// How many results.
    pub limit: usize,
    /// How many best results to skip.
    pub offset: usize,
    /// Payload conditions.
    pub filter: SearchFilter,
    /// A query vector given by the client (`VECTOR blob`).
    pub vector: Option<Vec<f32>>,
    /// Dense, sparse or both.
    pub mode: SearchMode,
    /// Add each result's score.
    pub with_scores: bool,
    /// Bypass both cache tiers (read and fill).
    pub no_cache: bool,
}

/// Lower case, `ё` as `е`, runs of whitespace as one space, trimmed: the
/// forms of a query that must share a cache entry.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars().flat_map(char::to_lowercase) {
            out.push(if c == 'ё' { 'е' } else { c });
        }
    }
    out
}

impl SearchRequest {
    /// The canonical hash of everything that changes the result (not
    /// `WITHSCORES`, which changes only the reply's shape).
    pub fn cache_hash(&self) -> String {
        let mut c = Vec::with_capacity(self.query.len() + 64);
        let mut field = |tag: &str, value: &[u8]| {
            c.extend_from_slice(tag.as_bytes());
            c.extend_from_slice(&(value.len() as u32).to_le_bytes());
            c.extend_from_slice(value);
        };
        field("q", normalise(&self.query).as_bytes());
        field("l", &(self.limit as u64).to_le_bytes());
        field("o", &(self.offset as u64).to_le_bytes());
        field("m", mode_name(self.mode).as_bytes());
        let f = &self.filter;
        field("c", f.category.as_deref().unwrap_or("\u{0}").as_bytes());
        field("s", f.supplier.as_deref().unwrap_or("\u{0}").as_bytes());
        if let Some((lo, hi)) = f.price {
            field("p", &[lo.to_le_bytes(), hi.to_le_bytes()].concat());
        }
        let mut fields = f.fields.clone();
        fields.sort();
        for (k, v) in &fields {
            field("f", k.as_bytes());
            field("v", v.as_bytes());
        }
        if let Some(vec) = &self.vector {
            let bytes: Vec<u8> = vec.iter().flat_map(|x| x.to_le_bytes()).collect();
            field("x", &bytes);
        }
        format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&c))
    }
}

/// The mode's name in `MSEARCH … MODE`.
pub fn mode_name(mode: SearchMode) -> &'static str {
    match mode {
        SearchMode::Dense => "dense",
        SearchMode::Sparse => "sparse",
        SearchMode::Hybrid => "hybrid",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(q: &str) -> SearchRequest {
        SearchRequest {
            query: q.into(),
            limit: 10,
            ..Default::default()
        }
    }

    #[test]
    fn equivalent_queries_share_a_key() {
        assert_eq!(
            req("  Цемент   М500 ").cache_hash(),
            req("цемент м500").cache_hash()
        );
        assert_eq!(req("ёлка").cache_hash(), req("елка").cache_hash());
        let mut a = req("x");
        a.filter.fields = vec![("a".into(), "1".into()), ("b".into(), "2".into())];
        let mut b = req("x");
        b.filter.fields = vec![("b".into(), "2".into()), ("a".into(), "1".into())];
        assert_eq!(a.cache_hash(), b.cache_hash());
        b.with_scores = true;
        assert_eq!(a.cache_hash(), b.cache_hash());
    }

    #[test]
    fn anything_that_changes_results_changes_the_key() {
        let base = req("цемент");
        let mut variants = vec![req("цемент м400")];
        let mut v = base.clone();
        v.limit = 11;
        variants.push(v);
        let mut v = base.clone();
        v.offset = 1;
        variants.push(v);
        let mut v = base.clone();
        v.mode = SearchMode::Dense;
        variants.push(v);
        let mut v = base.clone();
        v.filter.category = Some("Цемент".into());
        variants.push(v);
        let mut v = base.clone();
        v.filter.supplier = Some("Цемент".into());
        variants.push(v);
        let mut v = base.clone();
        v.filter.price = Some((0.0, 10.0));
        variants.push(v);
        let mut v = base.clone();
        v.vector = Some(vec![0.5; 4]);
        variants.push(v);
        for v in variants {
            assert_ne!(base.cache_hash(), v.cache_hash(), "{v:?}");
        }
    }

    #[test]
    fn keys_have_the_prefix() {
        let k = Keys::new("rag_materials:");
        assert_eq!(k.material("m-1"), "rag_materials:material:m-1");
        assert_eq!(k.generation(), "rag_materials:gen");
        assert_eq!(k.search(3, "ab"), "rag_materials:search:3:ab");
        assert_eq!(k.pattern(b"search:*"), "rag_materials:search:*");
    }
}
