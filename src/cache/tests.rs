//! Tests of the L1 store as a whole.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;

use super::*;

fn config(budget: u64) -> L1Config {
    L1Config {
        budget_bytes: budget,
        max_value_bytes: 1024,
        max_ttl: Duration::from_secs(60),
        admit_min_reads: 1,
        allow: Vec::new(),
        deny: Vec::new(),
    }
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// What the proxy does on a miss: read (miss), take a ticket, fill.
fn miss_and_fill(l1: &L1, key: &str, variant: &str, reply: &str) -> FillOutcome {
    assert_eq!(l1.get(key.as_bytes(), variant.as_bytes()), None);
    let t = l1.ticket(key.as_bytes());
    l1.fill(&b(key), variant.as_bytes(), b(reply), None, t)
}

/// Poll `cond` until it holds or `limit` passes.
fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(2));
    }
    cond()
}

#[test]
fn l1_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<L1>();
}

#[test]
fn get_fill_invalidate() {
    let l1 = L1::new(config(1 << 20));
    assert_eq!(
        miss_and_fill(&l1, "k", "get", "$1\r\nv\r\n"),
        FillOutcome::Filled
    );
    assert_eq!(l1.get(b"k", b"get"), Some(b("$1\r\nv\r\n")));
    assert_eq!(l1.get(b"k", b"strlen"), None, "another variant");
    assert_eq!(
        miss_and_fill(&l1, "k", "strlen", ":1\r\n"),
        FillOutcome::Filled
    );
    assert_eq!(
        l1.get(b"k", b"get"),
        Some(b("$1\r\nv\r\n")),
        "variants coexist"
    );
    let st = l1.stats();
    assert_eq!((st.keys, st.entries, st.admissions), (1, 2, 2));
    l1.invalidate(b"k");
    assert_eq!(l1.get(b"k", b"get"), None);
    assert_eq!(l1.get(b"k", b"strlen"), None);
    let st = l1.stats();
    assert_eq!(
        (st.keys, st.entries, st.bytes, st.invalidations),
        (0, 0, 0, 1)
    );
    assert_eq!((st.hits, st.misses), (2, 5));
}

#[test]
fn fill_after_invalidate_since_ticket_is_stale() {
    let l1 = L1::new(config(1 << 20));
    l1.get(b"k", b"v");
    let t = l1.ticket(b"k");
    l1.invalidate(b"k");
    assert_eq!(
        l1.fill(&b("k"), b"v", b("old"), None, t),
        FillOutcome::Stale
    );
    assert_eq!(l1.get(b"k", b"v"), None);
    let t = l1.ticket(b"k");
    assert_eq!(
        l1.fill(&b("k"), b"v", b("new"), None, t),
        FillOutcome::Filled
    );
    assert_eq!(l1.get(b"k", b"v"), Some(b("new")));
    assert_eq!(l1.stats().stale_fills, 1);
}

#[test]
fn fill_after_flush_since_ticket_is_stale() {
    let l1 = L1::new(config(1 << 20));
    assert_eq!(miss_and_fill(&l1, "a", "v", "1"), FillOutcome::Filled);
    let t = l1.ticket(b"b");
    l1.get(b"b", b"v");
    l1.flush();
    assert_eq!(l1.get(b"a", b"v"), None);
    assert_eq!(l1.fill(&b("b"), b"v", b("2"), None, t), FillOutcome::Stale);
    let st = l1.stats();
    assert_eq!((st.keys, st.entries, st.bytes, st.flushes), (0, 0, 0, 1));
}

#[test]
fn a_ticket_for_another_key_is_stale() {
    let l1 = L1::new(config(1 << 20));
    l1.get(b"k", b"v");
    let t = l1.ticket(b"other");
    assert_eq!(l1.fill(&b("k"), b"v", b("x"), None, t), FillOutcome::Stale);
}

