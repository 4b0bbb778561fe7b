//! Which member owns a key: the [`Placement`] trait and its default, [`Rendezvous`].
//!
//! The definition of [`Rendezvous`], exactly, is on its page.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Seed of the key hash (`"stratus1"` as big-endian bytes). Part of the placement format.
const KEY_SEED: u64 = 0x7374_7261_7475_7331;
/// Seed of a member name's hash (`"member01"` as big-endian bytes). Part of the format.
const MEMBER_SEED: u64 = 0x6d65_6d62_6572_3031;
/// SplitMix64's increment (the golden ratio in 64-bit fixed point).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Slot bits allowed in a [`Rendezvous`] placement.
pub const SLOT_BITS: std::ops::RangeInclusive<u8> = 8..=24;
/// The default number of slot bits.
pub const DEFAULT_SLOT_BITS: u8 = 20;
/// The most members a [`Rendezvous`] placement holds (slot owners are stored as `u16`).
pub const MAX_MEMBERS: usize = u16::MAX as usize;

/// Maps a key to the member that owns it.
///
/// Implementations must be deterministic: the same members and key give the same owner
/// in every process and version, since nothing records where an object was written.
pub trait Placement: Send + Sync + fmt::Debug {
    /// The members, in the order [`Placement::locate`] indexes them.
    fn members(&self) -> &[Member];

    /// The index in [`Placement::members`] of the member that owns `key`.
    fn locate(&self, key: &[u8]) -> usize;
}

/// A named member of a placement with its relative weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    name: String,
    weight: f64,
}

impl Member {
    /// A member of weight 1.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            weight: 1.0,
        }
    }

    /// A member with the given weight (a finite number above zero; checked when the
    /// placement is built).
    pub fn weighted(name: impl Into<String>, weight: f64) -> Self {
        Self {
            name: name.into(),
            weight,
        }
    }

    /// The member's name, which is what placement hashes.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The member's weight.
    pub fn weight(&self) -> f64 {
        self.weight
    }
}

/// Why a set of members cannot make a placement.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlacementError {
    /// No members at all.
    #[error("a placement needs at least one member")]
    Empty,
    /// An empty member name.
    #[error("member names must not be empty")]
    EmptyName,
    /// Two members with one name.
    #[error("member {0:?} appears twice")]
    Duplicate(String),
    /// A weight that is not a finite number above zero.
    #[error("member {name:?} has weight {weight}; weights are finite numbers above 0")]
    Weight {
        /// The member.
        name: String,
        /// Its weight.
        weight: f64,
    },
    /// Slot bits out of range.
    #[error("slot_bits is {0}; expected {min} to {max}", min = SLOT_BITS.start(), max = SLOT_BITS.end())]
    SlotBits(u8),
    /// More members than slot owners can name.
    #[error("{0} members; at most {MAX_MEMBERS} are supported")]
    TooMany(usize),
    /// A member named in a change is not in the placement.
    #[error("no member is named {0:?}")]
    Unknown(String),
}

