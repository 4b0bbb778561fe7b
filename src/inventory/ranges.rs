//! Key ranges: one listing split into several that run at once, for key spaces that
//! delimiter listings cannot split (a flat folder of hashed names, one huge subtree).
//!
//! Every listing of the scan is a [`Range`]: the keys under a prefix after a key (none:
//! from the start) up to a key (none: to the end). A range lists with
//! `list_with_offset` and stops at its end, so it costs no more requests than the keys it
//! holds. When a range has read a block of [`BLOCK`] keys (one page of S3's
//! `ListObjectsV2`) and listing slots are idle, it cuts what is left of it into pieces
//! ([`cuts`]) and hands all but the first to the scan; so ranges are found from the keys
//! themselves, the pieces are cut again when they prove large, and a small bucket (one
//! page) is listed as before, with no extra request.
//!
//! Where to cut is a guess from the block just read: keys are read as numbers (twelve
//! characters past the part the keys share, in the base of the printable ASCII
//! characters the block holds), the block
//! spans `last - first`, and a piece is meant to hold [`PAGES`] blocks. A range with an
//! end is cut into equal pieces; one without (the rest of a prefix) is cut, the first
//! time, into as many pieces as the keys the block predicts are left fill, spread up to
//! what the block's characters spell ([`blocks_to_end`], [`pieces_after`]), and later
//! (or where the block tells nothing, where its keys fill their span as a counter's do,
//! or before a piece has shown that the server honours offsets) ahead of the last key
//! at that pace; the last piece stays open. A wrong guess costs requests,
//! never keys: every cut is checked to lie strictly between where the range is and where
//! it ends, and ranges are half-open, so every key is in exactly one.
//!
//! Ranges need the store's listings in byte order (S3, GCS, Azure, `InMemory`, and the
//! stores stratus wraps in [`crate::layer::KeyOrderedStore`]: local folders, S3 servers
//! with `list_order = "sorted"`). A range checks the order of the keys it reads: one
//! that was never cut and finds them out of order stops cutting and lists on as a plain
//! listing; one with an offset or an end fails the scan with an error that says so. So
//! that a store listing folder by folder (SeaweedFS unsorted: a folder `a` sorts as `a`,
//! before `a-b`, and a listing after `a` starts after the folder `a/`) shows it rather
//! than lose keys silently, a piece is listed from just before its start ([`offset`]),
//! a cut has no `/` and no byte below it past the keys it was guessed from, and a flat
//! folder's probe is handed on after a key directly in it (`tests/key_ranges.rs`).

use object_store::path::Path;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// Keys a range reads between decisions to cut (S3's page).
pub(crate) const BLOCK: usize = 1000;

/// Blocks a piece is meant to hold: more pieces list sooner, each piece costs one
/// request more than its keys need (its last page is partial).
pub(crate) const PAGES: u128 = 4;

/// Keys of one prefix between two bounds: after `after` (none: from the prefix's first
/// key) up to and including `until` (none: to the prefix's last key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Range {
    pub(crate) prefix: Option<Path>,
    pub(crate) after: Option<Path>,
    pub(crate) until: Option<Path>,
    /// Without an end: how many pieces it may cut off ahead of itself at once. A guess
    /// past the last key costs a request each, so it starts small and doubles with
    /// every cut (the piece left open goes on at twice its parent's pace).
    pub(crate) ahead: usize,
    /// Keys read before it lists, which begin its first block.
    pub(crate) seed: Option<std::sync::Arc<Seed>>,
}

/// A block read for a range before the range lists (a flat folder's probe page, the keys
/// up to the range's start): its first key, how many keys, and their characters, so that
/// the range's first key completes the block and it can cut at once instead of a page
/// later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Seed {
    pub(crate) first: String,
    pub(crate) keys: usize,
    pub(crate) alphabet: Alphabet,
}

impl Seed {
    /// The block of `keys` (in order, sharing their first `keep` bytes).
    pub(crate) fn of(keep: usize, keys: &[&str]) -> Option<Self> {
        let first = *keys.first()?;
        let mut alphabet = Alphabet::default();
        for &key in keys {
            alphabet.add_varying(key, common(first, key).max(keep));
        }
        Some(Self {
            first: first.to_string(),
            keys: keys.len(),
            alphabet,
        })
    }
}

impl Range {
    /// Everything under `prefix`.
    pub(crate) fn whole(prefix: Option<Path>) -> Self {
        Self {
            prefix,
            after: None,
            until: None,
            ahead: AHEAD,
            seed: None,
        }
    }