/// An invalidation has bumped the key's version but not yet removed its
/// node when a newer read fills another variant: the old node's replies
/// must not be carried into the new one.
#[test]
fn replies_from_before_an_invalidation_are_not_carried_over() {
    let l1 = L1::new(config(1 << 20));
    assert_eq!(miss_and_fill(&l1, "k", "a", "old"), FillOutcome::Filled);
    l1.versions.bump(l1.hash(b"k"));
    assert_eq!(miss_and_fill(&l1, "k", "b", "new"), FillOutcome::Filled);
    assert_eq!(l1.get(b"k", b"a"), None, "stale variant survived");
    assert_eq!(l1.get(b"k", b"b"), Some(b("new")));
    assert_eq!(l1.stats().entries, 1);
}

#[test]
fn admission_waits_for_enough_reads() {
    let l1 = L1::new(L1Config {
        admit_min_reads: 2,
        ..config(1 << 20)
    });
    assert_eq!(miss_and_fill(&l1, "k", "v", "x"), FillOutcome::NotAdmitted);
    assert_eq!(miss_and_fill(&l1, "k", "v", "x"), FillOutcome::Filled);
    assert_eq!(l1.get(b"k", b"v"), Some(b("x")));
    let t = l1.ticket(b"unread");
    assert_eq!(
        l1.fill(&b("unread"), b"v", b("x"), None, t),
        FillOutcome::NotAdmitted
    );
    l1.set_admit_min_reads(0);
    assert_eq!(
        l1.fill(&b("unread"), b"v", b("x"), None, t),
        FillOutcome::Filled
    );
    assert_eq!(l1.stats().rejections, 2);
}

#[test]
fn too_large_replies_are_refused() {
    let l1 = L1::new(config(1 << 20));
    let big = "x".repeat(1025);
    assert_eq!(miss_and_fill(&l1, "k", "v", &big), FillOutcome::TooLarge);
    l1.set_max_value_bytes(4096);
    assert_eq!(miss_and_fill(&l1, "k", "v", &big), FillOutcome::Filled);
    assert_eq!(l1.stats().rejections, 1);
}

#[test]
fn a_node_heavier_than_a_shard_is_too_large() {
    // The shard count is sized for 1 KiB values; a 64 KiB one cannot fit.
    let l1 = L1::new(config(32 * 1024));
    l1.set_max_value_bytes(usize::MAX);
    assert_eq!(miss_and_fill(&l1, "small", "v", "x"), FillOutcome::Filled);
    let huge = "x".repeat(64 * 1024);
    assert_eq!(miss_and_fill(&l1, "k", "v", &huge), FillOutcome::TooLarge);
    let st = l1.stats();
    assert_eq!((st.keys, st.entries, st.evictions), (1, 1, 0));
    assert!(st.bytes <= st.budget);
}

#[test]
fn patterns_deny_and_allow() {
    let l1 = L1::new(L1Config {
        allow: vec!["user:*".into(), "cfg".into()],
        deny: vec!["user:secret:*".into()],
        ..config(1 << 20)
    });
    assert!(l1.allowed(b"user:1") && l1.allowed(b"cfg"));
    assert!(!l1.allowed(b"user:secret:1") && !l1.allowed(b"session:1"));
    assert_eq!(
        miss_and_fill(&l1, "session:1", "v", "x"),
        FillOutcome::Denied
    );
    assert_eq!(
        miss_and_fill(&l1, "user:secret:1", "v", "x"),
        FillOutcome::Denied
    );
    assert_eq!(miss_and_fill(&l1, "user:1", "v", "x"), FillOutcome::Filled);
    assert!(L1::new(config(1 << 20)).allowed(b"anything"));
}

#[test]
fn zero_budget_disables() {
    let l1 = L1::new(config(0));
    assert_eq!(miss_and_fill(&l1, "k", "v", "x"), FillOutcome::Disabled);
    l1.set_budget(1 << 20);
    assert_eq!(miss_and_fill(&l1, "k", "v", "x"), FillOutcome::Filled);
    l1.set_budget(0);
    assert_eq!(l1.get(b"k", b"v"), None);
    assert_eq!(l1.stats().bytes, 0);
}