/// Weighted rendezvous hashing over `2^bits` key-space slots, with each slot's owner
/// cached: the default [`Placement`].
///
/// # The placement, exactly
///
/// Placement must give the same answer in every process, on every platform and in every
/// version of stratus, because nothing records where an object went. So every step below
/// is integer arithmetic or a correctly rounded IEEE-754 operation, and is pinned by the
/// golden vectors in `fixtures/shard/golden.json`:
///
/// 1. **Key hash.** `h = xxh3_64(key bytes, seed = KEY_SEED)` over the raw UTF-8 bytes of
///    the object path (no normalisation beyond object_store's `Path`).
/// 2. **Slot.** The key space is cut into `2^bits` slots; a key's slot is the top `bits`
///    bits of `h`.
/// 3. **Member seed.** `seed(m) = xxh3_64(member name bytes, seed = MEMBER_SEED)`: a member
///    is its name, never its position in a list, so reordering members moves nothing.
/// 4. **Score.** For slot `s` and member `m`, take `x`, the `⌊s / 2⌋`-th output (from 0) of
///    SplitMix64 seeded with `seed(m)` (`mix(seed(m) + (⌊s / 2⌋ + 1) * γ)`,
///    `γ = 0x9E3779B97F4A7C15`); its high 32 bits serve even slots and its low 32 bits
///    odd ones, as the draw `u = (half << 32) | 2^31` (`slot_draw`: one hash serves two
///    slots). Then `score = neg_log2(u) * (1 / weight(m))`, where `neg_log2(u)` is `-log2((u | 1) / 2^64)`
///    as an unsigned 32.32 fixed-point number from `neg_log2_q32` (a leading-zero count
///    plus a 1,025-entry table computed with integer arithmetic and linear interpolation
///    between its entries), converted exactly to `f64`.
/// 5. **Owner.** The slot's owner is the member with the lowest score; equal scores (which
///    need equal 64-bit hashes) go to the member whose name sorts first.
///
/// This is weighted rendezvous hashing (HRW) with Ceph straw2's `-ln(u) / w` race, which
/// gives each member a share of slots proportional to its weight and moves only the slots
/// that must move when a member joins, leaves or changes weight. Doing it per slot rather
/// than per key lets the owner of each slot be cached, so a lookup is one hash and one
/// array read whatever the number of members, and a membership change recomputes only
/// the slots it can affect.
///
/// With `2^20` slots (the default) a member's share of the key space is its share of slots,
/// which is binomial: at 100 equal members the busiest member holds about 2.5% more than
/// the mean. More bits improve balance and cost memory (10 bytes a slot) and build time.
#[derive(Clone)]
pub struct Rendezvous {
    bits: u8,
    members: Vec<Member>,
    bidders: Vec<Bidder>,
    /// Owner of each slot, an index into `members`.
    owners: Vec<u16>,
    /// The owner's score for each slot, kept so that a change compares against it.
    scores: Vec<f64>,
}

impl fmt::Debug for Rendezvous {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendezvous")
            .field("slot_bits", &self.bits)
            .field("members", &self.members)
            .finish_non_exhaustive()
    }
}

impl Rendezvous {
    /// A placement over `members` with the default slot bits.
    pub fn new(members: impl IntoIterator<Item = Member>) -> crate::Result<Self> {
        Self::with_slot_bits(members, DEFAULT_SLOT_BITS)
    }

    /// A placement over `members` with `2^bits` slots.
    pub fn with_slot_bits(
        members: impl IntoIterator<Item = Member>,
        bits: u8,
    ) -> crate::Result<Self> {
        Self::build_with_threads(members, bits, None)
    }

    /// [`Rendezvous::with_slot_bits`], built on at most `threads` threads (the default
    /// uses the machine's cores, up to 8, for large builds). The result is the same
    /// whatever the number of threads.
    pub fn with_threads(
        members: impl IntoIterator<Item = Member>,
        bits: u8,
        threads: std::num::NonZeroUsize,
    ) -> crate::Result<Self> {
        Self::build_with_threads(members, bits, Some(threads.get()))
    }

    fn build_with_threads(
        members: impl IntoIterator<Item = Member>,
        bits: u8,
        threads: Option<usize>,
    ) -> crate::Result<Self> {
        if !SLOT_BITS.contains(&bits) {
            return Err(PlacementError::SlotBits(bits).into());
        }
        let members: Vec<Member> = members.into_iter().collect();
        check_members(&members)?;
        let slots = 1usize << bits;
        let mut placement = Self {
            bits,
            bidders: members.iter().map(Bidder::of).collect(),
            members,
            owners: vec![0; slots],
            scores: vec![f64::INFINITY; slots],
        };
        placement.build(threads);
        Ok(placement)
    }

    /// The number of slot bits.
    pub fn slot_bits(&self) -> u8 {
        self.bits
    }

    /// The slot a key hash falls in.
    #[inline]
    pub fn slot(&self, hash: u64) -> usize {
        (hash >> (64 - u32::from(self.bits))) as usize
    }