    /// Whether this is a piece (starts after a key or ends at one): its listing must be
    /// in key order, since it stops at its end.
    pub(crate) fn is_piece(&self) -> bool {
        self.after.is_some() || self.until.is_some()
    }
}

/// What the listings of a scan or a join have shown of the server's offsets
/// ([`OffsetsSeen`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Offsets {
    Unknown,
    /// A piece listed from its offset started there (or ended) without re-listing a block
    /// of keys before it.
    Honoured,
    /// A piece had to skip a block of keys before its start: the server lists from the
    /// prefix's first key whatever the offset, so every piece re-lists what lies before
    /// it, and cutting more would list the keys again and again.
    Ignored,
}

/// [`Offsets`], shared by the listings of a scan or a join. Until it is known, one piece
/// lists and the others cut wait ([`OffsetsSeen::holding`]): joined into one listing if
/// the server ignores offsets.
#[derive(Debug, Default)]
pub(crate) struct OffsetsSeen {
    state: AtomicU8,
    /// Blocks read while unknown.
    blocks: AtomicUsize,
}

/// Blocks the listings read while the offsets are unknown (the first cut's included)
/// after which pieces held for them go as they are: a piece that shows nothing (a
/// request that hangs) must not keep the others, or their errors, waiting.
const PATIENCE: usize = 3;

impl OffsetsSeen {
    /// Known honoured from the start (the server is known to begin at offsets): no piece
    /// waits for one to show it.
    pub(crate) fn honoured() -> Self {
        let seen = Self::default();
        seen.found(Offsets::Honoured);
        seen
    }

    /// Whether pieces cut now wait for the offsets to be known.
    pub(crate) fn holding(&self) -> bool {
        self.get() == Offsets::Unknown && self.blocks.load(Ordering::Relaxed) < PATIENCE
    }

    /// A listing read a block: whether the pieces held must go now ([`PATIENCE`]).
    pub(crate) fn block_read(&self) -> bool {
        self.get() == Offsets::Unknown
            && self.blocks.fetch_add(1, Ordering::Relaxed) + 1 == PATIENCE
    }

    pub(crate) fn get(&self) -> Offsets {
        match self.state.load(Ordering::Relaxed) {
            0 => Offsets::Unknown,
            1 => Offsets::Honoured,
            _ => Offsets::Ignored,
        }
    }

    /// Record what a piece showed: `Ignored` always wins (cutting stops for good),
    /// `Honoured` only settles an unknown state. Whether the state changed.
    pub(crate) fn found(&self, offsets: Offsets) -> bool {
        match offsets {
            Offsets::Unknown => false,
            Offsets::Honoured => self
                .state
                .compare_exchange(0, 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok(),
            Offsets::Ignored => self.state.swap(2, Ordering::Relaxed) != 2,
        }
    }
}

/// `pieces` (of one prefix or several, in any order) joined where one ends where another
/// starts (the pieces of one cut are such a chain; the first of a chain keeps its
/// `ahead`), and how many were joined into another: what waited for a server's offsets
/// to be known, listed once per chain when it ignores them.
pub(crate) fn join_chains(mut pieces: Vec<Range>) -> (Vec<Range>, usize) {
    pieces.sort_by(|a, b| (&a.prefix, &a.after).cmp(&(&b.prefix, &b.after)));
    let mut joined: Vec<Range> = Vec::with_capacity(pieces.len());
    let mut gone = 0;
    for piece in pieces {
        match joined.last_mut() {
            Some(last)
                if last.prefix == piece.prefix
                    && last.until.is_some()
                    && last.until == piece.after =>
            {
                last.until = piece.until;
                gone += 1;
            }
            _ => joined.push(piece),
        }
    }
    (joined, gone)
}

/// Pieces a range without an end cuts off ahead of itself at its first cut.
pub(crate) const AHEAD: usize = 4;
/// The most it cuts ahead at once.
pub(crate) const AHEAD_MAX: usize = 64;

/// Characters of a key read as a number.
const WIDTH: usize = 12;
/// Characters the keys share that are read as well.
const CARRY: usize = 2;

/// The printable ASCII characters met in a block's keys: the digits keys are read in.
/// Cutting in this base rather than all of ASCII keeps pieces from landing in gaps no
/// key uses (between `9` and `a` for hexadecimal names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Alphabet(u128);

impl Alphabet {
    /// Add the printable ASCII characters of `key`.
    #[cfg(test)]
    fn add(&mut self, key: &str) {
        self.add_bytes(key.as_bytes());
    }