#[test]
fn entries_expire() {
    let l1 = L1::new(config(1 << 20));
    l1.get(b"k", b"v");
    let t = l1.ticket(b"k");
    let ttl = Some(Duration::from_millis(30));
    assert_eq!(l1.fill(&b("k"), b"v", b("x"), ttl, t), FillOutcome::Filled);
    assert_eq!(l1.get(b"k", b"v"), Some(b("x")));
    assert!(eventually(Duration::from_secs(5), || l1
        .get(b"k", b"v")
        .is_none()));
    let st = l1.stats();
    assert!(st.expired >= 1);
    assert_eq!(
        (st.keys, st.entries),
        (0, 0),
        "a node with nothing alive goes"
    );
}

#[test]
fn max_ttl_caps_lifetimes() {
    let l1 = L1::new(config(1 << 20));
    l1.set_max_ttl(Duration::from_millis(20));
    assert_eq!(miss_and_fill(&l1, "k", "v", "x"), FillOutcome::Filled);
    assert!(eventually(Duration::from_secs(5), || l1
        .get(b"k", b"v")
        .is_none()));
    l1.set_max_ttl(Duration::ZERO);
    assert_eq!(
        miss_and_fill(&l1, "k", "v", "x"),
        FillOutcome::Stale,
        "a zero lifetime"
    );
}

#[test]
fn hotkeys_most_read_first() {
    let l1 = L1::new(config(1 << 20));
    for (key, reads) in [("a", 3), ("b", 10), ("c", 6), ("d", 6)] {
        assert_eq!(miss_and_fill(&l1, key, "v", "x"), FillOutcome::Filled);
        for _ in 0..reads {
            l1.get(key.as_bytes(), b"v");
        }
    }
    l1.get(b"b", b"other");
    let hot = l1.hotkeys(3);
    let keys: Vec<_> = hot.iter().map(|h| h.key.clone()).collect();
    assert_eq!(keys, [b("b"), b("c"), b("d")]);
    assert_eq!(
        hot[0],
        HotKey {
            key: b("b"),
            reads: 11,
            hits: 10,
            misses: 1
        }
    );
    assert_eq!(l1.hotkeys(0), []);
    assert_eq!(l1.hotkeys(10).len(), 4);
}

#[test]
fn hit_counts_survive_a_refill() {
    let l1 = L1::new(config(1 << 20));
    miss_and_fill(&l1, "k", "a", "x");
    l1.get(b"k", b"a");
    miss_and_fill(&l1, "k", "b", "y");
    let hot = l1.hotkeys(1);
    assert_eq!((hot[0].hits, hot[0].misses), (1, 1));
}

#[test]
fn set_budget_evicts_down_to_it() {
    let l1 = L1::new(config(1 << 20));
    for i in 0..200 {
        assert_eq!(
            miss_and_fill(&l1, &format!("key:{i}"), "v", "value"),
            FillOutcome::Filled
        );
    }
    assert_eq!(l1.stats().keys, 200);
    l1.set_budget(16 * 1024);
    let st = l1.stats();
    assert!(st.bytes <= 16 * 1024, "{} bytes", st.bytes);
    assert!(st.keys < 200 && st.evictions == 200 - st.keys);
    assert_eq!(st.entries, st.keys);
}

/// What the stats say about entries agrees with what is stored.
fn assert_accounting(l1: &L1) {
    let st = l1.stats();
    let (keys, entries) = l1
        .cache
        .iter()
        .fold((0, 0), |(k, e), (_, node)| (k + 1, e + node.len()));
    assert_eq!((st.keys, st.entries), (keys, entries));
    assert!(st.bytes <= st.budget, "{} > {}", st.bytes, st.budget);
}

#[derive(Debug, Clone)]
enum Op {
    Get(u8, u8),
    Ticket(u8),
    Fill {
        key: u8,
        variant: u8,
        len: usize,
        old_ticket: bool,
    },
    Invalidate(u8),
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..6u8, 0..3u8).prop_map(|(k, v)| Op::Get(k, v)),
        2 => (0..6u8).prop_map(Op::Ticket),
        5 => (0..6u8, 0..3u8, 0..700usize, any::<bool>())
            .prop_map(|(key, variant, len, old_ticket)| Op::Fill { key, variant, len, old_ticket }),
        2 => (0..6u8).prop_map(Op::Invalidate),
        1 => Just(Op::Flush),
    ]
}

