//! A linearizability checker for histories of object-store operations.
//!
//! A test driver runs clients against a store and records, through a [`Recorder`], what
//! each client asked ([`Op`]), what the store answered ([`Outcome`]) and when, on one
//! logical clock. [`check`] then decides whether some order of those operations,
//! consistent with real time (an operation that returned before another was called comes
//! first), explains every answer under the model of a plain object store: a map from key
//! to the current version, where a version is the unique `u64` value its put wrote.
//!
//! The search is Wing & Gong's, with Lowe's memoization, as in porcupine's `checkSingle`.
//! Before searching, the history is cut into components: keys joined by a copy or a
//! rename form one component, and every component is checked on its own (independent
//! keys compose). Listings are not atomic snapshots in object_store, so they are not put
//! through the search: [`check_listings`] checks them with a separate, weaker rule.
//!
//! Answers other than those the model names (timeouts, 500s, a client that never got an
//! answer) make an operation indeterminate: a write may then have taken effect at any
//! single point after it was called, even after its response, or never; a read or a
//! listing constrains nothing and is dropped.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The version a put wrote. Every put writes a unique value, so a value names a version.
pub type Value = u64;

/// An operation on the store, as the model sees it.
///
/// The model is a map from key to `Option<Value>`. Each variant says which answers it can
/// get (besides [`Outcome::Failed`], which any operation can get) and what they mean.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `put`: answers `Ok`; the key then holds `value`.
    Put { key: String, value: Value },
    /// `put` with `PutMode::Create`: `Ok` if the key was absent (it then holds `value`),
    /// `AlreadyExists` if it was present (nothing changes).
    Create { key: String, value: Value },
    /// `put` with `PutMode::Update`: `Ok` if the key held `expected` (it then holds
    /// `value`), `Refused` otherwise (the store's Precondition or NotFound; nothing changes).
    Update {
        key: String,
        expected: Value,
        value: Value,
    },
    /// `get`: `Found(value)` or `NotFound`.
    Get { key: String },
    /// `head`: `Found(value)` or `NotFound`.
    Head { key: String },
    /// `delete`: `Ok`; the key is then absent. Deleting an absent key is `Ok` too; a
    /// `NotFound` answer (LocalFileSystem gives one) is accepted and means the key was
    /// absent. A batch delete is recorded as one `Delete` per key sharing the batch's call
    /// time (see [`Recorder::call_many`]).
    Delete { key: String },
    /// `copy`: `Ok` if `from` was present (`to` then holds its value), `NotFound` if it
    /// was absent (nothing changes).
    Copy { from: String, to: String },
    /// `copy_if_not_exists`: `Ok` if `from` was present and `to` absent (`to` then holds
    /// `from`'s value), `AlreadyExists` if `to` was present, `NotFound` if `from` was
    /// absent; when both refusals apply either answer is accepted.
    CopyIfNotExists { from: String, to: String },
    /// `rename`, modelled as atomic: `Ok` if `from` was present (`to` then holds its value
    /// and `from` is absent; when `from == to` nothing changes), `NotFound` if `from` was
    /// absent.
    ///
    /// object_store's default `rename` is a copy followed by a delete of the source, which
    /// others can observe half done. For a store that renames that way, record the rename
    /// as a `Copy` and a `Delete` of `from` over the same interval instead (a `NotFound`
    /// answer as the `Copy` alone): that admits every behaviour of copy-then-delete.
    Rename { from: String, to: String },
    /// `rename_if_not_exists`, atomic: like [`Op::CopyIfNotExists`], and on `Ok` `from`
    /// becomes absent. The note on [`Op::Rename`] applies.
    RenameIfNotExists { from: String, to: String },
    /// `list` under `prefix`: answers `Listed`. A key is under the prefix when the prefix
    /// is empty or the key starts with the prefix followed by `/` (object_store matches
    /// whole path segments and does not list the prefix itself). [`check`] ignores
    /// listings; [`check_listings`] checks them.
    List { prefix: String },
}

/// What the store answered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    AlreadyExists,
    /// An update's precondition did not hold (the store said Precondition or NotFound).
    Refused,
    NotFound,
    Found(Value),
    /// The keys a listing returned, each with the version it showed.
    Listed(BTreeSet<(String, Value)>),
    /// Any other error: the operation is indeterminate.
    Failed,
}

/// One operation of a history: who called it, when, and what came back.
///
/// `call` and `ret` are ticks of one logical clock, taken just before the operation was
/// invoked and just after its response arrived, so `a.ret < b.call` means `a` finished
/// before `b` started. Equal ticks count as overlapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub client: usize,
    pub call: u64,
    /// `None` when the operation never returned; it is then indeterminate.
    pub ret: Option<u64>,
    pub op: Op,
    pub outcome: Outcome,
}

impl Event {
    /// Whether the store's answer leaves open if (and when) the operation took effect:
    /// it never returned, or returned an error the model does not name.
    pub fn is_indeterminate(&self) -> bool {
        self.ret.is_none() || self.outcome == Outcome::Failed
    }
}

/// Identifies an operation between [`Recorder::call`] and [`Recorder::ret`]. Dropping a
/// ticket without returning it leaves the operation recorded as never returned.
#[must_use = "pass the ticket to Recorder::ret once the store answers"]
#[derive(Debug)]
pub struct Ticket(usize);

/// Records a history from many threads or tasks at once.
///
/// Call [`Recorder::call`] just before invoking the store and [`Recorder::ret`] just
/// after its answer; both take a tick of the recorder's clock, so real-time order between
/// operations of different clients is captured exactly.
#[derive(Debug, Default)]
pub struct Recorder {
    clock: AtomicU64,
    events: Mutex<Vec<Event>>,
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::SeqCst)
    }

    fn events(&self) -> std::sync::MutexGuard<'_, Vec<Event>> {
        // A panicking recorder thread cannot leave the vector half-written.
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records that `client` is about to invoke `op`. Until [`Recorder::ret`] is called
    /// with the ticket, the operation stands as never returned (indeterminate).
    pub fn call(&self, client: usize, op: Op) -> Ticket {
        // Ticking under the lock keeps the events in call order.
        let mut events = self.events();
        let call = self.tick();
        events.push(Event {
            client,
            call,
            ret: None,
            op,
            outcome: Outcome::Failed,
        });
        Ticket(events.len() - 1)
    }

    /// Records several operations invoked together (the keys of a batch delete), all with
    /// one call tick. Return each ticket on its own as its result arrives, or all at once
    /// with [`Recorder::ret_many`].
    pub fn call_many(&self, client: usize, ops: impl IntoIterator<Item = Op>) -> Vec<Ticket> {
        let mut events = self.events();
        let call = self.tick();
        ops.into_iter()
            .map(|op| {
                events.push(Event {
                    client,
                    call,
                    ret: None,
                    op,
                    outcome: Outcome::Failed,
                });
                Ticket(events.len() - 1)
            })
            .collect()
    }

    /// Records the store's answer to the operation of `ticket`.
    pub fn ret(&self, ticket: Ticket, outcome: Outcome) {
        let ret = self.tick();
        let mut events = self.events();
        let event = &mut events[ticket.0];
        event.ret = Some(ret);
        event.outcome = outcome;
    }

    /// Records the answers to several operations with one return tick.
    pub fn ret_many(&self, answers: impl IntoIterator<Item = (Ticket, Outcome)>) {
        let ret = self.tick();
        let mut events = self.events();
        for (ticket, outcome) in answers {
            let event = &mut events[ticket.0];
            event.ret = Some(ret);
            event.outcome = outcome;
        }
    }

    /// A copy of the history so far, in call order.
    pub fn history(&self) -> Vec<Event> {
        self.events().clone()
    }
}