    /// The owner (an index into [`Placement::members`]) of `slot`.
    #[inline]
    pub fn slot_owner(&self, slot: usize) -> usize {
        usize::from(self.owners[slot])
    }

    /// Each member's share of the key space, in member order.
    pub fn shares(&self) -> Vec<f64> {
        let mut counts = vec![0u64; self.members.len()];
        for &owner in &self.owners {
            counts[usize::from(owner)] += 1;
        }
        let total = self.owners.len() as f64;
        counts.into_iter().map(|c| c as f64 / total).collect()
    }

    /// Add a member. Only slots the new member wins change owner.
    pub fn add(&mut self, member: Member) -> crate::Result<()> {
        check_member(&member)?;
        if self.members.len() >= MAX_MEMBERS {
            return Err(PlacementError::TooMany(self.members.len() + 1).into());
        }
        if self.index_of(&member.name).is_some() {
            return Err(PlacementError::Duplicate(member.name).into());
        }
        let index = self.members.len();
        self.bidders.push(Bidder::of(&member));
        self.members.push(member);
        self.race(index..index + 1);
        Ok(())
    }

    /// Remove a member. Only the slots it owned change owner.
    pub fn remove(&mut self, name: &str) -> crate::Result<Member> {
        let gone = self
            .index_of(name)
            .ok_or_else(|| crate::Error::from(PlacementError::Unknown(name.to_owned())))?;
        if self.members.len() == 1 {
            return Err(PlacementError::Empty.into());
        }
        let member = self.members.remove(gone);
        self.bidders.remove(gone);
        let gone = gone as u16;
        for slot in 0..self.owners.len() {
            match self.owners[slot] {
                owner if owner == gone => self.recompute(slot),
                owner if owner > gone => self.owners[slot] = owner - 1,
                _ => {}
            }
        }
        Ok(member)
    }

    /// Change a member's weight. Only slots that must move (to it when its weight grows,
    /// from it when its weight shrinks) change owner.
    pub fn set_weight(&mut self, name: &str, weight: f64) -> crate::Result<()> {
        check_member(&Member::weighted(name, weight))?;
        let index = self
            .index_of(name)
            .ok_or_else(|| crate::Error::from(PlacementError::Unknown(name.to_owned())))?;
        let heavier = weight > self.members[index].weight;
        self.members[index].weight = weight;
        self.bidders[index] = Bidder::of(&self.members[index]);
        let bidder = self.bidders[index];
        for slot in 0..self.owners.len() {
            if usize::from(self.owners[slot]) != index {
                continue;
            }
            if heavier {
                // Its score only fell: it keeps the slot, at the new score.
                self.scores[slot] = bidder.score(slot_draw(bidder.seed, slot as u64));
            } else {
                self.recompute(slot);
            }
        }
        // Heavier, it may win other slots; lighter, it cannot.
        if heavier {
            self.race(index..index + 1);
        }
        Ok(())
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.members.iter().position(|m| m.name == name)
    }

    /// Let every member bid for every slot. The slots are independent, so on a machine
    /// with several cores large builds are split into one contiguous range of slots per
    /// thread; the result is the same either way.
    fn build(&mut self, threads: Option<usize>) {
        let work = self.owners.len() * self.members.len();
        let threads = match threads {
            Some(threads) => threads,
            None if work >= PARALLEL_WORK => {
                std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS))
            }
            None => 1,
        };
        let chunk = self.owners.len().div_ceil(threads).next_multiple_of(BLOCK);
        let (members, bidders) = (&self.members[..], &self.bidders[..]);
        let everyone = 0..members.len();
        std::thread::scope(|scope| {
            let chunks = self
                .scores
                .chunks_mut(chunk)
                .zip(self.owners.chunks_mut(chunk))
                .enumerate();
            for (i, (scores, owners)) in chunks {
                let everyone = everyone.clone();
                let run = move || race(members, bidders, everyone, i * chunk, scores, owners);
                if threads == 1 {
                    run();
                } else {
                    scope.spawn(run);
                }
            }
        });
    }

    /// Let members `bidders` bid for every slot.
    fn race(&mut self, bidders: Range<usize>) {
        race(
            &self.members,
            &self.bidders,
            bidders,
            0,
            &mut self.scores,
            &mut self.owners,
        );
    }

    /// Find `slot`'s owner among all members from scratch.
    fn recompute(&mut self, slot: usize) {
        let (mut best, mut owner) = (f64::INFINITY, 0u16);
        for (index, bidder) in self.bidders.iter().enumerate() {
            let score = bidder.score(slot_draw(bidder.seed, slot as u64));
            if score < best {
                (best, owner) = (score, index as u16);
            } else if score == best {
                tie(&self.members, index, &mut owner);
            }
        }
        (self.scores[slot], self.owners[slot]) = (best, owner);
    }
}

