//! Criterion micro-benchmarks of the L1 store: what a cached read, a miss,
//! a fill and an invalidation cost, single-threaded, without the proxy.
//!
//! `cargo bench --bench l1`. Criterion reports time per iteration; every
//! iteration is one operation, so the figures are ns per op.

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use respite::cache::{L1Config, L1};

const KEYS: usize = 10_000;

fn l1() -> L1 {
    L1::new(L1Config {
        budget_bytes: 64 * 1024 * 1024,
        max_value_bytes: 512 * 1024,
        max_ttl: Duration::from_secs(3600),
        admit_min_reads: 1,
        allow: Vec::new(),
        deny: Vec::new(),
    })
}

fn keys() -> Vec<Bytes> {
    (0..KEYS)
        .map(|i| Bytes::from(format!("user:{i:08}")))
        .collect()
}

/// A GET-style variant: protocol byte and command name.
const VARIANT: &[u8] = b"\x02get";
const REPLY: &[u8] = b"$16\r\n0123456789abcdef\r\n";

/// `keys` all read once and filled, as after warm-up.
fn warm(l1: &L1, keys: &[Bytes]) {
    for k in keys {
        l1.get(k, VARIANT);
        let t = l1.ticket(k);
        l1.fill(k, VARIANT, Bytes::from_static(REPLY), None, t);
    }
}

fn get(c: &mut Criterion) {
    let cache = l1();
    let keys = keys();
    warm(&cache, &keys);
    let mut g = c.benchmark_group("l1_get");
    let mut i = 0;
    g.bench_function("hit_small", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(cache.get(&keys[i], VARIANT))
        })
    });
    let absent: Vec<Bytes> = (0..KEYS)
        .map(|i| Bytes::from(format!("none:{i:08}")))
        .collect();
    g.bench_function("miss", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(cache.get(&absent[i], VARIANT))
        })
    });
    g.finish();
}

fn fill(c: &mut Criterion) {
    let cache = l1();
    let keys = keys();
    warm(&cache, &keys);
    let mut g = c.benchmark_group("l1_write");
    let mut i = 0;
    // Replaces the key's node (copy-on-write of one entry).
    g.bench_function("fill", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            let t = cache.ticket(&keys[i]);
            black_box(cache.fill(&keys[i], VARIANT, Bytes::from_static(REPLY), None, t))
        })
    });
    // Each timed invalidation removes a node that an untimed fill put back.
    g.bench_function("invalidate_present", |b| {
        b.iter_batched(
            || {
                i = (i + 1) % KEYS;
                let t = cache.ticket(&keys[i]);
                cache.fill(&keys[i], VARIANT, Bytes::from_static(REPLY), None, t);
                i
            },
            |i| cache.invalidate(&keys[i]),
            BatchSize::SmallInput,
        )
    });
    let absent: Vec<Bytes> = (0..KEYS)
        .map(|i| Bytes::from(format!("none:{i:08}")))
        .collect();
    g.bench_function("invalidate_absent", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            cache.invalidate(&absent[i]);
        })
    });
    g.finish();
}

criterion_group!(benches, get, fill);
criterion_main!(benches);