/// Limits on the search.
#[derive(Clone, Debug)]
pub struct Options {
    /// The most search steps spent on one component before giving up with
    /// [`CheckError::Undecided`]. A step costs a few microseconds in a debug build; the
    /// default, 500,000, decides typical histories of hundreds of operations many times
    /// over and bounds a pathological one to a few seconds.
    pub budget: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self { budget: 500_000 }
    }
}

/// What a successful check covered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Independent groups of keys checked separately.
    pub components: usize,
    /// Operations put through the search.
    pub operations: usize,
    /// Of those, writes with an indeterminate outcome.
    pub indeterminate: usize,
    /// Indeterminate reads and all listings, which the search leaves out.
    pub dropped: usize,
    /// Operations in the largest component.
    pub largest_component: usize,
    /// Search steps over all components.
    pub steps: u64,
}

/// Why a history was not accepted.
#[derive(Clone, Debug)]
pub enum CheckError {
    /// No order explains the answers: the store is not linearizable (or a listing broke
    /// the listing rule).
    Violation(Box<Violation>),
    /// The search ran out of budget on a component without deciding; says nothing about
    /// the store.
    Undecided(Undecided),
    /// The history itself is wrong (an answer the operation cannot get, a return before
    /// the call): a bug in the driver.
    Malformed(String),
}

/// The search gave up on a component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undecided {
    pub keys: Vec<String>,
    pub operations: usize,
    pub steps: u64,
}

/// Which rule a [`Violation`] broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViolationKind {
    /// No linearization of the component's operations exists.
    NotLinearizable,
    /// A listing broke the rule of [`check_listings`].
    Listing,
}

/// A counterexample, meant to be printed: its `Display` shows one event a line, and
/// only the last 40 operations of a long prefix unless asked for all with `{:#}`.
#[derive(Clone, Debug)]
pub struct Violation {
    pub kind: ViolationKind,
    /// The keys of the failing component; for a listing, the key it got wrong.
    pub keys: Vec<String>,
    /// What went wrong, in one sentence.
    pub reason: String,
    /// For `NotLinearizable`: the longest linearizable prefix found, in linearization
    /// order. For `Listing`: the operations on the key called before the listing returned.
    pub linearized: Vec<Event>,
    /// For `NotLinearizable`: the model state after `linearized` (absent keys as `None`).
    /// For `Listing`: the state the key was definitely in (empty when only the version
    /// shown is wrong).
    pub state: BTreeMap<String, Option<Value>>,
    /// For `NotLinearizable`: the operation the search could not get past. Of the
    /// operations not in `linearized` it returned first, so it must precede every one
    /// called after that; yet neither it nor any of `concurrent` can come next (the model
    /// refuses it there, or nothing can follow). For `Listing`: the listing.
    pub failed: Event,
    /// For `NotLinearizable`: the other determinate operations that could have come next
    /// (those called before `failed` returned).
    pub concurrent: Vec<Event>,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Put { key, value } => write!(f, "put({key}, {value})"),
            Op::Create { key, value } => write!(f, "create({key}, {value})"),
            Op::Update {
                key,
                expected,
                value,
            } => write!(f, "update({key}, if {expected}, {value})"),
            Op::Get { key } => write!(f, "get({key})"),
            Op::Head { key } => write!(f, "head({key})"),
            Op::Delete { key } => write!(f, "delete({key})"),
            Op::Copy { from, to } => write!(f, "copy({from} -> {to})"),
            Op::CopyIfNotExists { from, to } => write!(f, "copy_if_not_exists({from} -> {to})"),
            Op::Rename { from, to } => write!(f, "rename({from} -> {to})"),
            Op::RenameIfNotExists { from, to } => {
                write!(f, "rename_if_not_exists({from} -> {to})")
            }
            Op::List { prefix } => write!(f, "list({prefix:?})"),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::AlreadyExists => f.write_str("already exists"),
            Outcome::Refused => f.write_str("refused"),
            Outcome::NotFound => f.write_str("not found"),
            Outcome::Found(value) => write!(f, "found {value}"),
            Outcome::Listed(entries) => {
                f.write_str("listed {")?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{key}={value}")?;
                }
                f.write_str("}")
            }
            Outcome::Failed => f.write_str("failed"),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ret = match self.ret {
            Some(ret) => ret.to_string(),
            None => "never".to_string(),
        };
        let span = format!("{}..{}", self.call, ret);
        write!(
            f,
            "client {:<2} {:>11}  {} -> {}",
            self.client, span, self.op, self.outcome
        )?;
        if self.is_indeterminate() {
            f.write_str(" (indeterminate)")?;
        }
        Ok(())
    }
}

fn write_state(f: &mut fmt::Formatter<'_>, state: &BTreeMap<String, Option<Value>>) -> fmt::Result {
    for (i, (key, value)) in state.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        match value {
            Some(value) => write!(f, "{sep}{key} = {value}")?,
            None => write!(f, "{sep}{key} absent")?,
        }
    }
    Ok(())
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ViolationKind::NotLinearizable => {
                writeln!(
                    f,
                    "not linearizable (keys {:?}): {}",
                    self.keys, self.reason
                )?;
                writeln!(
                    f,
                    "longest linearizable prefix ({} operations), in linearization order:",
                    self.linearized.len()
                )?;
                // The state line below sums up what came before; `{:#}` shows it all.
                let shown = if f.alternate() { usize::MAX } else { 40 };
                let skipped = self.linearized.len().saturating_sub(shown);
                if skipped > 0 {
                    writeln!(
                        f,
                        "  ... {skipped} earlier operations (`{{:#}}` shows them)"
                    )?;
                }
                for event in &self.linearized[skipped..] {
                    writeln!(f, "  {event}")?;
                }
                f.write_str("state after it: ")?;
                write_state(f, &self.state)?;
                writeln!(f)?;
                writeln!(f, "first operation that could not be placed next:")?;
                writeln!(f, "  {}", self.failed)?;
                if !self.concurrent.is_empty() {
                    writeln!(
                        f,
                        "other candidates, each refused there or leading nowhere:"
                    )?;
                    for event in &self.concurrent {
                        writeln!(f, "  {event}")?;
                    }
                }
            }
            ViolationKind::Listing => {
                writeln!(
                    f,
                    "listing violation (key {:?}): {}",
                    self.keys, self.reason
                )?;
                writeln!(f, "listing:")?;
                writeln!(f, "  {}", self.failed)?;
                if !self.state.is_empty() {
                    f.write_str("definite state throughout the listing: ")?;
                    write_state(f, &self.state)?;
                    writeln!(f)?;
                }
                writeln!(
                    f,
                    "operations on the key called before the listing returned:"
                )?;
                if self.linearized.is_empty() {
                    writeln!(f, "  (none: the initial state stands)")?;
                }
                for event in &self.linearized {
                    writeln!(f, "  {event}")?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::Violation(violation) => fmt::Display::fmt(violation, f),
            CheckError::Undecided(u) => write!(
                f,
                "undecided: the search gave up on keys {:?} ({} operations) after {} steps",
                u.keys, u.operations, u.steps
            ),
            CheckError::Malformed(why) => write!(f, "malformed history: {why}"),
        }
    }
}