    /// Add the characters a cut would read of `key` after the `shared` bytes it has in
    /// common with the keys before it: the ones that vary, not a suffix every key
    /// repeats (`.jpg`), whose characters would only be digits no key uses there.
    pub(crate) fn add_varying(&mut self, key: &str, shared: usize) {
        let bytes = key.as_bytes();
        let from = shared.min(bytes.len());
        self.add_bytes(&bytes[from..(from + WIDTH).min(bytes.len())]);
    }

    fn add_bytes(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if (b' '..=b'~').contains(&byte) {
                self.0 |= 1 << byte;
            }
        }
    }

    /// The largest character held.
    pub(crate) fn largest(&self) -> Option<char> {
        (b' '..=b'~')
            .rev()
            .find(|&b| self.0 & (1 << b) != 0)
            .map(char::from)
    }

    fn chars(&self) -> Vec<u8> {
        (b' '..=b'~').filter(|&b| self.0 & (1 << b) != 0).collect()
    }
}

/// A key's [`WIDTH`] characters from a byte as a number: digit 0 is "no character" (the
/// key ended), digit `i + 1` the alphabet's `i`-th character; a character outside it
/// counts as the alphabet's largest one below it. The order of keys is kept, not always
/// strictly: [`cuts`] checks every key it makes.
struct Digits(Vec<u8>);

impl Digits {
    fn base(&self) -> u128 {
        self.0.len() as u128 + 1
    }

    fn digit(&self, byte: Option<&u8>) -> u128 {
        byte.map_or(0, |&b| self.0.partition_point(|&c| c <= b).max(1) as u128)
    }

    fn value(&self, key: &str, from: usize) -> u128 {
        let bytes = key.as_bytes();
        (0..WIDTH).fold(0, |v, i| v * self.base() + self.digit(bytes.get(from + i)))
    }

    /// `v` (below `base^WIDTH`) as text: digit 0 written as the smallest character,
    /// trailing zeros dropped.
    fn text(&self, mut v: u128) -> String {
        let mut digits = [0u128; WIDTH];
        for d in digits.iter_mut().rev() {
            *d = v % self.base();
            v /= self.base();
        }
        let used = WIDTH - digits.iter().rev().take_while(|&&d| d == 0).count();
        digits[..used]
            .iter()
            .map(|&d| char::from(self.0[d.saturating_sub(1) as usize]))
            .collect()
    }
}

/// The length in bytes of the longest common prefix of `a` and `b`, at a character
/// boundary of both.
pub(crate) fn common(a: &str, b: &str) -> usize {
    let mut n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    while !a.is_char_boundary(n) || !b.is_char_boundary(n) {
        n -= 1;
    }
    n
}

/// A block of keys read as numbers: the byte they are read from, in which digits, the
/// last key's value and the block's span (`last - first`, above zero).
struct Measure {
    from: usize,
    digits: Digits,
    high: u128,
    block: u128,
}

/// The block from `first` to `last` (and the range's end `until`) read as numbers, as
/// [`cuts`] reads them; `None` when the keys tell nothing (see [`cuts`]).
fn measure(
    keep: usize,
    first: &str,
    last: &str,
    until: Option<&str>,
    mut alphabet: Alphabet,
) -> Option<Measure> {
    if first >= last {
        return None;
    }
    let mut from = common(first, last);
    if let Some(until) = until {
        from = from.min(common(last, until));
    }
    if from < keep {
        return None;
    }
    // Two characters of the shared part in the number, so a cut past the last value of
    // the first differing character carries into them (`u/0f...` to `u/10...`).
    from = from.saturating_sub(CARRY).max(keep);
    while !last.is_char_boundary(from) {
        from -= 1;
    }
    alphabet.add_varying(first, from);
    alphabet.add_varying(last, from);
    if let Some(until) = until {
        alphabet.add_varying(until, from);
    }
    let digits = Digits(alphabet.chars());
    if digits.0.is_empty() {
        return None;
    }
    let (low, high) = (digits.value(first, from), digits.value(last, from));
    let block = high.saturating_sub(low);
    (block > 0).then_some(Measure {
        from,
        digits,
        high,
        block,
    })
}