/// Slots per block of a race (32 KiB of scores).
const BLOCK: usize = 4096;
/// Bids (slots × members) from which a build uses several threads.
const PARALLEL_WORK: usize = 1 << 22;
/// At most this many threads build a placement.
const MAX_THREADS: usize = 8;

/// Let members `contenders` (indexes into `members` and `bidders`) bid for the slots
/// `first..first + scores.len()`, whose current best scores and owners are `scores` and
/// `owners`; each slot goes to the lowest score.
///
/// Works through the slots a block at a time, keeping for each slot of the block the
/// smallest draw that could beat its owner (for the heaviest contender, so
/// it holds for all): most bids then cost half a hash and one integer comparison.
fn race(
    members: &[Member],
    bidders: &[Bidder],
    contenders: Range<usize>,
    first: usize,
    scores: &mut [f64],
    owners: &mut [u16],
) {
    let heaviest = bidders[contenders.clone()]
        .iter()
        .map(|b| b.weight)
        .fold(0.0, f64::max);
    let mut floors = [0u64; BLOCK];
    for (block, (scores, owners)) in scores
        .chunks_mut(BLOCK)
        .zip(owners.chunks_mut(BLOCK))
        .enumerate()
    {
        let first = first + block * BLOCK;
        let floors = &mut floors[..scores.len()];
        for (floor, &best) in floors.iter_mut().zip(scores.iter()) {
            *floor = floor_to_beat(best, heaviest);
        }
        let bid = |index: usize, u: u64, best: &mut f64, owner: &mut u16, floor: &mut u64| {
            let score = bidders[index].score(u);
            if score < *best {
                *best = score;
                *owner = index as u16;
                *floor = floor_to_beat(score, heaviest);
            } else if score == *best {
                tie(members, index, owner);
            }
        };
        // Slots two by two (`first` and every block length are even): one SplitMix64
        // output holds both slots' draws.
        debug_assert!(first.is_multiple_of(2) && scores.len() % 2 == 0);
        for index in contenders.clone() {
            let seed = bidders[index].seed;
            let pairs = floors
                .chunks_exact_mut(2)
                .zip(scores.chunks_exact_mut(2))
                .zip(owners.chunks_exact_mut(2));
            for (k, ((floor, best), owner)) in pairs.enumerate() {
                let x = splitmix64(seed, (first / 2 + k) as u64);
                let (even, odd) = (draw(x >> 32), draw(x & 0xFFFF_FFFF));
                if even >= floor[0] {
                    bid(index, even, &mut best[0], &mut owner[0], &mut floor[0]);
                }
                if odd >= floor[1] {
                    bid(index, odd, &mut best[1], &mut owner[1], &mut floor[1]);
                }
            }
        }
    }
}

/// What a member needs to bid: its seed, its weight and the weight's inverse.
#[derive(Clone, Copy)]
struct Bidder {
    seed: u64,
    weight: f64,
    inverse_weight: f64,
}

impl Bidder {
    fn of(member: &Member) -> Self {
        Self {
            seed: member_seed(&member.name),
            weight: member.weight,
            inverse_weight: member.weight.recip(),
        }
    }

