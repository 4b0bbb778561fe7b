//! Placement lookups and membership changes: stratus's `Rendezvous` beside the `hashring`
//! crate (a ring with virtual nodes), measured in the same run.
//!
//! `cargo bench --bench placement`

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use hashring::HashRing;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use stratus::shard::{Member, Placement, Rendezvous};

/// Keys looked up: random 40-byte keys, as in the survey.
const KEYS: usize = 1 << 20;
/// Virtual nodes per member of the ring.
const VNODES: usize = 100;

fn keys() -> Vec<[u8; 40]> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    (0..KEYS).map(|_| rng.random()).collect()
}

fn members(n: usize) -> Vec<Member> {
    (0..n)
        .map(|i| Member::new(format!("member-{i:04}")))
        .collect()
}

#[derive(Hash, Clone, PartialEq, Debug)]
struct VNode {
    member: usize,
    replica: usize,
}

fn ring(n: usize) -> HashRing<VNode> {
    let mut ring = HashRing::new();
    for member in 0..n {
        for replica in 0..VNODES {
            ring.add(VNode { member, replica });
        }
    }
    ring
}

fn lookup(c: &mut Criterion) {
    let keys = keys();
    let mut group = c.benchmark_group("lookup");
    for n in [10, 100, 1000] {
        let ours = Rendezvous::new(members(n)).unwrap();
        let mut i = 0;
        group.bench_function(BenchmarkId::new("stratus", n), |b| {
            b.iter(|| {
                i = (i + 1) & (KEYS - 1);
                black_box(ours.locate(black_box(&keys[i])))
            })
        });
        drop(ours);
        let theirs = ring(n);
        group.bench_function(BenchmarkId::new(format!("hashring-{VNODES}vn"), n), |b| {
            b.iter(|| {
                i = (i + 1) & (KEYS - 1);
                black_box(theirs.get(black_box(&keys[i])).map(|v| v.member))
            })
        });
    }
    group.finish();
}

fn membership(c: &mut Criterion) {
    let mut group = c.benchmark_group("membership");
    group.sample_size(10);
    let hundred = members(100);
    group.bench_function("build-100", |b| {
        b.iter(|| Rendezvous::new(black_box(hundred.clone())).unwrap())
    });
    let one = std::num::NonZeroUsize::MIN;
    group.bench_function("build-100-one-thread", |b| {
        b.iter(|| Rendezvous::with_threads(black_box(hundred.clone()), 20, one).unwrap())
    });
    let base = Rendezvous::new(hundred.clone()).unwrap();
    group.bench_function("add-to-100", |b| {
        b.iter_batched(
            || base.clone(),
            |mut p| {
                p.add(Member::new("newcomer")).unwrap();
                p
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("remove-from-100", |b| {
        b.iter_batched(
            || base.clone(),
            |mut p| {
                p.remove("member-0042").unwrap();
                p
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("reweight-in-100", |b| {
        b.iter_batched(
            || base.clone(),
            |mut p| {
                p.set_weight("member-0042", 2.0).unwrap();
                p
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("lighten-in-100", |b| {
        b.iter_batched(
            || base.clone(),
            |mut p| {
                p.set_weight("member-0042", 0.5).unwrap();
                p
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("hashring-build-100", |b| b.iter(|| ring(black_box(100))));
    group.finish();
}

criterion_group!(benches, lookup, membership);
criterion_main!(benches);