/// Where to cut what is left of a range that has just read a block of keys from `first`
/// to `last` (in order) and ends at `until` (none: the end of its prefix), into pieces
/// of about [`PAGES`] blocks (at least two when the range has an end): at most `count` keys, ascending, each strictly after
/// `last` and before `until`, each a valid [`Path`] that keeps the first `keep` bytes of
/// `last` (the prefix listed, so every piece stays under it). Empty when the block tells
/// nothing (keys that differ only past [`WIDTH`] characters, or outside printable ASCII)
/// or, for a range with an end, when what is left is under two pieces. With `even` (and
/// an end), into `count + 1` equal pieces however small.
pub(crate) fn cuts(
    keep: usize,
    first: &str,
    last: &str,
    until: Option<&str>,
    count: usize,
    alphabet: Alphabet,
    even: bool,
) -> Vec<Path> {
    if count == 0 {
        return Vec::new();
    }
    let Some(Measure {
        from,
        digits,
        high,
        block,
    }) = measure(keep, first, last, until, alphabet)
    else {
        return Vec::new();
    };
    let step = block.saturating_mul(PAGES);
    let values: Vec<u128> = match until {
        Some(until) => {
            let end = digits.value(until, from);
            // Cut only where slots are idle, so smaller pieces (two blocks) are worth it;
            // or, with `even`, into `count + 1` pieces whatever their size.
            let least = if even { 1 } else { 2 * block };
            let pieces = (end.saturating_sub(high) / least).min(count as u128 + 1);
            if pieces < 2 {
                return Vec::new();
            }
            let each = (end - high) / pieces;
            (1..pieces).map(|k| high + k * each).collect()
        }
        None => {
            let max = digits.base().pow(WIDTH as u32);
            (1..=count as u128)
                .map(|k| high.saturating_add(k.saturating_mul(step)))
                .take_while(|&v| v < max)
                .collect()
        }
    };
    let mut out: Vec<Path> = Vec::new();
    for v in values {
        let mut cut = format!("{}{}", &last[..from], digits.text(v));
        // Past where it leaves `last`, no `/` and nothing below it (see [`unambiguous`]).
        match unambiguous(&cut, last) {
            Some(end) => cut.truncate(end),
            None => continue,
        }
        let after = out.last().map_or(last, |p| p.as_ref());
        let inside = cut.as_str() > after && until.is_none_or(|until| cut.as_str() < until);
        if !inside {
            continue;
        }
        // Only a key object_store can hold as it is written (no empty segment, no `.`).
        if let Ok(path) = Path::parse(&cut) {
            if path.as_ref() == cut {
                out.push(path);
            }
        }
    }
    out
}

/// How much of `cut` (a key after `last`) to keep so that, from the first byte where it
/// leaves `last`, it holds no `/` and no byte below it: `None` when that first byte is
/// one. A store that lists folder by folder (a folder `a` sorting as `a`, before `a-b`)
/// orders two keys as bytes do unless one has a `/` where the other has such a byte; up
/// to where the cut leaves `last` (a key the range read, in order), a key ordered
/// differently by the two would be ordered differently against `last` too, which the
/// range's order check sees. Past it, nothing would: a cut `a-c` between `a` and `a/x`
/// (in bytes) lies after `a/x` folder by folder, and the piece after it would not list it.
fn unambiguous(cut: &str, last: &str) -> Option<usize> {
    let bytes = cut.as_bytes();
    let j = bytes
        .iter()
        .zip(last.as_bytes())
        .take_while(|(a, b)| a == b)
        .count();
    match bytes.get(j) {
        Some(&b) if b > b'/' => Some(
            bytes[j + 1..]
                .iter()
                .position(|&b| b <= b'/')
                .map_or(bytes.len(), |k| j + 1 + k),
        ),
        // Nothing past `last`'s bytes: not after it (the caller drops it).
        None => Some(bytes.len()),
        Some(_) => None,
    }
}

/// The offset to list a piece that starts after `after` from: a key just before it that
/// no store skips keys after `after` for. A store listing folder by folder starts after
/// `a` past the whole folder `a/` (`a/x` sorts after `a` in bytes, so it is the piece's);
/// `a` less one in its last character, then `~` (`` `~ ``), lies before `a` and its folder in
/// both orders. The piece skips the keys up to `after` it lists (few: those between
/// the two). `after` itself when no such key is valid.
pub(crate) fn offset(after: &Path) -> Path {
    let text = after.as_ref();
    let Some(last) = text.chars().next_back() else {
        return after.clone();
    };
    let stem = &text[..text.len() - last.len_utf8()];
    let below = (last as u32)
        .checked_sub(1)
        .and_then(char::from_u32)
        .filter(|c| !c.is_control())
        // Not a new segment (`0` less one): `.` is below `/` too.
        .map(|c| if c == '/' { '.' } else { c });
    let Some(below) = below else {
        return after.clone();
    };
    let key = format!("{stem}{below}~");
    match Path::parse(&key) {
        Ok(path) if path.as_ref() == key && key.as_str() < text => path,
        _ => after.clone(),
    }
}