    /// Its score for a slot whose draw is `u` (step 4 of the module
    /// documentation): lower wins.
    #[inline(always)]
    fn score(self, u: u64) -> f64 {
        // Below 2^40, so the signed conversion (one instruction) is exact.
        (neg_log2_q32(u) as i64) as f64 * self.inverse_weight
    }
}

/// The smallest draw `u` with which a bidder of weight at most `weight`
/// could score `best` or lower, rounded down, so that most bids skip the logarithm.
///
/// `neg_log2(u) / w <= best` needs `-log2(u / 2^64) <= t = best * w` (up to 2^-32 of
/// rounding in `neg_log2`, which only ever errs upwards, and that of `f64` products), hence
/// `u / 2^64 >= 2^-t >= 1 - t ln 2`. The margins (`2^-30` on `t`, `0.6932` for `ln 2`, and
/// the rounding down) are far wider than those errors, so a winner is never skipped (a
/// test checks the result against the plain definition): the answer never depends on it.
#[inline]
fn floor_to_beat(best: f64, weight: f64) -> u64 {
    const MARGIN: f64 = 1.0 / (1u64 << 30) as f64;
    const Q32: f64 = 1.0 / (1u64 << 32) as f64; // scores are 32.32 fixed point
    let t = best * Q32 * weight * (1.0 + MARGIN) + MARGIN;
    let fraction = 1.0 - t * 0.6932;
    if fraction <= 0.0 {
        0
    } else {
        // `as` saturates; the fraction is below 1, so this is below 2^64.
        (fraction * (u64::MAX as f64)) as u64
    }
}

/// Equal scores (equal 64-bit hashes, in practice never): the name that sorts first wins,
/// so that the owner does not depend on the order members were added in.
#[cold]
fn tie(members: &[Member], index: usize, owner: &mut u16) {
    if members[index].name < members[usize::from(*owner)].name {
        *owner = index as u16;
    }
}

impl Placement for Rendezvous {
    fn members(&self) -> &[Member] {
        &self.members
    }

    #[inline]
    fn locate(&self, key: &[u8]) -> usize {
        self.slot_owner(self.slot(key_hash(key)))
    }
}

fn check_member(member: &Member) -> Result<(), PlacementError> {
    if member.name.is_empty() {
        return Err(PlacementError::EmptyName);
    }
    if !(member.weight.is_finite() && member.weight > 0.0) {
        return Err(PlacementError::Weight {
            name: member.name.clone(),
            weight: member.weight,
        });
    }
    Ok(())
}

fn check_members(members: &[Member]) -> Result<(), PlacementError> {
    if members.is_empty() {
        return Err(PlacementError::Empty);
    }
    if members.len() > MAX_MEMBERS {
        return Err(PlacementError::TooMany(members.len()));
    }
    let mut names = HashSet::with_capacity(members.len());
    for member in members {
        check_member(member)?;
        if !names.insert(member.name.as_str()) {
            return Err(PlacementError::Duplicate(member.name.clone()));
        }
    }
    Ok(())
}

/// The placement hash of a key's bytes (step 1 of the module documentation).
#[inline]
pub(crate) fn key_hash(key: &[u8]) -> u64 {
    xxh3_64_with_seed(key, KEY_SEED)
}

/// The seed a member's name gives it (step 3).
pub(crate) fn member_seed(name: &str) -> u64 {
    xxh3_64_with_seed(name.as_bytes(), MEMBER_SEED)
}

/// A member's draw for `slot` (step 4): half of SplitMix64 output `⌊slot / 2⌋`.
#[inline]
pub(crate) fn slot_draw(seed: u64, slot: u64) -> u64 {
    let x = splitmix64(seed, slot >> 1);
    draw(if slot.is_multiple_of(2) {
        x >> 32
    } else {
        x & 0xFFFF_FFFF
    })
}

/// The draw for a 32-bit half: the middle of its 2^32-wide interval.
#[inline(always)]
fn draw(half: u64) -> u64 {
    (half << 32) | (1 << 31)
}