impl std::error::Error for CheckError {}

/// Checks that the history is linearizable from an empty store. Listings are ignored
/// (see [`check_listings`]).
pub fn check(history: &[Event]) -> Result<Stats, CheckError> {
    check_with(&BTreeMap::new(), history, &Options::default())
}

/// Checks that the history is linearizable from a store that starts with `initial` (key
/// to value; other keys absent). Listings are ignored (see [`check_listings`]).
pub fn check_from(
    initial: &BTreeMap<String, Value>,
    history: &[Event],
) -> Result<Stats, CheckError> {
    check_with(initial, history, &Options::default())
}

/// Like [`check_from`], with explicit search limits.
///
/// Components are checked in the order of their smallest key. The first violation found
/// is returned; failing that, the first component whose search ran out of budget, as
/// [`CheckError::Undecided`]. A violation is reported only when the search proved that
/// no linearization exists.
pub fn check_with(
    initial: &BTreeMap<String, Value>,
    history: &[Event],
    options: &Options,
) -> Result<Stats, CheckError> {
    for event in history {
        validate(event)?;
    }
    let mut stats = Stats::default();

    // Keep the events the search needs: writes, and reads with a definite answer.
    let mut kept = Vec::new();
    for (index, event) in history.iter().enumerate() {
        let read = matches!(event.op, Op::Get { .. } | Op::Head { .. });
        if matches!(event.op, Op::List { .. }) || (read && event.is_indeterminate()) {
            stats.dropped += 1;
        } else {
            kept.push(index);
        }
    }

    // Union-find over keys: a copy or a rename joins its two keys.
    let mut key_ids: BTreeMap<&str, usize> = BTreeMap::new();
    for &index in &kept {
        for key in op_keys(&history[index].op) {
            let next = key_ids.len();
            key_ids.entry(key).or_insert(next);
        }
    }
    let mut parent: Vec<usize> = (0..key_ids.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for &index in &kept {
        if let [a, b] = op_keys(&history[index].op)[..] {
            let (ra, rb) = (find(&mut parent, key_ids[a]), find(&mut parent, key_ids[b]));
            parent[ra] = rb;
        }
    }

    // Components, each with its keys in order, in the order of their smallest key.
    let mut components: Vec<(Vec<&str>, Vec<usize>)> = Vec::new();
    let mut component_of_root: HashMap<usize, usize> = HashMap::new();
    for (&key, &id) in &key_ids {
        let root = find(&mut parent, id);
        let next = components.len();
        let component = *component_of_root.entry(root).or_insert(next);
        if component == next {
            components.push((Vec::new(), Vec::new()));
        }
        components[component].0.push(key);
    }
    for &index in &kept {
        let key = op_keys(&history[index].op)[0];
        let component = component_of_root[&find(&mut parent, key_ids[key])];
        components[component].1.push(index);
    }

    let mut undecided = None;
    for (keys, events) in &components {
        stats.components += 1;
        stats.operations += events.len();
        stats.largest_component = stats.largest_component.max(events.len());
        let slot: HashMap<&str, usize> = keys.iter().enumerate().map(|(i, &k)| (k, i)).collect();
        let ops: Vec<Lin> = events
            .iter()
            .map(|&index| Lin::new(index, &history[index], &slot))
            .collect();
        stats.indeterminate += ops.iter().filter(|op| op.ret.is_none()).count();
        let init: Vec<Option<Value>> = keys.iter().map(|&k| initial.get(k).copied()).collect();
        let searched = search(&ops, init, options.budget);
        stats.steps += searched.steps;
        let keys_owned = || keys.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        match searched.result {
            SearchResult::Linearizable => {}
            SearchResult::Undecided => {
                // Keep going: a violation in another component says more.
                undecided.get_or_insert(Undecided {
                    keys: keys_owned(),
                    operations: ops.len(),
                    steps: searched.steps,
                });
            }
            SearchResult::Stuck(dead_end) => {
                let event = |i: usize| history[ops[i].event].clone();
                let stuck = &ops[dead_end.stuck];
                let model_answer = natural_outcome(&stuck.op, &dead_end.state);
                let state: BTreeMap<String, Option<Value>> = keys
                    .iter()
                    .zip(&dead_end.state)
                    .map(|(k, v)| (k.to_string(), *v))
                    .collect();
                let failed = event(dead_end.stuck);
                let reason = if allowed(&stuck.op, stuck.out, &dead_end.state) {
                    format!(
                        "`{}` answering `{}` fits after the prefix, but nothing can follow it",
                        failed.op, failed.outcome
                    )
                } else {
                    format!(
                        "`{}` answered `{}`, but after the prefix the model answers `{}`",
                        failed.op, failed.outcome, model_answer
                    )
                };
                return Err(CheckError::Violation(Box::new(Violation {
                    kind: ViolationKind::NotLinearizable,
                    keys: keys_owned(),
                    reason,
                    linearized: dead_end.prefix.iter().map(|&i| event(i)).collect(),
                    state,
                    failed,
                    concurrent: dead_end.concurrent.iter().map(|&i| event(i)).collect(),
                })));
            }
        }
    }
    match undecided {
        Some(undecided) => Err(CheckError::Undecided(undecided)),
        None => Ok(stats),
    }
}

/// Checks every listing of the history against the listing rule, from a store that
/// starts with `initial`.
///
/// A listing is not an atomic snapshot (object_store and S3 page through keys while
/// writes go on), so it is only held to what holds for each key on its own over the
/// listing's whole interval, from its call to its return. Call a write on a key
/// *effective* unless its definite answer says it changed nothing (`AlreadyExists`,
/// `Refused`, `NotFound`); writes on a key are puts, creates, updates and deletes of it,
/// copies and renames into it, and renames out of it. Then, for each key under the
/// listing's prefix:
///
/// - If every effective write on the key called before the listing returned is definite
///   and returned before the listing was called, the key's state is settled for the whole
///   listing, decided by the last of those writes (or by `initial` when there are none).
///   When the writes that could be last (those no other one follows in real time) all
///   leave the key present, it **must be listed**, and when there is only one and it
///   wrote a known value (or there are none and `initial` holds one), listed with that
///   value; when they all leave it absent, it **must not be listed**. Otherwise nothing is
///   required.
/// - A listed key must show a value that could have been there: `initial`'s, or one that
///   an effective write called before the listing returned wrote to it (directly, or by
///   a copy or rename from a key that could hold it).
/// - A listed key must be under the prefix and listed once.
///
/// Indeterminate listings are skipped.
pub fn check_listings(
    initial: &BTreeMap<String, Value>,
    history: &[Event],
) -> Result<(), CheckError> {
    for event in history {
        validate(event)?;
    }
    let mut all_keys: BTreeSet<&str> = initial.keys().map(String::as_str).collect();
    for event in history {
        all_keys.extend(op_keys(&event.op));
        if let Outcome::Listed(entries) = &event.outcome {
            all_keys.extend(entries.iter().map(|(k, _)| k.as_str()));
        }
    }
    for listing in history {
        let (Op::List { prefix }, Outcome::Listed(entries), Some(ret)) =
            (&listing.op, &listing.outcome, listing.ret)
        else {
            continue;
        };
        let violation = |key: &str, reason: String, state: BTreeMap<String, Option<Value>>| {
            let mut linearized: Vec<Event> = history
                .iter()
                .filter(|e| e.call <= ret && !matches!(effect_on(e, key), Effect::Nothing))
                .cloned()
                .collect();
            linearized.sort_by_key(|e| e.call);
            CheckError::Violation(Box::new(Violation {
                kind: ViolationKind::Listing,
                keys: vec![key.to_string()],
                reason,
                linearized,
                state,
                failed: listing.clone(),
                concurrent: Vec::new(),
            }))
        };

        let mut listed: BTreeMap<&str, Value> = BTreeMap::new();
        for (key, value) in entries {
            if !under_prefix(key, prefix) {
                let reason = format!("listed {key}, which is not under the prefix {prefix:?}");
                return Err(violation(key, reason, BTreeMap::new()));
            }
            if listed.insert(key, *value).is_some() {
                let reason = format!("listed {key} more than once");
                return Err(violation(key, reason, BTreeMap::new()));
            }
        }

        let possible = possible_values(initial, history, ret);
        for &key in all_keys.iter().filter(|k| under_prefix(k, prefix)) {
            let shown = listed.get(key).copied();
            let settled = settled_state(initial, history, key, listing.call, ret);
            let state_of = |v: Option<Value>| BTreeMap::from([(key.to_string(), v)]);
            match (settled, shown) {
                (Settled::Present(value), None) => {
                    let reason = format!("{key} was present throughout the listing but not listed");
                    // The state shows the value when it is known; otherwise it stays empty.
                    let state = value.map(|v| state_of(Some(v))).unwrap_or_default();
                    return Err(violation(key, reason, state));
                }
                (Settled::Present(Some(expected)), Some(value)) if value != expected => {
                    let reason = format!(
                        "{key} held {expected} throughout the listing but was listed with {value}"
                    );
                    return Err(violation(key, reason, state_of(Some(expected))));
                }
                (Settled::Absent, Some(value)) => {
                    let reason =
                        format!("{key} was absent throughout the listing but listed with {value}");
                    return Err(violation(key, reason, state_of(None)));
                }
                _ => {}
            }
            if let Some(value) = shown {
                if !possible
                    .get(key)
                    .is_some_and(|values| values.contains(&value))
                {
                    let reason = format!(
                        "{key} was listed with {value}, which nothing called before the listing returned wrote to it"
                    );
                    return Err(violation(key, reason, BTreeMap::new()));
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Validation and helpers shared by both checks.

fn validate(event: &Event) -> Result<(), CheckError> {
    if event.ret.is_some_and(|ret| ret < event.call) {
        return Err(CheckError::Malformed(format!(
            "returns before it is called: {event}"
        )));
    }
    use Outcome as O;
    let allowed = matches!(
        (&event.op, &event.outcome),
        (_, O::Failed)
            | (Op::Put { .. }, O::Ok)
            | (Op::Create { .. }, O::Ok | O::AlreadyExists)
            | (Op::Update { .. }, O::Ok | O::Refused)
            | (Op::Get { .. } | Op::Head { .. }, O::Found(_) | O::NotFound)
            | (Op::Delete { .. }, O::Ok | O::NotFound)
            | (Op::Copy { .. } | Op::Rename { .. }, O::Ok | O::NotFound)
            | (
                Op::CopyIfNotExists { .. } | Op::RenameIfNotExists { .. },
                O::Ok | O::AlreadyExists | O::NotFound
            )
            | (Op::List { .. }, O::Listed(_))
    );
    if allowed {
        Ok(())
    } else {
        Err(CheckError::Malformed(format!(
            "an answer this operation cannot get: {event}"
        )))
    }
}

/// The keys an operation names: one, or (copies and renames) `[from, to]`; none for a
/// listing.
fn op_keys(op: &Op) -> Vec<&str> {
    match op {
        Op::Put { key, .. }
        | Op::Create { key, .. }
        | Op::Update { key, .. }
        | Op::Get { key }
        | Op::Head { key }
        | Op::Delete { key } => vec![key],
        Op::Copy { from, to }
        | Op::CopyIfNotExists { from, to }
        | Op::Rename { from, to }
        | Op::RenameIfNotExists { from, to } => vec![from, to],
        Op::List { .. } => vec![],
    }
}

fn under_prefix(key: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || key
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// How an event may change one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Nothing,
    /// The key becomes present, with this value when the operation names it (a copy or a
    /// rename carries whatever its source held).
    Writes(Option<Value>),
    Deletes,
}

fn effect_on(event: &Event, key: &str) -> Effect {
    let may_act = event.is_indeterminate() || event.outcome == Outcome::Ok;
    if !may_act {
        return Effect::Nothing;
    }
    match &event.op {
        Op::Put { key: k, value }
        | Op::Create { key: k, value }
        | Op::Update { key: k, value, .. }
            if k == key =>
        {
            Effect::Writes(Some(*value))
        }
        Op::Delete { key: k } if k == key => Effect::Deletes,
        Op::Copy { from, to } | Op::CopyIfNotExists { from, to } if to == key && from != to => {
            Effect::Writes(None)
        }
        Op::Rename { from, to } | Op::RenameIfNotExists { from, to } if from != to => {
            if to == key {
                Effect::Writes(None)
            } else if from == key {
                Effect::Deletes
            } else {
                Effect::Nothing
            }
        }
        _ => Effect::Nothing,
    }
}

enum Settled {
    /// Present for the whole interval, with the value when it is known.
    Present(Option<Value>),
    Absent,
    Unknown,
}

/// The state `key` was definitely in from `call` to `ret`, by the rule of
/// [`check_listings`].
fn settled_state(
    initial: &BTreeMap<String, Value>,
    history: &[Event],
    key: &str,
    call: u64,
    ret: u64,
) -> Settled {
    let writes: Vec<(&Event, Effect)> = history
        .iter()
        .filter(|e| e.call <= ret)
        .map(|e| (e, effect_on(e, key)))
        .filter(|(_, effect)| *effect != Effect::Nothing)
        .collect();
    let settled_before = |e: &Event| !e.is_indeterminate() && e.ret.is_some_and(|r| r < call);
    if !writes.iter().all(|(e, _)| settled_before(e)) {
        return Settled::Unknown;
    }
    if writes.is_empty() {
        return match initial.get(key) {
            Some(&value) => Settled::Present(Some(value)),
            None => Settled::Absent,
        };
    }
    // The writes that could be last: no other write follows them in real time.
    let last: Vec<Effect> = writes
        .iter()
        .filter(|(e, _)| {
            let done = e.ret.expect("settled writes returned");
            !writes.iter().any(|(other, _)| done < other.call)
        })
        .map(|&(_, effect)| effect)
        .collect();
    if last.iter().all(|effect| *effect == Effect::Deletes) {
        Settled::Absent
    } else if last
        .iter()
        .all(|effect| matches!(effect, Effect::Writes(_)))
    {
        match last[..] {
            [Effect::Writes(value)] => Settled::Present(value),
            _ => Settled::Present(None),
        }
    } else {
        Settled::Unknown
    }
}

/// For each key, the values it could hold at some point before `ret`: its initial value,
/// values written to it by effective writes called by then, and (through copies and
/// renames called by then) values its sources could hold.
fn possible_values<'h>(
    initial: &'h BTreeMap<String, Value>,
    history: &'h [Event],
    ret: u64,
) -> HashMap<&'h str, BTreeSet<Value>> {
    let mut possible: HashMap<&str, BTreeSet<Value>> = HashMap::new();
    for (key, value) in initial {
        possible.entry(key).or_default().insert(*value);
    }
    let mut edges: Vec<(&str, &str)> = Vec::new();
    for event in history.iter().filter(|e| e.call <= ret) {
        let may_act = event.is_indeterminate() || event.outcome == Outcome::Ok;
        if !may_act {
            continue;
        }
        match &event.op {
            Op::Put { key, value } | Op::Create { key, value } | Op::Update { key, value, .. } => {
                possible.entry(key).or_default().insert(*value);
            }
            Op::Copy { from, to }
            | Op::CopyIfNotExists { from, to }
            | Op::Rename { from, to }
            | Op::RenameIfNotExists { from, to } => edges.push((from, to)),
            _ => {}
        }
    }
    loop {
        let mut changed = false;
        for &(from, to) in &edges {
            let source = possible.get(from).cloned().unwrap_or_default();
            let target = possible.entry(to).or_default();
            for value in source {
                changed |= target.insert(value);
            }
        }
        if !changed {
            return possible;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The model, over the keys of one component (numbered by their position).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MOp {
    Put {
        key: usize,
        value: Value,
    },
    Create {
        key: usize,
        value: Value,
    },
    Update {
        key: usize,
        expected: Value,
        value: Value,
    },
    Read {
        key: usize,
    },
    Delete {
        key: usize,
    },
    Copy {
        from: usize,
        to: usize,
        if_absent: bool,
    },
    Rename {
        from: usize,
        to: usize,
        if_absent: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MOut {
    Ok,
    AlreadyExists,
    Refused,
    NotFound,
    Found(Value),
    /// Indeterminate: any answer, any (or no) effect.
    Any,
}

impl fmt::Display for MOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MOut::Ok => f.write_str("ok"),
            MOut::AlreadyExists => f.write_str("already exists"),
            MOut::Refused => f.write_str("refused"),
            MOut::NotFound => f.write_str("not found"),
            MOut::Found(value) => write!(f, "found {value}"),
            MOut::Any => f.write_str("anything"),
        }
    }
}

type State = Vec<Option<Value>>;

/// Whether the model can answer `out` to `op` in `state`.
fn allowed(op: &MOp, out: MOut, s: &[Option<Value>]) -> bool {
    match (*op, out) {
        (_, MOut::Any) => true,
        (MOp::Put { .. }, MOut::Ok) => true,
        (MOp::Create { key, .. }, MOut::Ok) => s[key].is_none(),
        (MOp::Create { key, .. }, MOut::AlreadyExists) => s[key].is_some(),
        (MOp::Update { key, expected, .. }, MOut::Ok) => s[key] == Some(expected),
        (MOp::Update { key, expected, .. }, MOut::Refused) => s[key] != Some(expected),
        (MOp::Read { key }, MOut::Found(value)) => s[key] == Some(value),
        (MOp::Read { key }, MOut::NotFound) => s[key].is_none(),
        (MOp::Delete { .. }, MOut::Ok) => true,
        (MOp::Delete { key }, MOut::NotFound) => s[key].is_none(),
        (
            MOp::Copy {
                from,
                to,
                if_absent,
                ..
            }
            | MOp::Rename {
                from,
                to,
                if_absent,
                ..
            },
            MOut::Ok,
        ) => s[from].is_some() && (!if_absent || s[to].is_none()),
        (MOp::Copy { from, .. } | MOp::Rename { from, .. }, MOut::NotFound) => s[from].is_none(),
        (
            MOp::Copy {
                to,
                if_absent: true,
                ..
            }
            | MOp::Rename {
                to,
                if_absent: true,
                ..
            },
            MOut::AlreadyExists,
        ) => s[to].is_some(),
        _ => false,
    }
}

/// Applies the effect `op` has in state `s`. When `allowed(op, out, s)` holds for a
/// definite `out`, this is exactly the effect that answer means.
fn apply(op: &MOp, s: &mut [Option<Value>]) {
    match *op {
        MOp::Put { key, value } => s[key] = Some(value),
        MOp::Create { key, value } => {
            if s[key].is_none() {
                s[key] = Some(value);
            }
        }
        MOp::Update {
            key,
            expected,
            value,
        } => {
            if s[key] == Some(expected) {
                s[key] = Some(value);
            }
        }
        MOp::Read { .. } => {}
        MOp::Delete { key } => s[key] = None,
        MOp::Copy {
            from,
            to,
            if_absent,
        } => {
            if let Some(value) = s[from] {
                if !if_absent || s[to].is_none() {
                    s[to] = Some(value);
                }
            }
        }
        MOp::Rename {
            from,
            to,
            if_absent,
        } => {
            if let Some(value) = s[from] {
                if from != to && (!if_absent || s[to].is_none()) {
                    s[from] = None;
                    s[to] = Some(value);
                }
            }
        }
    }
}

/// The answer the model gives to `op` in `state` (one of them, when several are allowed).
fn natural_outcome(op: &MOp, s: &[Option<Value>]) -> MOut {
    [
        MOut::Ok,
        MOut::AlreadyExists,
        MOut::Refused,
        MOut::NotFound,
        match *op {
            MOp::Read { key } => MOut::Found(s[key].unwrap_or_default()),
            _ => MOut::Any,
        },
    ]
    .into_iter()
    .find(|&out| out != MOut::Any && allowed(op, out, s))
    .unwrap_or(MOut::Any)
}

/// One operation as the search sees it.
struct Lin {
    op: MOp,
    out: MOut,
    call: u64,
    /// `None` for an indeterminate write: its return is at +infinity.
    ret: Option<u64>,
    /// Index in the history.
    event: usize,
}

impl Lin {
    fn new(index: usize, event: &Event, slot: &HashMap<&str, usize>) -> Self {
        let k = |key: &String| slot[key.as_str()];
        let op = match &event.op {
            Op::Put { key, value } => MOp::Put {
                key: k(key),
                value: *value,
            },
            Op::Create { key, value } => MOp::Create {
                key: k(key),
                value: *value,
            },
            Op::Update {
                key,
                expected,
                value,
            } => MOp::Update {
                key: k(key),
                expected: *expected,
                value: *value,
            },
            Op::Get { key } | Op::Head { key } => MOp::Read { key: k(key) },
            Op::Delete { key } => MOp::Delete { key: k(key) },
            Op::Copy { from, to } => MOp::Copy {
                from: k(from),
                to: k(to),
                if_absent: false,
            },
            Op::CopyIfNotExists { from, to } => MOp::Copy {
                from: k(from),
                to: k(to),
                if_absent: true,
            },
            Op::Rename { from, to } => MOp::Rename {
                from: k(from),
                to: k(to),
                if_absent: false,
            },
            Op::RenameIfNotExists { from, to } => MOp::Rename {
                from: k(from),
                to: k(to),
                if_absent: true,
            },
            Op::List { .. } => unreachable!("listings are not searched"),
        };
        let (out, ret) = if event.is_indeterminate() {
            (MOut::Any, None)
        } else {
            let out = match event.outcome {
                Outcome::Ok => MOut::Ok,
                Outcome::AlreadyExists => MOut::AlreadyExists,
                Outcome::Refused => MOut::Refused,
                Outcome::NotFound => MOut::NotFound,
                Outcome::Found(value) => MOut::Found(value),
                Outcome::Listed(_) | Outcome::Failed => unreachable!("validated"),
            };
            (out, event.ret)
        };
        Lin {
            op,
            out,
            call: event.call,
            ret,
            event: index,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The search: porcupine's checkSingle, as an explicit depth-first search.

struct Searched {
    steps: u64,
    result: SearchResult,
}

enum SearchResult {
    Linearizable,
    Undecided,
    Stuck(DeadEnd),
}

/// The deepest point the search reached, as operation indices.
struct DeadEnd {
    prefix: Vec<usize>,
    state: State,
    stuck: usize,
    concurrent: Vec<usize>,
}

const NIL: usize = usize::MAX;
const HEAD: usize = 0;

/// The call and return entries of every operation in time order, as a doubly linked list
/// that operations are lifted out of as they are linearized (and put back on backtracking).
struct Entries {
    next: Vec<usize>,
    prev: Vec<usize>,
    /// For a call entry, the position of its return entry; `NIL` for a return entry.
    matching: Vec<usize>,
    op: Vec<usize>,
}

impl Entries {
    fn new(ops: &[Lin]) -> Self {
        // (time, return?, op): calls sort before returns at equal times, so equal ticks
        // overlap; an indeterminate return sorts after everything.
        let mut order: Vec<(u128, bool, usize)> = Vec::with_capacity(2 * ops.len());
        for (i, op) in ops.iter().enumerate() {
            order.push((u128::from(op.call), false, i));
            let ret = op.ret.map_or(u128::MAX, u128::from);
            order.push((ret, true, i));
        }
        order.sort_unstable();
        let len = order.len() + 1;
        let mut entries = Entries {
            next: (1..=len).map(|n| if n == len { NIL } else { n }).collect(),
            prev: (0..len).map(|p| if p == 0 { NIL } else { p - 1 }).collect(),
            matching: vec![NIL; len],
            op: vec![NIL; len],
        };
        let mut call_pos = vec![NIL; ops.len()];
        for (p, &(_, is_return, i)) in order.iter().enumerate() {
            let pos = p + 1;
            entries.op[pos] = i;
            if is_return {
                entries.matching[call_pos[i]] = pos;
            } else {
                call_pos[i] = pos;
            }
        }
        entries
    }

    fn unlink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p] = x;
        if n != NIL {
            self.prev[n] = x;
        }
    }

    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.matching[call]);
    }

    fn unlift(&mut self, call: usize) {
        self.relink(self.matching[call]);
        self.relink(call);
    }
}

/// The keys (slots) an operation may write and the keys it reads or writes, as bit masks
/// (slot modulo 64, so a larger component only sees more conflicts). Two operations
/// *conflict* when one may write a key the other touches; operations that do not
/// conflict commute: in either order they get the same answers and reach the same state.
fn footprint(op: &MOp) -> (u64, u64) {
    let b = |slot: usize| 1u64 << (slot % 64);
    match *op {
        MOp::Read { key } => (0, b(key)),
        MOp::Put { key, .. }
        | MOp::Create { key, .. }
        | MOp::Update { key, .. }
        | MOp::Delete { key } => (b(key), b(key)),
        MOp::Copy { from, to, .. } => (b(to), b(from) | b(to)),
        MOp::Rename { from, to, .. } => (b(from) | b(to), b(from) | b(to)),
    }
}

fn conflict(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 & b.1 != 0 || b.0 & a.1 != 0
}

fn flip(bits: &mut [u64], b: usize) {
    bits[b / 64] ^= 1 << (b % 64);
}

fn has(bits: &[u64], b: usize) -> bool {
    bits.get(b / 64).is_some_and(|w| w & (1 << (b % 64)) != 0)
}

fn subset(small: &[u64], large: &[u64]) -> bool {
    small.iter().zip(large).all(|(s, l)| s & !l == 0)
}

/// A way to continue from a node: some indeterminate writes (`block`, in order), then the
/// determinate operation `op`, reaching state `target`.
struct Child {
    block: Rc<[usize]>,
    op: usize,
    target: StateId,
}

/// One node of the depth-first search (a set of placed operations ending with a
/// determinate one, and the state they lead to), with what backtracking out of it needs.
struct Frame {
    /// The child taken to reach this node and the state before it; none at the root.
    via: Option<(Child, StateId)>,
    /// Where this node sits in the cache: its key and index among the key's entries.
    seen: Option<(Vec<u64>, usize)>,
    /// Direct children first; the children with blocks are added once those are tried.
    children: Vec<Child>,
    blocks_added: bool,
    tried: usize,
}

/// The cache entries that share one set of placed determinate operations and one state:
/// the set of placed indeterminate ones of each node, and whether the node is still on
/// the search path.
type Seen = Vec<(Vec<u64>, bool)>;

/// A model state, interned.
type StateId = u32;

/// Interned model states and the model's transitions between them, memoized.
#[derive(Default)]
struct States {
    ids: HashMap<State, StateId>,
    list: Vec<State>,
    /// (state, operation) to the state after it, or `None` when the model refuses it.
    steps: HashMap<(StateId, usize), Option<StateId>>,
}

impl States {
    fn intern(&mut self, state: State) -> StateId {
        if let Some(&id) = self.ids.get(&state) {
            return id;
        }
        let id = StateId::try_from(self.list.len()).expect("fewer than 2^32 states");
        self.ids.insert(state.clone(), id);
        self.list.push(state);
        id
    }

    fn get(&self, id: StateId) -> &State {
        &self.list[id as usize]
    }

    /// The state after operation `i` of `ops` in state `from`, if the model allows it.
    fn step(&mut self, ops: &[Lin], from: StateId, i: usize) -> Option<StateId> {
        if let Some(&to) = self.steps.get(&(from, i)) {
            return to;
        }
        let op = &ops[i];
        let state = self.get(from);
        let to = if allowed(&op.op, op.out, state) {
            let mut after = state.clone();
            apply(&op.op, &mut after);
            Some(self.intern(after))
        } else {
            None
        };
        self.steps.insert((from, i), to);
        to
    }
}

/// Whether linearizing everything left is possible from `init`, by depth-first search
/// with Lowe's memoization (porcupine's `checkSingle`, with an explicit stack).
///
/// Indeterminate writes need care, as they stay pending to the end and could go anywhere.
/// The search only looks for linearizations of one normal form, which loses nothing:
///
/// - Indeterminate writes are placed only in a *block* of such writes just before a
///   determinate operation, where the last write of the block conflicts with that
///   operation (see [`footprint`]) and every write is connected to it by conflicts. Any
///   linearization can be brought to that form by repeatedly swapping an indeterminate
///   write with the determinate operation right after it when the two commute (each swap
///   moves a determinate operation earlier, so this ends), and by moving a block's
///   trailing writes that end up after the last determinate operation to the very end,
///   where they affect nothing observed: a write never placed is one placed last. So the
///   history is linearizable once every determinate operation is placed.
/// - Of the blocks before one operation that lead to the same state, only those with a
///   minimal set of writes are tried: whatever follows the larger set can follow the
///   smaller one, with the extra writes moved to the end. Of two identical pending writes
///   (two failed deletes of one key), only the earlier-called one is used: it can stand
///   in for the other anywhere.
/// - For the same reason a node is skipped when a finished node (one the search left
///   without success) had the same determinate operations placed, the same state and a
///   subset of its indeterminate ones.
fn search(ops: &[Lin], init: State, budget: u64) -> Searched {
    let mut searcher = Searcher::new(ops);
    let mut entries = Entries::new(ops);
    let mut call_pos = vec![NIL; ops.len()];
    for pos in 1..entries.op.len() {
        if entries.matching[pos] != NIL {
            call_pos[entries.op[pos]] = pos;
        }
    }
    let mut det_bits = vec![0u64; searcher.determinate.div_ceil(64)];
    let mut indet_bits = vec![0u64; searcher.indeterminate.div_ceil(64)];
    let mut remaining = searcher.determinate;
    let mut cache: HashMap<Vec<u64>, Seen> = HashMap::new();
    let bit = searcher.bit.clone();

    let mut state = searcher.states.intern(init);
    let root_children = searcher.children(&entries, state, false);
    let mut stack = vec![Frame {
        via: None,
        seen: None,
        children: root_children,
        blocks_added: false,
        tried: 0,
    }];
    let mut deepest: Option<DeadEnd> = None;

    loop {
        if remaining == 0 {
            return Searched {
                steps: searcher.steps,
                result: SearchResult::Linearizable,
            };
        }
        searcher.steps += 1;
        if searcher.steps > budget {
            return Searched {
                steps: searcher.steps,
                result: SearchResult::Undecided,
            };
        }
        let depth = stack.len() - 1;
        let frame = &mut stack[depth];
        if frame.tried < frame.children.len() {
            let child = &frame.children[frame.tried];
            frame.tried += 1;
            for &g in child.block.iter() {
                flip(&mut indet_bits, bit[g]);
            }
            flip(&mut det_bits, bit[child.op]);
            let mut key = Vec::with_capacity(det_bits.len() + 1);
            key.extend_from_slice(&det_bits);
            key.push(u64::from(child.target));
            let seen = cache.entry(key.clone()).or_default();
            let dominated = seen.iter().any(|(other, on_path)| {
                subset(other, &indet_bits) && (!on_path || *other == indet_bits)
            });
            if dominated {
                for &g in child.block.iter() {
                    flip(&mut indet_bits, bit[g]);
                }
                flip(&mut det_bits, bit[child.op]);
                continue;
            }
            seen.push((indet_bits.clone(), true));
            let index = seen.len() - 1;
            let child = Child {
                block: Rc::clone(&child.block),
                op: child.op,
                target: child.target,
            };
            for &g in child.block.iter() {
                entries.lift(call_pos[g]);
            }
            entries.lift(call_pos[child.op]);
            remaining -= 1;
            let before = std::mem::replace(&mut state, child.target);
            let grandchildren = searcher.children(&entries, state, false);
            stack.push(Frame {
                via: Some((child, before)),
                seen: Some((key, index)),
                children: grandchildren,
                blocks_added: false,
                tried: 0,
            });
        } else if !frame.blocks_added {
            // Placing indeterminate writes is the last resort.
            frame.blocks_added = true;
            let blocked = searcher.children(&entries, state, true);
            stack[depth].children.extend(blocked);
        } else {
            // Nothing can come next here. Remember the deepest such point, then backtrack.
            let mut prefix = Vec::new();
            for frame in &stack[1..] {
                if let Some((child, _)) = &frame.via {
                    prefix.extend(child.block.iter());
                    prefix.push(child.op);
                }
            }
            if deepest
                .as_ref()
                .is_none_or(|d| prefix.len() > d.prefix.len())
            {
                let mut first_return = entries.next[HEAD];
                while entries.matching[first_return] != NIL {
                    first_return = entries.next[first_return];
                }
                let stuck = entries.op[first_return];
                let mut concurrent = Vec::new();
                let mut e = entries.next[HEAD];
                while e != first_return {
                    let i = entries.op[e];
                    if i != stuck && ops[i].ret.is_some() {
                        concurrent.push(i);
                    }
                    e = entries.next[e];
                }
                deepest = Some(DeadEnd {
                    prefix,
                    state: searcher.states.get(state).clone(),
                    stuck,
                    concurrent,
                });
            }
            let frame = stack.pop().expect("the root is on the stack");
            let (Some((child, before)), Some((key, index))) = (frame.via, frame.seen) else {
                return Searched {
                    steps: searcher.steps,
                    result: SearchResult::Stuck(deepest.expect("recorded above")),
                };
            };
            if let Some(seen) = cache.get_mut(&key) {
                seen[index].1 = false;
            }
            entries.unlift(call_pos[child.op]);
            flip(&mut det_bits, bit[child.op]);
            for &g in child.block.iter().rev() {
                entries.unlift(call_pos[g]);
                flip(&mut indet_bits, bit[g]);
            }
            remaining += 1;
            state = before;
        }
    }
}

/// A block of indeterminate writes: the state it leads to, the writes in order, and the
/// set of them as indeterminate bits.
type Block = (StateId, Rc<[usize]>, Vec<u64>);

/// A block worth trying before one operation, with the state after that operation.
type BlockBefore = (Rc<[usize]>, StateId);

/// What generating children needs beyond the current node.
struct Searcher<'a> {
    ops: &'a [Lin],
    /// Bit position of each operation, among the determinate or the indeterminate ones.
    bit: Vec<usize>,
    determinate: usize,
    indeterminate: usize,
    /// Each operation's [`footprint`].
    footprints: Vec<(u64, u64)>,
    /// For an indeterminate operation, the first operation identical to it.
    twin: Vec<usize>,
    states: States,
    /// Blocks by starting state and set of writes they may use.
    closures: HashMap<(StateId, Vec<u64>), Rc<[Block]>>,
    /// The useful blocks before one operation, by starting state, operation and set of
    /// writes they may use: each block with the state after the operation.
    before: HashMap<(StateId, usize, Vec<u64>), Rc<[BlockBefore]>>,
    steps: u64,
}

impl<'a> Searcher<'a> {
    fn new(ops: &'a [Lin]) -> Self {
        let mut bit = vec![0usize; ops.len()];
        let (mut determinate, mut indeterminate) = (0, 0);
        for (i, op) in ops.iter().enumerate() {
            let counter = if op.ret.is_some() {
                &mut determinate
            } else {
                &mut indeterminate
            };
            bit[i] = *counter;
            *counter += 1;
        }
        let twin = (0..ops.len())
            .map(|i| (0..i).find(|&j| ops[j].op == ops[i].op).unwrap_or(i))
            .collect();
        Searcher {
            ops,
            bit,
            determinate,
            indeterminate,
            footprints: ops.iter().map(|op| footprint(&op.op)).collect(),
            twin,
            states: States::default(),
            closures: HashMap::new(),
            before: HashMap::new(),
            steps: 0,
        }
    }

    /// The children of the node where `entries` and `state` stand: each determinate
    /// candidate directly, or (with `blocks`) after each useful minimal block, shortest
    /// blocks first.
    fn children(&mut self, entries: &Entries, state: StateId, blocks: bool) -> Vec<Child> {
        let ops = self.ops;
        let words = self.indeterminate.div_ceil(64);
        let (mut det, mut indet): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
        // Identical pending writes: only the first (earliest called) is used.
        let mut twins_seen: Vec<usize> = Vec::new();
        let mut e = entries.next[HEAD];
        while e != NIL && entries.matching[e] != NIL {
            let i = entries.op[e];
            if ops[i].ret.is_some() {
                det.push(i);
            } else if !twins_seen.contains(&self.twin[i]) {
                twins_seen.push(self.twin[i]);
                indet.push(i);
            }
            e = entries.next[e];
        }

        let empty: Rc<[usize]> = Rc::from(Vec::new());
        let mut direct = Vec::new();
        let mut blocked = Vec::new();
        for &x in &det {
            if !blocks {
                if let Some(target) = self.states.step(ops, state, x) {
                    direct.push(Child {
                        block: Rc::clone(&empty),
                        op: x,
                        target,
                    });
                }
                continue;
            }
            // The pending writes connected to `x` by conflicts: the only ones a block
            // before it can use.
            let (mut writes, mut touches) = self.footprints[x];
            let mut related = vec![0u64; words];
            let mut any = false;
            let mut grew = true;
            while grew {
                grew = false;
                for &g in &indet {
                    let (w, t) = self.footprints[g];
                    if !has(&related, self.bit[g]) && conflict((w, t), (writes, touches)) {
                        flip(&mut related, self.bit[g]);
                        writes |= w;
                        touches |= t;
                        grew = true;
                        any = true;
                    }
                }
            }
            if any {
                for (block, target) in self.blocks_before(state, x, related).iter() {
                    blocked.push(Child {
                        block: Rc::clone(block),
                        op: x,
                        target: *target,
                    });
                }
            }
        }
        blocked.sort_by_key(|child| child.block.len());
        direct.extend(blocked);
        direct
    }

    /// The blocks worth trying before operation `x` in `state`, using only the writes in
    /// `related`, memoized: those whose last write conflicts with `x`, that the model
    /// allows `x` after, and that reach a state after `x` with a minimal set of writes
    /// (the empty block, `x` directly, included).
    fn blocks_before(&mut self, state: StateId, x: usize, related: Vec<u64>) -> Rc<[BlockBefore]> {
        let key = (state, x, related);
        if let Some(found) = self.before.get(&key) {
            return Rc::clone(found);
        }
        let words = self.indeterminate.div_ceil(64);
        let mut reached: HashMap<StateId, Vec<Vec<u64>>> = HashMap::new();
        if let Some(target) = self.states.step(self.ops, state, x) {
            reached.insert(target, vec![vec![0; words]]);
        }
        let closure = self.closure(state, key.2.clone());
        let mut useful = Vec::new();
        for (before, block, mask) in closure.iter() {
            let last = *block.last().expect("blocks are not empty");
            if !conflict(self.footprints[last], self.footprints[x]) {
                continue;
            }
            let Some(target) = self.states.step(self.ops, *before, x) else {
                continue;
            };
            let sets = reached.entry(target).or_default();
            if sets.iter().any(|other| subset(other, mask)) {
                continue;
            }
            sets.push(mask.clone());
            useful.push((Rc::clone(block), target));
        }
        let useful: Rc<[BlockBefore]> = useful.into();
        self.before.insert(key, Rc::clone(&useful));
        useful
    }

    /// The blocks from `state` that use only the writes in `related`, memoized: the
    /// sequences of those writes and the states they lead to, keeping for each state and
    /// last write only the minimal sets of writes. (Keyed by the last write too, so that
    /// a block whose last write conflicts with the next operation is never replaced by a
    /// smaller one whose last write does not.) Each write tried costs a search step.
    fn closure(&mut self, state: StateId, related: Vec<u64>) -> Rc<[Block]> {
        let key = (state, related);
        if let Some(found) = self.closures.get(&key) {
            return Rc::clone(found);
        }
        let related: Vec<usize> = (0..self.ops.len())
            .filter(|&g| self.ops[g].ret.is_none() && has(&key.1, self.bit[g]))
            .collect();
        let words = self.indeterminate.div_ceil(64);
        // Breadth first, so every set is found before its supersets.
        let mut found: HashMap<(StateId, usize), Vec<Vec<u64>>> = HashMap::new();
        let mut frontier: Vec<(StateId, Vec<usize>, Vec<u64>)> =
            vec![(state, Vec::new(), vec![0; words])];
        let mut blocks = Vec::new();
        while !frontier.is_empty() {
            let mut next_frontier = Vec::new();
            for (from, order, mask) in &frontier {
                for &g in &related {
                    if has(mask, self.bit[g]) {
                        continue;
                    }
                    self.steps += 1;
                    let to = self
                        .states
                        .step(self.ops, *from, g)
                        .expect("always allowed");
                    if to == *from {
                        continue;
                    }
                    let mut set = mask.clone();
                    flip(&mut set, self.bit[g]);
                    let sets = found.entry((to, g)).or_default();
                    if sets.iter().any(|other| subset(other, &set)) {
                        continue;
                    }
                    sets.push(set.clone());
                    let mut order = order.clone();
                    order.push(g);
                    blocks.push((to, Rc::from(order.clone()), set.clone()));
                    next_frontier.push((to, order, set));
                }
            }
            frontier = next_frontier;
        }
        let blocks: Rc<[Block]> = blocks.into();
        self.closures.insert(key, Rc::clone(&blocks));
        blocks
    }
}