/// What is left of a flat folder after its first page `probe` (`rest`, listed after
/// the page's last key) cut into about `n` pieces by key, the same in every part of a
/// split scan (a function of the page alone): cut evenly between the page's last key
/// and the largest character the page holds (twice) after the folder's name, in the
/// characters the page holds; the last piece goes to the folder's end (larger keys,
/// such as non-ASCII ones, included).
pub(crate) fn pieces_by_key(rest: Range, probe: &[&str], n: usize) -> Vec<Range> {
    let keep = rest.prefix.as_ref().map_or(0, |p| p.as_ref().len() + 1);
    match read_page(keep, probe) {
        Some((bounds, alphabet)) => pieces_after(keep, rest, bounds, alphabet, n),
        None => vec![rest],
    }
}

/// A page's first and last key and its characters past the first `keep` bytes, where
/// it has keys and all are longer than `keep`.
fn read_page<'k>(keep: usize, probe: &[&'k str]) -> Option<((&'k str, &'k str), Alphabet)> {
    let (&first, &last) = (probe.first()?, probe.last()?);
    if probe.iter().any(|key| key.len() < keep) {
        return None;
    }
    let mut alphabet = Alphabet::default();
    for &key in probe {
        alphabet.add_varying(key, common(first, key).max(keep));
    }
    Some(((first, last), alphabet))
}

/// What is left of a flat folder after its first page `probe` (`rest`, listed after the
/// page's last key), cut at once, as a range cuts itself at its first block once the
/// server has shown it begins at offsets: as many pieces as the keys the page predicts
/// are left fill ([`PAGES`] blocks of `block` keys each, [`keys_to_end`]), `most`
/// ranges at most,
/// spread evenly to the end of what its characters spell ([`pieces_after`]). One range,
/// seeded with the page, where the page predicts too few keys for two (no request more
/// for a small folder) or tells nothing.
pub(crate) fn first_cut(
    keep: usize,
    rest: Range,
    probe: &[&str],
    block: usize,
    most: usize,
) -> Vec<Range> {
    if let Some((bounds, alphabet)) = read_page(keep, probe) {
        let pieces = keys_to_end(keep, bounds, probe.len(), alphabet)
            .map_or(0, |keys| {
                let pieces = keys / (block.max(1) as u128).saturating_mul(PAGES);
                usize::try_from(pieces).unwrap_or(usize::MAX)
            })
            // (As a range's own first cut: at most AHEAD_MAX at once, whatever the
            // concurrency.)
            .min(most.min(AHEAD_MAX).saturating_sub(1));
        if pieces > 0 {
            let cut = pieces_after(keep, rest.clone(), bounds, alphabet, pieces + 1);
            if cut.len() > 1 {
                return cut;
            }
        }
    }
    vec![Range {
        seed: Seed::of(keep, probe).map(std::sync::Arc::new),
        ..rest
    }]
}

/// The end of what a block's characters spell after the first `keep` bytes of `last`:
/// its largest character, twice (`None` when it has none, or `keep` is not inside `last`).
fn upper(keep: usize, last: &str, alphabet: Alphabet) -> Option<String> {
    if last.len() < keep || !last.is_char_boundary(keep) {
        return None;
    }
    let top = alphabet.largest()?;
    Some(format!("{}{top}{top}", &last[..keep]))
}

/// How many blocks like the one of `keys` keys read from `first` to `last` the rest of
/// the key space holds up to what the block's characters spell ([`pieces_after`]'s end),
/// at the block's density: a guess, exact for names spread evenly (hashes), far too large
/// for names that use few of the values they could (dates). `None` when the block tells
/// nothing read from `keep` (keys that differ only past [`WIDTH`] characters after it),
/// or when its keys fill the values between `first` and `last` ([`dense`]: a counter).
pub(crate) fn blocks_to_end(
    keep: usize,
    bounds: (&str, &str),
    keys: usize,
    alphabet: Alphabet,
) -> Option<u128> {
    Some(keys_to_end(keep, bounds, keys, alphabet)? / keys.max(1) as u128)
}

/// [`blocks_to_end`] in keys: how many keys the rest of the key space holds at the
/// density of the block.
fn keys_to_end(
    keep: usize,
    (first, last): (&str, &str),
    keys: usize,
    alphabet: Alphabet,
) -> Option<u128> {
    let upper = upper(keep, last, alphabet).filter(|upper| upper.as_str() > last)?;
    let m = measure(keep, first, last, Some(&upper), alphabet)?;
    if dense(&m, first, last, keys) {
        return None;
    }
    let span = m.digits.value(&upper, m.from).saturating_sub(m.high);
    Some(span.saturating_mul(keys as u128) / m.block)
}