/// The `n`-th output (from 0) of SplitMix64 seeded with `seed`.
#[inline]
pub(crate) fn splitmix64(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_add(1).wrapping_mul(GAMMA));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Bits of the mantissa that index [`LOG2_TABLE`].
const TABLE_BITS: u32 = 10;

/// `log2(1 + i / 2^TABLE_BITS)` in 32.32 fixed point, for `i` in `0..=2^TABLE_BITS`.
static LOG2_TABLE: [u64; (1 << TABLE_BITS) + 1] = log2_table();

/// `-log2((u | 1) / 2^64)` in unsigned 32.32 fixed point: `1 + leading_zeros - frac`,
/// where `frac = log2(mantissa)` is interpolated linearly in a 1,025-entry table with the 32
/// mantissa bits below the table index. Integer arithmetic only, so bit-exact everywhere;
/// it is within 2^-22 of the true value.
#[inline]
pub(crate) fn neg_log2_q32(u: u64) -> u64 {
    let x = u | 1;
    let zeros = x.leading_zeros();
    let mantissa = x << zeros; // top bit set: mantissa / 2^63 is in [1, 2)
    let index = ((mantissa >> (63 - TABLE_BITS)) & ((1 << TABLE_BITS) - 1)) as usize;
    let rest = (mantissa >> (63 - TABLE_BITS - 32)) & 0xFFFF_FFFF;
    let (low, high) = (LOG2_TABLE[index], LOG2_TABLE[index + 1]);
    let frac = low + (((high - low) * rest) >> 32);
    ((u64::from(zeros) + 1) << 32) - frac
}

