//! What clients ask for most: the queries and ids `MWARM` loads when given
//! nothing. Bounded: once full, only entries already known are counted.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;

/// Request counts of searches (by their arguments) and of material ids.
#[derive(Debug)]
pub struct Recorder {
    cap: usize,
    searches: Table<Vec<Bytes>>,
    ids: Table<String>,
}

/// Counts per key, with the number of keys kept beside the map: once the
/// table is full every unknown key asks for it, and `DashMap::len` would
/// lock every shard each time.
#[derive(Debug)]
struct Table<K: std::hash::Hash + Eq> {
    map: DashMap<K, AtomicU64>,
    len: AtomicUsize,
}

impl<K: std::hash::Hash + Eq> Default for Table<K> {
    fn default() -> Self {
        Table {
            map: DashMap::new(),
            len: AtomicUsize::new(0),
        }
    }
}

impl Recorder {
    /// Remember at most `cap` searches and `cap` ids.
    pub fn new(cap: usize) -> Self {
        Recorder {
            cap,
            searches: Table::default(),
            ids: Table::default(),
        }
    }

    /// Count a search, by its `MSEARCH` arguments.
    pub fn search(&self, args: &[Bytes]) {
        count(&self.searches, args, self.cap, <[Bytes]>::to_vec);
    }

    /// Count reads of material ids.
    pub fn ids(&self, ids: &[&str]) {
        for id in ids {
            count(&self.ids, *id, self.cap, str::to_string);
        }
    }

    /// The `n` most requested searches, most requested first.
    pub fn top_searches(&self, n: usize) -> Vec<Vec<Bytes>> {
        top(&self.searches.map, n)
    }

    /// The `n` most requested ids, most requested first.
    pub fn top_ids(&self, n: usize) -> Vec<String> {
        top(&self.ids.map, n)
    }
}

fn count<K, Q>(table: &Table<K>, key: &Q, cap: usize, own: impl Fn(&Q) -> K)
where
    K: std::hash::Hash + Eq + std::borrow::Borrow<Q>,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(c) = table.map.get(key) {
        c.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if table.len.load(Ordering::Relaxed) >= cap {
        return;
    }
    match table.map.entry(own(key)) {
        Entry::Occupied(e) => {
            e.get().fetch_add(1, Ordering::Relaxed);
        }
        Entry::Vacant(e) => {
            e.insert(AtomicU64::new(1));
            table.len.fetch_add(1, Ordering::Relaxed);
        }
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
        r.ids(&["a", "b", "b", "c"]);
        assert_eq!(r.top_ids(5), vec!["b".to_string(), "a".to_string()]);
        r.search(&[Bytes::from("x")]);
        r.search(&[Bytes::from("y")]);
        r.search(&[Bytes::from("y")]);
        assert_eq!(r.top_searches(1), vec![vec![Bytes::from("y")]]);
    }
}