/// A block whose keys take at least one in [`DENSE`] of the values between its first
/// and last key is called dense.
const DENSE: u128 = 8;

/// Whether a block of `keys` keys from `first` to `last` takes most of the values
/// between them, read in the characters that vary (past the part they share, before the
/// suffix they share): a counter (`seq/000000` to `seq/000999`, `img_0042.jpg`). Its
/// first block is no guide to the rest of the key space: hashed names of its length
/// would fill every value up to `999999` only if there were a million of them, while the
/// next block of a counter is `001000` to `001999`. Names spread evenly (hashes) take
/// far fewer of the values than that until the key space is nearly full.
fn dense(m: &Measure, first: &str, last: &str, keys: usize) -> bool {
    let (first, last) = (first.as_bytes(), last.as_bytes());
    let shortest = first.len().min(last.len());
    let suffix = first
        .iter()
        .rev()
        .zip(last.iter().rev())
        .take_while(|(a, b)| a == b)
        .count()
        .min(shortest.saturating_sub(m.from));
    let varying = (first.len().max(last.len()) - m.from - suffix).clamp(1, WIDTH);
    let unit = m.digits.base().pow((WIDTH - varying) as u32);
    m.block / unit <= DENSE.saturating_mul(keys as u128)
}

/// Where [`pieces_after`] cuts: `n - 1` cuts at most, evenly between `last` and what the
/// block's characters spell ([`upper`]), none when `n < 2` or the block tells nothing.
pub(crate) fn cuts_to_end(
    keep: usize,
    (first, last): (&str, &str),
    alphabet: Alphabet,
    n: usize,
) -> Vec<Path> {
    match upper(keep, last, alphabet) {
        Some(upper) if n >= 2 && upper.as_str() > last => {
            cuts(keep, first, last, Some(&upper), n - 1, alphabet, true)
        }
        _ => Vec::new(),
    }
}