/// Build [`LOG2_TABLE`] by repeated squaring in 2.62 fixed point: each squaring that
/// reaches 2 yields a one bit of the logarithm. 40 bits are computed and rounded to 32.
const fn log2_table() -> [u64; (1 << TABLE_BITS) + 1] {
    const ONE: u64 = 1 << 62;
    let mut table = [0u64; (1 << TABLE_BITS) + 1];
    let mut i = 0;
    while i <= 1 << TABLE_BITS {
        if i == 1 << TABLE_BITS {
            table[i] = 1 << 32; // log2(2) = 1
            break;
        }
        let mut x = ONE + ((i as u64) << (62 - TABLE_BITS));
        let mut bits: u64 = 0;
        let mut bit = 0;
        while bit < 40 {
            x = ((x as u128 * x as u128) >> 62) as u64;
            bits <<= 1;
            if x >= 2 * ONE {
                x >>= 1;
                bits |= 1;
            }
            bit += 1;
        }
        table[i] = (bits + (1 << 7)) >> 8;
        i += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neg_log2_matches_the_real_logarithm() {
        for u in [1u64, 2, 3, 1 << 20, 12345678901, u64::MAX / 3, u64::MAX - 1] {
            let exact = -((u | 1) as f64 / 2f64.powi(64)).log2();
            let ours = neg_log2_q32(u) as f64 / 2f64.powi(32);
            assert!((exact - ours).abs() < 1e-6, "u={u}: {exact} vs {ours}");
        }
        assert_eq!(LOG2_TABLE[0], 0);
        assert_eq!(LOG2_TABLE[512], 2_512_394_810); // log2(1.5) * 2^32, rounded
    }

    #[test]
    fn owner_does_not_depend_on_member_order() {
        let names = ["a", "b", "c", "d", "e"];
        let forward = Rendezvous::with_slot_bits(names.map(Member::new), 12).unwrap();
        let backward =
            Rendezvous::with_slot_bits(names.iter().rev().map(|n| Member::new(*n)), 12).unwrap();
        for slot in 0..1 << 12 {
            assert_eq!(
                forward.members()[forward.slot_owner(slot)].name(),
                backward.members()[backward.slot_owner(slot)].name()
            );
        }
    }

    /// The plain definition: every member scores every slot, lowest score wins, ties to
    /// the name that sorts first.
    fn naive_owner(members: &[Member], slot: usize) -> &str {
        members
            .iter()
            .map(|m| {
                let u = slot_draw(member_seed(&m.name), slot as u64);
                ((neg_log2_q32(u) as f64) * m.weight.recip(), m.name.as_str())
            })
            .min_by(|a, b| a.partial_cmp(b).unwrap())
            .unwrap()
            .1
    }

    #[test]
    fn build_add_remove_and_reweight_match_the_plain_definition() {
        let mut members: Vec<Member> = (0..40)
            .map(|i| Member::weighted(format!("m{i}"), 0.25 + (i % 7) as f64 * 0.75))
            .collect();
        let mut placement = Rendezvous::with_slot_bits(members.clone(), 14).unwrap();
        let check = |placement: &Rendezvous, members: &[Member]| {
            for slot in 0..1 << 14 {
                assert_eq!(
                    placement.members()[placement.slot_owner(slot)].name(),
                    naive_owner(members, slot),
                    "slot {slot}"
                );
            }
        };
        check(&placement, &members);
        placement.add(Member::weighted("late", 3.0)).unwrap();
        members.push(Member::weighted("late", 3.0));
        check(&placement, &members);
        placement.remove("m3").unwrap();
        members.retain(|m| m.name != "m3");
        check(&placement, &members);
        placement.set_weight("m5", 0.1).unwrap();
        placement.set_weight("m6", 9.0).unwrap();
        for m in &mut members {
            match m.name.as_str() {
                "m5" => m.weight = 0.1,
                "m6" => m.weight = 9.0,
                _ => {}
            }
        }
        check(&placement, &members);
    }

    #[test]
    fn bad_members_are_refused() {
        let placement_error = |err: crate::Error| match err {
            crate::Error::Placement(e) => e,
            other => panic!("{other:?}"),
        };
        let err = |members: Vec<Member>| {
            placement_error(Rendezvous::with_slot_bits(members, 8).unwrap_err())
        };
        assert_eq!(err(vec![]), PlacementError::Empty);
        assert_eq!(
            err(vec![Member::new("a"), Member::new("a")]),
            PlacementError::Duplicate("a".into())
        );
        assert!(matches!(
            err(vec![Member::weighted("a", 0.0)]),
            PlacementError::Weight { .. }
        ));
        assert!(matches!(
            err(vec![Member::weighted("a", f64::NAN)]),
            PlacementError::Weight { .. }
        ));
        assert_eq!(
            placement_error(Rendezvous::with_slot_bits([Member::new("a")], 30).unwrap_err()),
            PlacementError::SlotBits(30)
        );
        let mut one = Rendezvous::with_slot_bits([Member::new("a")], 8).unwrap();
        assert_eq!(
            placement_error(one.remove("a").unwrap_err()),
            PlacementError::Empty
        );
        assert_eq!(
            placement_error(one.remove("zz").unwrap_err()),
            PlacementError::Unknown("zz".into())
        );
    }
}

/// The golden vectors: every step of the placement, pinned by
/// `fixtures/shard/golden.json` (here, beside the private functions it pins).
#[cfg(test)]
mod golden {
    use super::*;

    fn equal(n: usize) -> Vec<Member> {
        (0..n)
            .map(|i| Member::new(format!("member-{i:03}")))
            .collect()
    }

    const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/shard/golden.json");

    fn golden_keys() -> Vec<String> {
        let mut keys: Vec<String> = vec![
            "".into(),
            "a".into(),
            "data/2026/11/22/part-00000.parquet".into(),
            "ünïcödé/ключ/鍵".into(),
            "I'm a < & weird path".into(),
        ];
        // Deterministic pseudo-random keys from the placement's own SplitMix64.
        keys.extend((0..195).map(|i| format!("obj/{:016x}/{i}", splitmix64(42, i))));
        keys
    }

    fn golden_configs() -> Vec<(u8, Vec<Member>)> {
        vec![
            (8, equal(3)),
            (
                12,
                vec![
                    Member::weighted("east", 1.0),
                    Member::weighted("west", 2.0),
                    Member::weighted("archive", 0.5),
                    Member::weighted("scratch", 4.0),
                ],
            ),
            (20, equal(100)),
        ]
    }

    fn golden_now() -> serde_json::Value {
        use serde_json::json;
        let keys = golden_keys();
        let hex = |v: u64| format!("{v:016x}");
        let placements: Vec<_> = golden_configs()
            .into_iter()
            .map(|(bits, members)| {
                let p = Rendezvous::with_slot_bits(members.clone(), bits).unwrap();
                let owners: Vec<_> = keys
                    .iter()
                    .map(|k| json!([k, p.members()[p.locate(k.as_bytes())].name()]))
                    .collect();
                let members: Vec<_> = members
                    .iter()
                    .map(|m| json!([m.name(), m.weight()]))
                    .collect();
                json!({ "slot_bits": bits, "members": members, "owners": owners })
            })
            .collect();
        let key_hashes: Vec<_> = keys
            .iter()
            .take(10)
            .map(|k| json!([k, hex(key_hash(k.as_bytes()))]))
            .collect();
        let seeds: Vec<_> = ["east", "west", "member-000"]
            .iter()
            .map(|n| json!([n, hex(member_seed(n))]))
            .collect();
        let mixes: Vec<_> = (0..5u64)
            .map(|n| json!([n, hex(splitmix64(0xDEAD_BEEF, n))]))
            .collect();
        let draws: Vec<_> = (0..6u64)
            .map(|slot| json!([slot, hex(slot_draw(0xDEAD_BEEF, slot))]))
            .collect();
        let logs: Vec<_> = [0u64, 1, 2, 3, 1 << 32, u64::MAX / 3, u64::MAX]
            .iter()
            .map(|&u| json!([hex(u), hex(neg_log2_q32(u))]))
            .collect();
        json!({
            "format": "stratus placement v1 (two slots per SplitMix64 output): see src/shard/placement.rs",
            "key_hash": key_hashes,
            "member_seed": seeds,
            "splitmix64": mixes,
            "slot_draw": draws,
            "neg_log2_q32": logs,
            "placements": placements,
        })
    }

    /// Where two JSON values first differ, as `path: now vs golden`.
    fn first_difference(now: &serde_json::Value, golden: &serde_json::Value) -> String {
        use serde_json::Value;
        match (now, golden) {
            (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
                .iter()
                .zip(b)
                .enumerate()
                .find(|(_, (x, y))| x != y)
                .map(|(i, (x, y))| format!("[{i}]{}", first_difference(x, y)))
                .unwrap_or_default(),
            (Value::Object(a), Value::Object(b)) if a.len() == b.len() => a
                .iter()
                .find(|(k, v)| b.get(*k) != Some(*v))
                .map(|(k, v)| format!(".{k}{}", first_difference(v, &b[k])))
                .unwrap_or_default(),
            _ => format!(": {now} vs {golden}"),
        }
    }

    /// Compare with `fixtures/shard/golden.json`. `STRATUS_BLESS=1` rewrites it, for a
    /// deliberate format change only (which moves data in every deployment: say so loudly).
    #[test]
    fn placement_matches_the_golden_vectors() {
        let now = golden_now();
        if std::env::var("STRATUS_BLESS").as_deref() == Ok("1") {
            std::fs::create_dir_all(std::path::Path::new(GOLDEN).parent().unwrap()).unwrap();
            std::fs::write(GOLDEN, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
            return;
        }
        let text = std::fs::read_to_string(GOLDEN).expect("fixtures/shard/golden.json");
        let golden: serde_json::Value = serde_json::from_str(&text).unwrap();
        for section in [
            "key_hash",
            "member_seed",
            "splitmix64",
            "slot_draw",
            "neg_log2_q32",
            "placements",
        ] {
            if now[section] != golden[section] {
                panic!(
                    "placement section `{section}` changed ({}): this moves every stored object; \
                     if deliberate, bump the format and regenerate with STRATUS_BLESS=1",
                    first_difference(&now[section], &golden[section])
                );
            }
        }
    }
}
