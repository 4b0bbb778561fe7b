//! Placement quality beside the `hashring` crate, on the same keys: balance, movement on
//! add and remove, weights. (Speed is in `cargo bench --bench placement`.)
//!
//! ```text
//! cargo bench --bench shard [-- --keys 2000000]
//! ```

use clap::Parser;
use hashring::HashRing;
use rand::{Rng, SeedableRng};
use stratus::shard::{Member, Placement, Rendezvous};

#[derive(Parser)]
struct Args {
    /// What `cargo bench` adds to every bench's arguments (ignored).
    #[arg(long, hide = true)]
    bench: bool,
    /// Random 40-byte keys to place.
    #[arg(long, default_value_t = 2_000_000)]
    keys: usize,
    /// Members.
    #[arg(long, default_value_t = 100)]
    members: usize,
}

#[derive(Hash, Clone, PartialEq, Debug)]
struct VNode {
    member: usize,
    replica: usize,
}

/// Something that places a key on a member index, and can gain or lose a member.
trait Subject {
    fn name(&self) -> String;
    fn locate(&self, key: &[u8; 40]) -> usize;
    /// Add member `n` (the next index).
    fn add(&mut self, n: usize);
    /// Remove member `m`, keeping indexes.
    fn remove(&mut self, m: usize);
}

struct Ours(Rendezvous, Vec<usize>);

impl Subject for Ours {
    fn name(&self) -> String {
        format!("stratus Rendezvous, 2^{} slots", self.0.slot_bits())
    }
    fn locate(&self, key: &[u8; 40]) -> usize {
        self.1[self.0.locate(key)]
    }
    fn add(&mut self, n: usize) {
        self.0.add(Member::new(format!("m{n}"))).unwrap();
        self.1.push(n);
    }
    fn remove(&mut self, m: usize) {
        let at = self.1.iter().position(|&i| i == m).unwrap();
        self.0.remove(&format!("m{m}")).unwrap();
        self.1.remove(at);
    }
}

struct Ring(HashRing<VNode>, usize);

impl Subject for Ring {
    fn name(&self) -> String {
        format!("hashring, {} vnodes/member", self.1)
    }
    fn locate(&self, key: &[u8; 40]) -> usize {
        self.0.get(key).unwrap().member
    }
    fn add(&mut self, n: usize) {
        for replica in 0..self.1 {
            self.0.add(VNode { member: n, replica });
        }
    }
    fn remove(&mut self, m: usize) {
        for replica in 0..self.1 {
            self.0.remove(&VNode { member: m, replica });
        }
    }
}

fn ring(n: usize, vnodes: usize) -> Ring {
    let mut ring = Ring(HashRing::new(), vnodes);
    for member in 0..n {
        ring.add(member);
    }
    ring
}

fn main() {
    let args = Args::parse();
    let n = args.members;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let keys: Vec<[u8; 40]> = (0..args.keys).map(|_| rng.random()).collect();

    let ours = Rendezvous::new((0..n).map(|i| Member::new(format!("m{i}")))).unwrap();
    let subjects: Vec<Box<dyn Subject>> = vec![
        Box::new(Ours(ours, (0..n).collect())),
        Box::new(ring(n, 100)),
        Box::new(ring(n, 1000)),
    ];

    println!(
        "{n} equal members, {} random 40-byte keys (sampling alone puts peak/mean near {:.3})\n",
        args.keys,
        1.0 + 2.5 * ((n as f64) / args.keys as f64).sqrt()
    );
    println!(
        "{:34} {:>10} {:>14} {:>12} {:>16}",
        "placement", "peak/mean", "add: moved", "add: x opt", "remove: others"
    );
    for mut subject in subjects {
        let before: Vec<usize> = keys.iter().map(|k| subject.locate(k)).collect();
        let mut counts = vec![0usize; n];
        for &m in &before {
            counts[m] += 1;
        }
        let peak = *counts.iter().max().unwrap() as f64 / (args.keys as f64 / n as f64);

        subject.add(n);
        let after: Vec<usize> = keys.iter().map(|k| subject.locate(k)).collect();
        let moved = before.iter().zip(&after).filter(|(a, b)| a != b).count();
        let between_old = before
            .iter()
            .zip(&after)
            .filter(|(a, b)| a != b && **b != n)
            .count();
        assert_eq!(
            between_old,
            0,
            "{}: keys moved between old members",
            subject.name()
        );
        let moved_fraction = moved as f64 / args.keys as f64;

        subject.remove(17);
        let removed: Vec<usize> = keys.iter().map(|k| subject.locate(k)).collect();
        let others_moved = after
            .iter()
            .zip(&removed)
            .filter(|(a, b)| a != b && **a != 17)
            .count();
        println!(
            "{:34} {:>10.3} {:>13.2}% {:>12.3} {:>16}",
            subject.name(),
            peak,
            moved_fraction * 100.0,
            moved_fraction * (n + 1) as f64,
            others_moved
        );
    }

    println!("\nweights 1, 2, 3, 4 (expected shares 10/20/30/40%), exact slot shares:");
    let weighted =
        Rendezvous::new((1..=4).map(|w| Member::weighted(format!("w{w}"), w as f64))).unwrap();
    for (member, share) in weighted.members().iter().zip(weighted.shares()) {
        let expected = member.weight() / 10.0;
        println!(
            "  {}: {:.3}%  (error {:+.3}% of its share)",
            member.name(),
            share * 100.0,
            (share - expected) / expected * 100.0
        );
    }
}