/// [`pieces_by_key`] from a block read from `first` to `last` whose characters are
/// `alphabet` (as [`Alphabet::add_varying`] adds them), for keys that share their first
/// `keep` bytes (the folder cut, with its `/`): every cut keeps them.
pub(crate) fn pieces_after(
    keep: usize,
    rest: Range,
    (first, last): (&str, &str),
    alphabet: Alphabet,
    n: usize,
) -> Vec<Range> {
    let cuts = cuts_to_end(keep, (first, last), alphabet, n);
    if cuts.is_empty() {
        return vec![rest];
    }
    let starts = std::iter::once(rest.after.clone()).chain(cuts.iter().cloned().map(Some));
    let ends = cuts.iter().cloned().map(Some).chain(std::iter::once(None));
    starts
        .zip(ends)
        .map(|(after, until)| Range {
            after,
            until,
            seed: None,
            ..rest.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_flat_folder_of_hex_names_is_cut_ahead_at_the_pace_of_its_block() {
        // 50,000 names spread evenly over 8 hex digits; the first block is the first 1,000.
        let name = |i: u64| format!("u/{:08x}.jpg", i * (u32::MAX as u64 / 50_000));
        let mut alphabet = Alphabet::default();
        (0..1000).for_each(|i| alphabet.add(&name(i)));
        let cuts = cuts(2, &name(0), &name(999), None, 8, alphabet, false);
        assert_eq!(cuts.len(), 8, "{cuts:?}");
        // Each piece holds keys, and not many more than PAGES blocks: the alphabet holds
        // characters hexadecimal names do not use (`.jpg`), so some pieces are smaller.
        let at = |p: &Path| {
            (0..50_000)
                .filter(|&i| name(i).as_str() <= p.as_ref())
                .count()
        };
        let mut before = 1000;
        for cut in &cuts {
            let n = at(cut) - before;
            assert!(
                (500..=8_000).contains(&n),
                "{n} keys before {cut}: {cuts:?}"
            );
            before = at(cut);
        }
    }

    #[test]
    fn a_range_with_an_end_is_cut_into_equal_pieces_of_two_blocks_or_more() {
        let mut digits = Alphabet::default();
        digits.add("0123456789");
        let cuts_ = cuts(0, "a000", "a100", Some("a900"), 7, digits, false);
        // Eight blocks left, seven slots: four pieces of two blocks.
        let want: Vec<Path> = ["a300", "a500", "a700"].map(Path::from).into();
        assert_eq!(cuts_, want);
        assert!(cuts_
            .iter()
            .all(|c| c.as_ref() > "a100" && c.as_ref() < "a900"));
        // Less than two pieces left: no cut.
        assert!(cuts(0, "a000", "a100", Some("a150"), 7, digits, false).is_empty());
        // One slot: two pieces.
        assert_eq!(
            cuts(0, "a000", "a100", Some("a900"), 1, digits, false),
            [Path::from("a500")]
        );
    }

    #[test]
    fn keys_that_differ_only_outside_printable_ascii_give_no_cut() {
        assert!(cuts(0, "日本1", "日本2", None, 4, Alphabet::default(), false).len() <= 4);
        assert!(cuts(
            0,
            "x/\u{e9}a",
            "x/\u{e9}b",
            None,
            4,
            Alphabet::default(),
            false
        )
        .iter()
        .all(|c| c.as_ref() > "x/\u{e9}b"));
        assert!(cuts(0, "\u{e9}", "\u{ea}", None, 4, Alphabet::default(), false).is_empty());
    }

    #[test]
    fn a_counter_predicts_nothing_and_hashed_names_the_rest_of_the_key_space() {
        let predict = |name: &dyn Fn(u64) -> String, keep: usize| {
            let mut alphabet = Alphabet::default();
            let (first, last) = (name(0), name(999));
            (0..1000).for_each(|i| alphabet.add_varying(&name(i), common(&first, &name(i))));
            blocks_to_end(keep, (&first, &last), 1000, alphabet)
        };
        // Counters, padded or not, with a suffix or not: the block fills its span.
        assert_eq!(predict(&|i| format!("seq/{i:08}"), 4), None);
        assert_eq!(predict(&|i| format!("i/img_{:06}.jpg", i + 1500), 2), None);
        assert_eq!(predict(&|i| format!("h/{:06x}", i * 3), 2), None);
        let mut plain: Vec<String> = (0..3000).map(|i| format!("n/{i}")).collect();
        plain.sort();
        assert_eq!(predict(&|i| plain[i as usize].clone(), 2), None);
        // 50,000 hashed names: about 49 blocks left.
        let hashed = |i: u64| format!("u/{:08x}.jpg", i * (u32::MAX as u64 / 50_000));
        let blocks = predict(&hashed, 2).expect("hashed names predict");
        assert!((20..=200).contains(&blocks), "{blocks}");
    }

    #[test]
    fn a_piece_is_listed_from_just_before_its_start_and_its_folder() {
        let offset = |k: &str| offset(&Path::parse(k).unwrap()).as_ref().to_string();
        // Before `a` and `a/...` in bytes and folder by folder.
        assert_eq!(offset("u/a"), "u/`~");
        // `0` less one is `/`: a new segment; `.` instead.
        assert_eq!(offset("u/10"), "u/1.~");
        assert_eq!(offset("0"), ".~");
        assert_eq!(offset("u/\u{e9}"), "u/\u{e8}~");
        // Nothing valid below it: the key itself.
        assert_eq!(offset("u/ "), "u/ ");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// An offset lies before its key, and no key after the key lies in it or its
        /// folder.
        #[test]
        fn an_offset_is_before_its_key(key in "[ -~\u{e9}\u{65e5}/.]{1,12}") {
            if let Ok(key) = Path::parse(&key) {
                let got = offset(&key);
                prop_assert!(got <= key);
                prop_assert_eq!(Path::parse(got.as_ref()).unwrap(), got.clone());
                if got != key {
                    let folder = format!("{}/", got.as_ref());
                    prop_assert!(folder.as_str() < key.as_ref());
                }
            }
        }

        /// Whatever the keys, a cut lies strictly between where the range is and where it
        /// ends, keeps the prefix, ascends, and is a valid key.
        #[test]
        fn cuts_are_always_inside_the_range(
            keep in 0usize..3,
            a in "[ -~\u{e9}\u{65e5}/.]{0,16}",
            b in "[ -~\u{e9}\u{65e5}/.]{0,16}",
            c in proptest::option::of("[ -~\u{e9}\u{65e5}/.]{0,16}"),
            count in 0usize..20,
            extra in "[ -~]{0,8}",
            even in any::<bool>(),
        ) {
            let (first, last) = if a <= b { (a, b) } else { (b, a) };
            let mut keep = keep.min(common(&first, &last));
            while !last.is_char_boundary(keep) {
                keep -= 1;
            }
            let until = c.filter(|c| c.as_str() > last.as_str());
            let mut alphabet = Alphabet::default();
            alphabet.add(&extra);
            let got = cuts(keep, &first, &last, until.as_deref(), count, alphabet, even);
            prop_assert!(got.len() <= count);
            let mut previous = last.clone();
            for cut in &got {
                let cut = cut.as_ref();
                prop_assert!(cut > previous.as_str(), "{cut:?} after {previous:?}");
                if let Some(until) = &until {
                    prop_assert!(cut < until.as_str());
                }
                prop_assert!(cut.starts_with(&last[..keep]));
                // Where it leaves `last` and past it: no `/`, nothing below it.
                let j = cut.bytes().zip(last.bytes()).take_while(|(a, b)| a == b).count();
                prop_assert!(cut.as_bytes()[j..].iter().all(|&b| b > b'/'), "{cut:?} after {last:?}");
                let parsed = Path::parse(cut).unwrap();
                prop_assert_eq!(parsed.as_ref(), cut);
                previous = cut.to_string();
            }
        }
    }
}

#[cfg(test)]
mod review8 {
    //! Review 8 (see tests/adversarial_review_8.rs): `first_cut`.
    use super::*;
    use proptest::prelude::*;

    /// 1,000 keys `f/aaaaaaaaa` + three characters of all printable ASCII but space:
    /// spread over a tiny span, below `~~`, so the page predicts about 2e20 keys.
    fn narrow_page() -> Vec<String> {
        (0..1000u64)
            .map(|i| {
                let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
                let c = |k: u64| char::from(b'!' + (k % 94) as u8);
                format!("f/aaaaaaaaa{}{}{}", c(x), c(x / 94), c(x / 94 / 94))
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// FINDING (panic). `first_cut` with `most` = `usize::MAX` (a scan's concurrency as
    /// `with_concurrency(usize::MAX)` sets it) and `block` 2: the page predicts more
    /// pieces than a `usize` holds, `pieces` becomes `usize::MAX - 1`, and
    /// `cuts(.., even)` collects `min(span, count + 1)` values into one `Vec<u128>`:
    /// "capacity overflow" (with `block` 1,000: an allocation of ~8e17 bytes, an abort).
    #[test]
    fn first_cut_with_unbounded_concurrency_does_not_panic() {
        let keys = narrow_page();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let rest = Range {
            after: Some(Path::from(*keys.last().unwrap())),
            ..Range::whole(Some(Path::from("f")))
        };
        let cut = first_cut(2, rest, &keys, 2, usize::MAX);
        assert!(!cut.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// HELD UP. Whatever the page (printable ASCII, `~`, `/`, spaces, unicode, one
        /// key or many, shared or not), `block` and `most` (1..64): the ranges chain from
        /// the page's last key to the folder's end (each ends where the next starts, the
        /// last open, strictly ascending), keep the folder, are `most` at most, and one
        /// range keeps the page as its seed.
        #[test]
        fn first_cut_chains_from_the_page_to_the_end(
            under in any::<bool>(),
            raw in proptest::collection::vec("[ -~\u{e9}\u{65e5}/]{1,14}", 1..60),
            block in prop_oneof![Just(1usize), 2usize..8, Just(1000usize)],
            most in 1usize..64,
        ) {
            let prefix = under.then(|| Path::from("p"));
            let keep = if under { 2 } else { 0 };
            let mut keys: Vec<String> = raw
                .iter()
                .map(|k| if under { format!("p/{k}") } else { k.clone() })
                .filter(|k| Path::parse(k).is_ok_and(|p| p.as_ref() == k))
                .collect();
            keys.sort();
            keys.dedup();
            prop_assume!(!keys.is_empty());
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let rest = Range {
                after: Some(Path::parse(keys.last().unwrap()).unwrap()),
                ..Range::whole(prefix.clone())
            };
            let out = first_cut(keep, rest.clone(), &keys, block, most);
            prop_assert!(!out.is_empty());
            prop_assert!(out.len() <= most, "{} ranges for {}", out.len(), most);
            prop_assert_eq!(&out[0].after, &rest.after);
            prop_assert_eq!(&out.last().unwrap().until, &None);
            for w in out.windows(2) {
                prop_assert!(w[0].until.is_some());
                prop_assert_eq!(&w[0].until, &w[1].after);
            }
            for r in &out {
                prop_assert_eq!(&r.prefix, &prefix);
                if let (Some(a), Some(u)) = (&r.after, &r.until) {
                    prop_assert!(a.as_ref() < u.as_ref(), "{:?}", out);
                    prop_assert!(u.as_ref().starts_with(&keys.last().unwrap()[..keep]));
                }
            }
            if out.len() == 1 {
                let seed = Seed::of(keep, &keys);
                prop_assert_eq!(out[0].seed.as_deref(), seed.as_ref());
            }
        }
    }
}