/// The model: what a key's replies may be, and which tickets are dirty.
#[derive(Default)]
struct Model {
    valid: HashMap<(u8, u8), Bytes>,
    /// A ticket per key, and whether the key was invalidated since.
    tickets: HashMap<u8, (Ticket, bool)>,
    serial: u64,
}

impl Model {
    fn invalidate(&mut self, key: Option<u8>) {
        self.valid
            .retain(|(k, _), _| key.is_some_and(|key| key != *k));
        for (k, (_, dirty)) in self.tickets.iter_mut() {
            *dirty |= key.is_none_or(|key| key == *k);
        }
    }

    fn step(&mut self, l1: &L1, op: Op) -> Result<(), TestCaseError> {
        let kb = |k: u8| Bytes::from(vec![b'k', k]);
        match op {
            Op::Get(k, v) => {
                let got = l1.get(&kb(k), &[v]);
                if let Some(got) = got {
                    prop_assert_eq!(
                        Some(&got),
                        self.valid.get(&(k, v)),
                        "key {} variant {}",
                        k,
                        v
                    );
                }
            }
            Op::Ticket(k) => {
                self.tickets.insert(k, (l1.ticket(&kb(k)), false));
            }
            Op::Fill {
                key,
                variant,
                len,
                old_ticket,
            } => {
                let (ticket, dirty) = match self.tickets.get(&key) {
                    Some(&t) if old_ticket => t,
                    _ => (l1.ticket(&kb(key)), false),
                };
                self.serial += 1;
                let mut reply = self.serial.to_le_bytes().to_vec();
                reply.resize(len.max(8), b'r');
                let reply = Bytes::from(reply);
                let outcome = l1.fill(&kb(key), &[variant], reply.clone(), None, ticket);
                if len > 512 {
                    prop_assert_eq!(outcome, FillOutcome::TooLarge);
                } else if dirty {
                    prop_assert_eq!(outcome, FillOutcome::Stale);
                }
                // A refused fill leaves the model alone: L1 may have lost
                // replies (always allowed) but gained none.
                if outcome == FillOutcome::Filled {
                    self.valid.insert((key, variant), reply);
                }
            }
            Op::Invalidate(k) => {
                l1.invalidate(&kb(k));
                self.invalidate(Some(k));
                for v in 0..3 {
                    prop_assert_eq!(l1.get(&kb(k), &[v]), None);
                }
            }
            Op::Flush => {
                l1.flush();
                self.invalidate(None);
            }
        }
        Ok(())
    }
}

proptest! {
    /// Random traffic over six keys and a tiny budget: stored bytes never
    /// exceed the budget, accounting stays exact, and nothing invalidated
    /// comes back without a new fill.
    #[test]
    fn random_traffic_keeps_invariants(ops in prop::collection::vec(op(), 1..150)) {
        let l1 = L1::new(L1Config {
            max_value_bytes: 512,
            admit_min_reads: 0,
            ..config(4096)
        });
        let mut model = Model::default();
        for op in ops {
            model.step(&l1, op)?;
            let st = l1.stats();
            prop_assert!(st.bytes <= 4096, "{} bytes", st.bytes);
        }
        assert_accounting(&l1);
    }
}

/// One round of fillers, a reader and a writer on the same keys. Each
/// filler reads the "remote" value after taking its ticket, as the proxy
/// sends its read after taking one; the writer changes the value, then
/// invalidates.
fn concurrent_round(l1: &Arc<L1>, truth: &Arc<AtomicU64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let fillers: Vec<_> = (0..3u64)
        .map(|id| {
            let (l1, truth) = (l1.clone(), truth.clone());
            thread::spawn(move || {
                for i in 0..5_000u64 {
                    let key = if i % 2 == 0 {
                        b("hot")
                    } else {
                        b(&format!("k{}", (i * 7 + id) % 50))
                    };
                    let t = l1.ticket(&key);
                    let value = truth.load(SeqCst);
                    if i % 3 == 0 {
                        thread::yield_now();
                    }
                    let reply = Bytes::from(value.to_le_bytes().to_vec());
                    l1.fill(&key, &[(i % 4) as u8], reply, None, t);
                }
            })
        })
        .collect();
    let reader = {
        let (l1, truth, stop) = (l1.clone(), truth.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(SeqCst) {
                for v in 0..4u8 {
                    if let Some(r) = l1.get(b"hot", &[v]) {
                        let got = u64::from_le_bytes(r[..].try_into().unwrap_or([0xff; 8]));
                        assert!(got <= truth.load(SeqCst), "garbage reply {got}");
                    }
                }
            }
        })
    };
    let writer = {
        let (l1, truth) = (l1.clone(), truth.clone());
        thread::spawn(move || {
            for i in 0..500 {
                truth.fetch_add(1, SeqCst);
                l1.invalidate(b"hot");
                match i {
                    200 => l1.set_budget(16 * 1024),
                    300 => l1.flush(),
                    400 => l1.set_budget(64 * 1024),
                    _ => {}
                }
                thread::yield_now();
            }
        })
    };
    assert!(writer.join().is_ok());
    for f in fillers {
        assert!(f.join().is_ok());
    }
    stop.store(true, SeqCst);
    assert!(reader.join().is_ok());
}

