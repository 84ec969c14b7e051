//! Criterion micro-benchmarks of the protocol layer: what every request
//! and reply costs before any socket is involved.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use respite::protocol::{Limits, ReplyScanner, RequestParser};

/// A pipeline of `n` `GET key:NNNNNN` requests, as redis-benchmark sends them.
fn get_pipeline(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..n {
        let key = format!("key:{i:012}");
        v.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes());
    }
    v
}

fn parse_requests(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_requests");
    for n in [1usize, 16, 256] {
        let input = get_pipeline(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
            let mut parser = RequestParser::new(Limits::default());
            b.iter(|| {
                let mut buf = BytesMut::from(&input[..]);
                let mut count = 0;
                while let Ok(Some(req)) = parser.parse(&mut buf) {
                    count += req.argv.len();
                }
                count
            })
        });
    }
    g.finish();
}

fn scan_replies(c: &mut Criterion) {
    let mut g = c.benchmark_group("scan_replies");
    let bulk = b"$10\r\n0123456789\r\n".repeat(256);
    let map = b"%2\r\n$1\r\na\r\n*2\r\n:1\r\n,2.5\r\n$1\r\nb\r\n_\r\n".repeat(256);
    for (name, input) in [("bulk", bulk), ("nested_map", map)] {
        g.throughput(Throughput::Elements(256));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut scanner = ReplyScanner::new();
                let mut at = 0;
                while let Ok(Some((len, _))) = scanner.scan(&input[at..]) {
                    at += len;
                }
                at
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parse_requests, scan_replies);
criterion_main!(benches);
