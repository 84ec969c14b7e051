//! What clients ask for most: the queries and ids `MWARM` loads when given
//! nothing. Bounded: once full, only entries already known are counted.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use dashmap::DashMap;

/// Request counts of searches (by their arguments) and of material ids.
#[derive(Debug)]
pub struct Recorder {
    cap: usize,
    searches: DashMap<Vec<Bytes>, AtomicU64>,
    ids: DashMap<String, AtomicU64>,
}

impl Recorder {
    /// Remember at most `cap` searches and `cap` ids.
    pub fn new(cap: usize) -> Self {
        Recorder {
            cap,
            searches: DashMap::new(),
            ids: DashMap::new(),
        }
    }

    /// Count a search, by its `MSEARCH` arguments.
    pub fn search(&self, args: &[Bytes]) {
        count(&self.searches, args, self.cap, <[Bytes]>::to_vec);
    }

    /// Count reads of material ids.
    pub fn ids(&self, ids: &[String]) {
        for id in ids {
            count(&self.ids, id.as_str(), self.cap, str::to_string);
        }
    }

    /// The `n` most requested searches, most requested first.
    pub fn top_searches(&self, n: usize) -> Vec<Vec<Bytes>> {
        top(&self.searches, n)
    }

    /// The `n` most requested ids, most requested first.
    pub fn top_ids(&self, n: usize) -> Vec<String> {
        top(&self.ids, n)
    }
}

fn count<K, Q>(map: &DashMap<K, AtomicU64>, key: &Q, cap: usize, own: impl Fn(&Q) -> K)
where
    K: std::hash::Hash + Eq + std::borrow::Borrow<Q>,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(c) = map.get(key) {
        c.fetch_add(1, Ordering::Relaxed);
    } else if map.len() < cap {
        map.entry(own(key))
            .or_insert_with(|| AtomicU64::new(0))
            .fetch_add(1, Ordering::Relaxed);
    }
}

fn top<K: Clone + std::hash::Hash + Eq>(map: &DashMap<K, AtomicU64>, n: usize) -> Vec<K> {
    let mut all: Vec<(u64, K)> = map
        .iter()
        .map(|e| (e.value().load(Ordering::Relaxed), e.key().clone()))
        .collect();
    all.sort_by_key(|e| std::cmp::Reverse(e.0));
    all.into_iter().take(n).map(|(_, k)| k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_and_stays_bounded() {
        let r = Recorder::new(2);
        r.ids(&["a".into(), "b".into(), "b".into(), "c".into()]);
        assert_eq!(r.top_ids(5), vec!["b".to_string(), "a".to_string()]);
        r.search(&[Bytes::from("x")]);
        r.search(&[Bytes::from("y")]);
        r.search(&[Bytes::from("y")]);
        assert_eq!(r.top_searches(1), vec![vec![Bytes::from("y")]]);
    }
}