/// Concurrent fills, reads, invalidations, flushes and budget changes:
/// nothing panics, the budget and the accounting hold, and once every fill
/// has returned no reply read before the last invalidation is left.
#[test]
fn concurrent_traffic_leaves_no_stale_reply() {
    let l1 = Arc::new(L1::new(L1Config {
        admit_min_reads: 0,
        ..config(64 * 1024)
    }));
    let truth = Arc::new(AtomicU64::new(0));
    for _ in 0..4 {
        concurrent_round(&l1, &truth);
        let last = truth.load(SeqCst);
        for v in 0..4u8 {
            if let Some(r) = l1.get(b"hot", &[v]) {
                assert_eq!(
                    r,
                    Bytes::from(last.to_le_bytes().to_vec()),
                    "a stale fill survived"
                );
            }
        }
        assert_accounting(&l1);
    }
    l1.invalidate(b"hot");
    assert!((0..4u8).all(|v| l1.get(b"hot", &[v]).is_none()));
    assert!(l1.stats().stale_fills > 0, "the race was never exercised");
}

/// Keys raced one at a time: fillers hammer key `j` (ticket, read the
/// "remote" value, fill) while the writer changes its value once and
/// invalidates it, then moves on; no ticket is taken for `j` afterwards.
/// Every key is thus one race between fills and an invalidation, and a
/// fill that outlived it would still be there at the end.
#[test]
fn racing_fills_never_outlive_an_invalidation() {
    const KEYS: usize = 2_000;
    let l1 = Arc::new(L1::new(L1Config {
        admit_min_reads: 0,
        ..config(1 << 20)
    }));
    let written: Arc<Vec<AtomicBool>> =
        Arc::new((0..KEYS).map(|_| AtomicBool::new(false)).collect());
    let racing = Arc::new(AtomicU64::new(0));
    let key = |j: usize| b(&format!("r{j}"));
    let fillers: Vec<_> = (0..3)
        .map(|id| {
            let (l1, written, racing) = (l1.clone(), written.clone(), racing.clone());
            thread::spawn(move || {
                let mut i = id;
                loop {
                    let j = racing.load(SeqCst) as usize;
                    let Some(w) = written.get(j) else { break };
                    let t = l1.ticket(&key(j));
                    let reply = if w.load(SeqCst) { b("new") } else { b("old") };
                    if i % 4 == 0 {
                        thread::yield_now();
                    }
                    l1.fill(&key(j), &[(i % 2) as u8], reply, None, t);
                    i += 1;
                }
            })
        })
        .collect();
    for (j, w) in written.iter().enumerate() {
        for _ in 0..20 {
            thread::yield_now();
        }
        w.store(true, SeqCst);
        l1.invalidate(&key(j));
        racing.store(j as u64 + 1, SeqCst);
    }
    for f in fillers {
        assert!(f.join().is_ok());
    }
    let survivors = (0..KEYS)
        .flat_map(|j| (0..2u8).map(move |v| (j, v)))
        .filter(|&(j, v)| l1.get(&key(j), &[v]) == Some(b("old")))
        .count();
    assert_eq!(survivors, 0, "stale fills outlived their invalidation");
    assert_accounting(&l1);
}
