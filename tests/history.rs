//! Linearizability checking of object-store histories: the composites' promises over
//! random concurrent histories (`history/composites.rs`), and the checker's own tests
//! (small hand-written histories it must reject or accept, histories produced by running
//! the model itself, agreement with a brute-force search, and a timing).

#[path = "history/checker.rs"]
mod checker;
#[path = "history/composites.rs"]
mod composites;

use checker::{
    check, check_from, check_listings, check_with, CheckError, Event, Op, Options, Outcome,
    Recorder, Value, ViolationKind,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Helpers for hand-written histories.

fn ev(client: usize, call: u64, ret: u64, op: Op, outcome: Outcome) -> Event {
    Event {
        client,
        call,
        ret: Some(ret),
        op,
        outcome,
    }
}

fn never(client: usize, call: u64, op: Op) -> Event {
    Event {
        client,
        call,
        ret: None,
        op,
        outcome: Outcome::Failed,
    }
}

fn put(key: &str, value: Value) -> Op {
    Op::Put {
        key: key.into(),
        value,
    }
}

fn create(key: &str, value: Value) -> Op {
    Op::Create {
        key: key.into(),
        value,
    }
}

fn update(key: &str, expected: Value, value: Value) -> Op {
    Op::Update {
        key: key.into(),
        expected,
        value,
    }
}

fn get(key: &str) -> Op {
    Op::Get { key: key.into() }
}

fn delete(key: &str) -> Op {
    Op::Delete { key: key.into() }
}

fn rename(from: &str, to: &str) -> Op {
    Op::Rename {
        from: from.into(),
        to: to.into(),
    }
}

fn list(prefix: &str) -> Op {
    Op::List {
        prefix: prefix.into(),
    }
}

fn listed(entries: &[(&str, Value)]) -> Outcome {
    Outcome::Listed(entries.iter().map(|&(k, v)| (k.to_string(), v)).collect())
}

use Outcome::{AlreadyExists, Failed, Found, NotFound, Ok as Done, Refused};

/// Asserts the history is linearizable, printing the counterexample if it is not.
fn assert_ok(history: &[Event]) {
    if let Err(e) = check(history) {
        panic!("expected linearizable, got:\n{e}");
    }
}

/// Asserts the search proves the history not linearizable; returns the printed violation.
fn assert_violation(history: &[Event]) -> String {
    match check(history) {
        Err(CheckError::Violation(v)) => {
            assert_eq!(v.kind, ViolationKind::NotLinearizable);
            v.to_string()
        }
        other => panic!("expected a violation, got {other:?}"),
    }
}

fn assert_listing_violation(history: &[Event]) -> String {
    match check_listings(&BTreeMap::new(), history) {
        Err(CheckError::Violation(v)) => {
            assert_eq!(v.kind, ViolationKind::Listing);
            v.to_string()
        }
        other => panic!("expected a listing violation, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Hand-written histories.

#[test]
fn stale_read_after_acknowledged_write_is_a_violation() {
    let history = [
        ev(0, 0, 1, put("a", 1), Done),
        ev(0, 2, 3, put("a", 2), Done),
        ev(1, 4, 5, get("a"), Found(1)),
    ];
    let shown = assert_violation(&history);
    // The report names the keys, the prefix, the stuck operation and the state.
    assert!(shown.contains("keys [\"a\"]"), "{shown}");
    assert!(shown.contains("put(a, 2) -> ok"), "{shown}");
    assert!(shown.contains("get(a) -> found 1"), "{shown}");
    assert!(shown.contains("a = 2"), "{shown}");
    assert!(shown.contains("the model answers `found 2`"), "{shown}");

    // The same read while the second put is still in flight is fine.
    let history = [
        ev(0, 0, 1, put("a", 1), Done),
        ev(0, 2, 6, put("a", 2), Done),
        ev(1, 4, 5, get("a"), Found(1)),
    ];
    assert_ok(&history);
}

#[test]
fn reading_a_deleted_key_after_an_acknowledged_delete_is_a_violation() {
    let history = [
        ev(0, 0, 1, put("a", 1), Done),
        ev(0, 2, 3, delete("a"), Done),
        ev(1, 4, 5, get("a"), Found(1)),
    ];
    assert_violation(&history);
    let history = [
        ev(0, 0, 1, put("a", 1), Done),
        ev(0, 2, 3, delete("a"), Done),
        ev(1, 4, 5, Op::Head { key: "a".into() }, NotFound),
        // Deleting an absent key is fine, whether the store says ok or not found.
        ev(1, 6, 7, delete("a"), Done),
        ev(1, 8, 9, delete("a"), NotFound),
    ];
    assert_ok(&history);
    // A delete cannot answer not found while the key is there.
    let history = [
        ev(0, 0, 1, put("a", 1), Done),
        ev(0, 2, 3, delete("a"), NotFound),
    ];
    assert_violation(&history);
}

#[test]
fn create_over_an_existing_object_is_a_violation() {
    let history = [
        ev(0, 0, 1, put("a", 1), Done),
        ev(1, 2, 3, create("a", 2), Done),
    ];
    assert_violation(&history);
    let history = [
        ev(0, 0, 1, put("a", 1), Done),
        ev(1, 2, 3, create("a", 2), AlreadyExists),
        ev(1, 4, 5, delete("a"), Done),
        ev(1, 6, 7, create("a", 3), Done),
        ev(0, 8, 9, get("a"), Found(3)),
    ];
    assert_ok(&history);
    // Two racing creates: exactly one may win.
    let racing = |second: Outcome| {
        [
            ev(0, 0, 3, create("a", 1), Done),
            ev(1, 1, 2, create("a", 2), second),
        ]
    };
    assert_ok(&racing(AlreadyExists));
    assert_violation(&racing(Done));
}

#[test]
fn update_with_a_stale_expected_version_that_succeeds_is_a_violation() {
    let history = [
        ev(0, 0, 1, put("a", 1), Done),
        ev(0, 2, 3, put("a", 2), Done),
        ev(1, 4, 5, update("a", 1, 3), Done),
    ];
    assert_violation(&history);
    let history = [
        ev(0, 0, 1, put("a", 1), Done),
        ev(0, 2, 3, put("a", 2), Done),
        ev(1, 4, 5, update("a", 1, 3), Refused),
        ev(1, 6, 7, update("a", 2, 4), Done),
        ev(1, 8, 9, update("b", 2, 5), Refused),
        ev(0, 10, 11, get("a"), Found(4)),
    ];
    assert_ok(&history);
}

#[test]
fn a_lost_write_is_a_violation() {
    // Two concurrent puts, then a third acknowledged one that a later read does not see.
    let history = [
        ev(0, 0, 5, put("a", 1), Done),
        ev(1, 1, 4, put("a", 2), Done),
        ev(2, 6, 7, get("a"), Found(2)),
        ev(0, 8, 9, put("a", 3), Done),
        ev(2, 10, 11, get("a"), Found(2)),
    ];
    let shown = assert_violation(&history);
    assert!(shown.contains("put(a, 3)"), "{shown}");
}

#[test]
fn concurrent_writes_may_be_read_in_either_order() {
    let puts = || {
        vec![
            ev(0, 0, 10, put("a", 1), Done),
            ev(1, 1, 11, put("a", 2), Done),
        ]
    };
    for (first, second) in [(1, 2), (2, 1)] {
        let mut history = puts();
        history.push(ev(2, 2, 3, get("a"), Found(first)));
        history.push(ev(2, 4, 5, get("a"), Found(second)));
        history.push(ev(2, 12, 13, get("a"), Found(second)));
        assert_ok(&history);
    }
    // But once both are done, the order is fixed.
    let mut history = puts();
    history.push(ev(2, 12, 13, get("a"), Found(2)));
    history.push(ev(2, 14, 15, get("a"), Found(1)));
    assert_violation(&history);
    // And a reader cannot see them flip back: 1, 2, then 1 again.
    let mut history = puts();
    history.push(ev(2, 2, 3, get("a"), Found(1)));
    history.push(ev(2, 4, 5, get("a"), Found(2)));
    history.push(ev(2, 6, 7, get("a"), Found(1)));
    assert_violation(&history);
}

#[test]
fn an_indeterminate_write_may_show_up_late_or_never() {
    let start = || {
        vec![
            ev(0, 0, 1, put("a", 1), Done),
            ev(0, 2, 3, put("a", 2), Failed),
            ev(1, 4, 5, get("a"), Found(1)),
        ]
    };
    // Shows up after its failure was reported (a repair completed it).
    let mut late = start();
    late.push(ev(1, 6, 7, get("a"), Found(2)));
    assert_ok(&late);
    // Never shows up.
    let mut missing = start();
    missing.push(ev(1, 6, 7, get("a"), Found(1)));
    assert_ok(&missing);
    // Takes effect at one point only: it cannot come and go.
    let mut flicker = start();
    flicker.push(ev(1, 6, 7, get("a"), Found(2)));
    flicker.push(ev(1, 8, 9, get("a"), Found(1)));
    assert_violation(&flicker);
    // An operation that never returned is just as open.
    let history = [
        ev(0, 0, 1, put("a", 1), Done),
        never(2, 2, put("a", 2)),
        ev(1, 4, 5, get("a"), Found(1)),
        ev(1, 6, 7, get("a"), Found(2)),
    ];
    assert_ok(&history);
    // But it cannot take effect before it was called.
    let history = [
        ev(1, 0, 1, get("a"), Found(2)),
        ev(0, 2, 3, put("a", 2), Failed),
    ];
    assert_violation(&history);
    // A failed read says nothing.
    let history = [
        ev(0, 0, 1, put("a", 1), Done),
        ev(1, 2, 3, get("a"), Failed),
    ];
    let stats = check(&history).unwrap();
    assert_eq!((stats.operations, stats.dropped), (1, 1));
}

#[test]
fn a_rename_seen_half_done_is_a_violation() {
    let history = [
        ev(0, 0, 1, put("a", 1), Done),
        ev(0, 2, 3, rename("a", "b"), Done),
        ev(1, 4, 5, get("b"), Found(1)),
        ev(1, 6, 7, get("a"), Found(1)),
    ];
    let shown = assert_violation(&history);
    assert!(shown.contains("keys [\"a\", \"b\"]"), "{shown}");
    let history = [
        ev(0, 0, 1, put("a", 1), Done),
        ev(0, 2, 3, rename("a", "b"), Done),
        ev(1, 4, 5, get("b"), Found(1)),
        ev(1, 6, 7, get("a"), NotFound),
        ev(1, 8, 9, rename("a", "c"), NotFound),
        ev(
            1,
            10,
            11,
            Op::RenameIfNotExists {
                from: "b".into(),
                to: "b".into(),
            },
            AlreadyExists,
        ),
    ];
    let stats = check(&history).unwrap();
    assert_eq!(stats.components, 1);
}

#[test]
fn copies_connect_keys_and_independent_keys_are_checked_apart() {
    let history = [
        ev(0, 0, 1, put("a", 1), Done),
        ev(
            0,
            2,
            3,
            Op::Copy {
                from: "a".into(),
                to: "b".into(),
            },
            Done,
        ),
        ev(
            0,
            4,
            5,
            Op::CopyIfNotExists {
                from: "a".into(),
                to: "b".into(),
            },
            AlreadyExists,
        ),
        ev(1, 6, 7, get("b"), Found(1)),
        ev(1, 8, 9, put("c", 7), Done),
        ev(1, 10, 11, get("c"), Found(7)),
        ev(2, 0, 11, get("d"), NotFound),
    ];
    let stats = check(&history).unwrap();
    assert_eq!(stats.components, 3);
    assert_eq!(stats.largest_component, 4);
}

#[test]
fn the_initial_state_counts() {
    let initial = BTreeMap::from([("a".to_string(), 5)]);
    let history = [
        ev(0, 0, 1, get("a"), Found(5)),
        ev(0, 2, 3, create("a", 6), AlreadyExists),
        ev(0, 4, 5, update("a", 5, 6), Done),
    ];
    check_from(&initial, &history).unwrap();
    assert!(matches!(check(&history), Err(CheckError::Violation(_))));
}

#[test]
fn a_malformed_history_is_reported_as_such() {
    let history = [ev(0, 0, 1, put("a", 1), AlreadyExists)];
    assert!(matches!(check(&history), Err(CheckError::Malformed(_))));
    let history = [ev(0, 5, 1, put("a", 1), Done)];
    assert!(matches!(check(&history), Err(CheckError::Malformed(_))));
}

#[test]
fn running_out_of_budget_is_undecided_not_a_violation() {
    let history = [
        ev(0, 0, 10, put("a", 1), Done),
        ev(1, 1, 11, put("a", 2), Done),
        ev(2, 2, 12, get("a"), Found(1)),
    ];
    let tight = Options { budget: 2 };
    match check_with(&BTreeMap::new(), &history, &tight) {
        Err(CheckError::Undecided(u)) => assert_eq!(u.keys, ["a"]),
        other => panic!("expected undecided, got {other:?}"),
    }
}

#[test]
fn a_listing_missing_a_key_present_throughout_is_a_violation() {
    let history = [
        ev(0, 0, 1, put("d/x", 1), Done),
        ev(0, 2, 3, put("d/y", 2), Done),
        ev(1, 4, 7, list("d"), listed(&[("d/y", 2)])),
    ];
    let shown = assert_listing_violation(&history);
    assert!(shown.contains("d/x was present throughout"), "{shown}");
    // A present key with a value other than the settled one is wrong too.
    let history = [
        ev(0, 0, 1, put("d/x", 1), Done),
        ev(0, 2, 3, put("d/x", 2), Done),
        ev(1, 4, 7, list("d"), listed(&[("d/x", 1)])),
    ];
    assert_listing_violation(&history);
    // So is a key deleted before the listing started.
    let history = [
        ev(0, 0, 1, put("d/x", 1), Done),
        ev(0, 2, 3, delete("d/x"), Done),
        ev(1, 4, 7, list("d"), listed(&[("d/x", 1)])),
    ];
    assert_listing_violation(&history);
    // And a value nothing wrote, or a key outside the prefix.
    let history = [
        ev(0, 0, 9, put("d/x", 1), Done),
        ev(1, 4, 7, list("d"), listed(&[("d/x", 3)])),
    ];
    assert_listing_violation(&history);
    let history = [
        ev(0, 0, 1, put("dx", 1), Done),
        ev(1, 4, 7, list("d"), listed(&[("dx", 1)])),
    ];
    assert_listing_violation(&history);
}

#[test]
fn a_listing_may_or_may_not_show_a_key_written_during_it() {
    let history = |shown: &[(&str, Value)]| {
        vec![
            ev(0, 0, 1, put("d/x", 1), Done),
            ev(0, 2, 3, put("d/z", 5), Done),
            ev(2, 3, 9, put("d/y", 2), Done),
            ev(3, 4, 8, delete("d/z"), Done),
            ev(1, 5, 7, list("d"), listed(shown)),
            ev(1, 10, 11, put("e/x", 1), Done),
        ]
    };
    for shown in [
        &[("d/x", 1)][..],
        &[("d/x", 1), ("d/y", 2)],
        &[("d/x", 1), ("d/z", 5)],
        &[("d/x", 1), ("d/y", 2), ("d/z", 5)],
    ] {
        check_listings(&BTreeMap::new(), &history(shown)).unwrap();
    }
    // An indeterminate write may show up in a listing long after it failed.
    let history = [
        ev(0, 0, 1, put("d/x", 1), Failed),
        ev(1, 5, 7, list(""), listed(&[("d/x", 1)])),
        ev(1, 8, 9, list(""), listed(&[])),
    ];
    check_listings(&BTreeMap::new(), &history).unwrap();
    // A renamed key carries its source's value.
    let history = [
        ev(0, 0, 1, put("d/x", 1), Done),
        ev(0, 2, 3, rename("d/x", "d/y"), Done),
        ev(1, 5, 7, list("d"), listed(&[("d/y", 1)])),
    ];
    check_listings(&BTreeMap::new(), &history).unwrap();
    // Initial keys count; a failed listing is skipped.
    let initial = BTreeMap::from([("d/x".to_string(), 9)]);
    let history = [
        ev(1, 0, 1, list("d"), listed(&[("d/x", 9)])),
        ev(1, 2, 3, list("d"), Failed),
    ];
    check_listings(&initial, &history).unwrap();
    assert!(check_listings(&BTreeMap::new(), &history).is_err());
}

// ---------------------------------------------------------------------------------------
// Randomized histories: the model itself, run by concurrent simulated clients.

/// SplitMix64: small, deterministic, good enough to drive a simulation.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A reference implementation of the model, independent of the checker's.
fn apply_model(store: &mut BTreeMap<String, Value>, op: &Op) -> Outcome {
    match op {
        Op::Put { key, value } => {
            store.insert(key.clone(), *value);
            Done
        }
        Op::Create { key, value } => {
            if store.contains_key(key) {
                AlreadyExists
            } else {
                store.insert(key.clone(), *value);
                Done
            }
        }
        Op::Update {
            key,
            expected,
            value,
        } => {
            if store.get(key) == Some(expected) {
                store.insert(key.clone(), *value);
                Done
            } else {
                Refused
            }
        }
        Op::Get { key } | Op::Head { key } => store.get(key).map_or(NotFound, |v| Found(*v)),
        Op::Delete { key } => {
            store.remove(key);
            Done
        }
        Op::Copy { from, to } => match store.get(from).copied() {
            Some(v) => {
                store.insert(to.clone(), v);
                Done
            }
            None => NotFound,
        },
        Op::CopyIfNotExists { from, to } => match store.get(from).copied() {
            None => NotFound,
            Some(_) if store.contains_key(to) => AlreadyExists,
            Some(v) => {
                store.insert(to.clone(), v);
                Done
            }
        },
        Op::Rename { from, to } => match store.get(from).copied() {
            None => NotFound,
            Some(v) => {
                store.remove(from);
                store.insert(to.clone(), v);
                Done
            }
        },
        Op::RenameIfNotExists { from, to } => match store.get(from).copied() {
            None => NotFound,
            Some(_) if store.contains_key(to) => AlreadyExists,
            Some(v) => {
                store.remove(from);
                store.insert(to.clone(), v);
                Done
            }
        },
        Op::List { prefix } => Outcome::Listed(
            store
                .iter()
                .filter(|(k, _)| prefix.is_empty() || k.starts_with(&format!("{prefix}/")))
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        ),
    }
}

struct SimConfig {
    clients: usize,
    keys: usize,
    events: usize,
    /// Percent of operations that copy or rename (and so join keys into one component).
    moves: u64,
    /// Percent of writes whose answer is lost (indeterminate).
    failures: u64,
}

/// A client's operation in flight.
struct InFlight {
    event: usize,
    /// Whether the model has applied it, with the answer it gave.
    answer: Option<Outcome>,
    /// Answer lost: recorded as failed, or never returned.
    doomed: bool,
    /// For a listing: the store when it was called (it shows a mix of then and later).
    snapshot: BTreeMap<String, Value>,
}

/// Runs `config.clients` simulated clients against the model: each step one client calls
/// an operation, has it take effect (the model applies it), or receives its answer.
/// Histories made this way are linearizable by construction, with real overlap.
fn simulate(seed: u64, config: &SimConfig) -> Vec<Event> {
    let mut rng = Rng(seed);
    let keys: Vec<String> = (0..config.keys).map(|k| format!("k/{k}")).collect();
    let mut store: BTreeMap<String, Value> = BTreeMap::new();
    let mut written: Vec<Value> = Vec::new();
    let mut next_value: Value = 1;
    let mut clock = 0u64;
    let mut events: Vec<Event> = Vec::new();
    let mut clients: Vec<Option<InFlight>> = (0..config.clients).map(|_| None).collect();
    // Writes whose answer was lost and that have not taken effect yet; they may still.
    let mut repairs: Vec<Op> = Vec::new();

    while events.len() < config.events || clients.iter().any(Option::is_some) {
        let c = rng.below(config.clients as u64) as usize;
        if !repairs.is_empty() && rng.chance(3) {
            let op = repairs.swap_remove(rng.below(repairs.len() as u64) as usize);
            apply_model(&mut store, &op);
        }
        match clients[c].take() {
            None if events.len() < config.events => {
                let key = |rng: &mut Rng| keys[rng.below(keys.len() as u64) as usize].clone();
                let roll = rng.below(100);
                let op = if roll < config.moves {
                    let (from, to) = (key(&mut rng), key(&mut rng));
                    match rng.below(4) {
                        0 => Op::Copy { from, to },
                        1 => Op::CopyIfNotExists { from, to },
                        2 => Op::Rename { from, to },
                        _ => Op::RenameIfNotExists { from, to },
                    }
                } else {
                    let key = key(&mut rng);
                    let value = next_value;
                    match rng.below(20) {
                        0..=4 => Op::Put { key, value },
                        5..=10 => Op::Get { key },
                        11 => Op::Head { key },
                        12 | 13 => Op::Create { key, value },
                        14 | 15 => {
                            let expected = match store.get(&key) {
                                Some(&v) if rng.chance(60) => v,
                                _ if !written.is_empty() => {
                                    written[rng.below(written.len() as u64) as usize]
                                }
                                _ => 0,
                            };
                            Op::Update {
                                key,
                                expected,
                                value,
                            }
                        }
                        16 | 17 => Op::Delete { key },
                        _ => Op::List {
                            prefix: if rng.chance(50) { "k" } else { "" }.to_string(),
                        },
                    }
                };
                if matches!(op, Op::Put { .. } | Op::Create { .. } | Op::Update { .. }) {
                    written.push(next_value);
                    next_value += 1;
                }
                clock += 1;
                events.push(Event {
                    client: c,
                    call: clock,
                    ret: None,
                    op,
                    outcome: Failed,
                });
                clients[c] = Some(InFlight {
                    event: events.len() - 1,
                    answer: None,
                    doomed: rng.chance(config.failures),
                    snapshot: store.clone(),
                });
            }
            None => {}
            Some(mut flight) if flight.answer.is_none() => {
                let op = events[flight.event].op.clone();
                let is_write = !matches!(op, Op::Get { .. } | Op::Head { .. } | Op::List { .. });
                if flight.doomed && is_write && rng.chance(50) {
                    // The write's answer is lost; it takes effect later, or never.
                    if rng.chance(50) {
                        repairs.push(op);
                    }
                    flight.answer = Some(Failed);
                } else {
                    let mut answer = apply_model(&mut store, &op);
                    if let (Op::List { prefix }, Outcome::Listed(now)) = (&op, &answer) {
                        // Each key as of the call or as of now: listings are not snapshots.
                        let then = apply_model(&mut flight.snapshot, &list(prefix));
                        let Outcome::Listed(then) = then else {
                            unreachable!()
                        };
                        let mut mixed = BTreeSet::new();
                        for key in &keys {
                            let pick = if rng.chance(50) { &then } else { now };
                            mixed.extend(pick.iter().filter(|(k, _)| k == key).cloned());
                        }
                        answer = Outcome::Listed(mixed);
                    }
                    flight.answer = Some(answer);
                }
                clients[c] = Some(flight);
            }
            Some(flight) => {
                let event = &mut events[flight.event];
                let answer = flight.answer.expect("applied");
                if flight.doomed && rng.chance(30) {
                    // Never returns; the client moves on.
                } else {
                    clock += 1;
                    event.ret = Some(clock);
                    event.outcome = if flight.doomed { Failed } else { answer };
                }
            }
        }
    }
    events
}

fn random_config(rng: &mut Rng) -> SimConfig {
    SimConfig {
        clients: 1 + rng.below(8) as usize,
        keys: 1 + rng.below(5) as usize,
        events: 20 + rng.below(100) as usize,
        moves: rng.below(15),
        failures: rng.below(15),
    }
}

#[test]
fn histories_of_the_model_itself_pass() {
    let mut rng = Rng(0x5EED);
    for round in 0..300 {
        let seed = rng.next();
        let config = random_config(&mut rng);
        let history = simulate(seed, &config);
        if let Err(e) = check(&history) {
            panic!("round {round}, seed {seed:#x}: expected linearizable, got:\n{e}");
        }
        if let Err(e) = check_listings(&BTreeMap::new(), &history) {
            panic!("round {round}, seed {seed:#x}: expected good listings, got:\n{e}");
        }
    }
}

#[test]
fn a_read_of_a_value_never_written_is_caught() {
    let mut rng = Rng(0xBAD);
    let mut caught = 0;
    for round in 0..200 {
        let seed = rng.next();
        let config = random_config(&mut rng);
        let mut history = simulate(seed, &config);
        let reads: Vec<usize> = (0..history.len())
            .filter(|&i| {
                matches!(history[i].op, Op::Get { .. } | Op::Head { .. })
                    && !history[i].is_indeterminate()
            })
            .collect();
        if reads.is_empty() {
            continue;
        }
        let victim = reads[rng.below(reads.len() as u64) as usize];
        history[victim].outcome = Found(u64::MAX);
        match check(&history) {
            Err(CheckError::Violation(v)) => {
                assert_eq!(v.failed.outcome, Found(u64::MAX), "round {round}:\n{v}");
                caught += 1;
            }
            other => panic!("round {round}, seed {seed:#x}: expected a violation, got {other:?}"),
        }
    }
    assert!(
        caught > 150,
        "only {caught} histories had a read to corrupt"
    );
}

/// The model's answer to `op` in `store`, checked against `outcome`: the store after it
/// when the model allows that answer (any answer, for an indeterminate one).
fn accepts(
    store: &BTreeMap<String, Value>,
    op: &Op,
    outcome: &Outcome,
) -> Option<BTreeMap<String, Value>> {
    let mut after = store.clone();
    let natural = apply_model(&mut after, op);
    let also = match op {
        // Deleting an absent key may answer not found.
        Op::Delete { key } if !store.contains_key(key) => Some(NotFound),
        // When the source is missing and the target present, either refusal is fine.
        Op::CopyIfNotExists { from, to } | Op::RenameIfNotExists { from, to }
            if !store.contains_key(from) && store.contains_key(to) =>
        {
            Some(AlreadyExists)
        }
        _ => None,
    };
    let ok = *outcome == Failed || *outcome == natural || Some(outcome) == also.as_ref();
    ok.then_some(after)
}

/// A brute-force linearizability check for small histories: tries every order that
/// respects real time, leaving out any indeterminate operation (which is the same as
/// placing it last). Failed reads are left out.
fn brute_force(history: &[Event]) -> bool {
    let ops: Vec<&Event> = history
        .iter()
        .filter(|e| match e.op {
            Op::List { .. } => false,
            Op::Get { .. } | Op::Head { .. } => !e.is_indeterminate(),
            _ => true,
        })
        .collect();
    fn go(ops: &[&Event], placed: &mut Vec<bool>, store: &BTreeMap<String, Value>) -> bool {
        let open: Vec<usize> = (0..ops.len())
            .filter(|&i| !placed[i] && !ops[i].is_indeterminate())
            .collect();
        if open.is_empty() {
            return true;
        }
        for i in 0..ops.len() {
            if placed[i] {
                continue;
            }
            // Every unplaced determinate operation that returned before this one was
            // called must come first.
            let blocked = open
                .iter()
                .any(|&j| j != i && ops[j].ret.is_some_and(|r| r < ops[i].call));
            if blocked {
                continue;
            }
            let outcome = if ops[i].is_indeterminate() {
                &Failed
            } else {
                &ops[i].outcome
            };
            if let Some(after) = accepts(store, &ops[i].op, outcome) {
                placed[i] = true;
                let found = go(ops, placed, &after);
                placed[i] = false;
                if found {
                    return true;
                }
            }
        }
        false
    }
    go(&ops, &mut vec![false; ops.len()], &BTreeMap::new())
}

/// Replaces one event's answer with another the operation could get.
fn mutate(history: &mut [Event], rng: &mut Rng) {
    let written: Vec<Value> = history
        .iter()
        .filter_map(|e| match e.op {
            Op::Put { value, .. } | Op::Create { value, .. } | Op::Update { value, .. } => {
                Some(value)
            }
            _ => None,
        })
        .collect();
    let candidates: Vec<usize> = (0..history.len())
        .filter(|&i| !matches!(history[i].op, Op::List { .. }))
        .collect();
    if candidates.is_empty() {
        return;
    }
    let event = &mut history[candidates[rng.below(candidates.len() as u64) as usize]];
    let choices: Vec<Outcome> = match event.op {
        Op::Put { .. } => vec![Done, Failed],
        Op::Create { .. } => vec![Done, AlreadyExists, Failed],
        Op::Update { .. } => vec![Done, Refused, Failed],
        Op::Get { .. } | Op::Head { .. } => {
            let mut c = vec![NotFound];
            c.extend(written.iter().map(|&v| Found(v)));
            c
        }
        Op::Delete { .. } => vec![Done, NotFound, Failed],
        Op::Copy { .. } | Op::Rename { .. } => vec![Done, NotFound, Failed],
        Op::CopyIfNotExists { .. } | Op::RenameIfNotExists { .. } => {
            vec![Done, AlreadyExists, NotFound, Failed]
        }
        Op::List { .. } => unreachable!(),
    };
    event.outcome = choices[rng.below(choices.len() as u64) as usize].clone();
    if event.outcome == Failed && rng.chance(30) {
        event.ret = None;
    }
}

#[test]
fn the_search_agrees_with_brute_force_on_small_histories() {
    let mut rng = Rng(0xD1FF);
    let (mut linearizable, mut not) = (0, 0);
    for round in 0..10_000 {
        let seed = rng.next();
        let config = SimConfig {
            clients: 2 + rng.below(3) as usize,
            keys: 1 + rng.below(3) as usize,
            events: 3 + rng.below(6) as usize,
            moves: rng.below(40),
            failures: rng.below(50),
        };
        let mut history = simulate(seed, &config);
        history.retain(|e| !matches!(e.op, Op::List { .. }));
        mutate(&mut history, &mut rng);
        let expected = brute_force(&history);
        let got = check(&history);
        match (&got, expected) {
            (Ok(_), true) => linearizable += 1,
            (Err(CheckError::Violation(_)), false) => not += 1,
            _ => {
                let shown: Vec<String> = history.iter().map(|e| format!("  {e}")).collect();
                panic!(
                    "round {round}: brute force says {expected}, the checker {got:?}\n{}",
                    shown.join("\n")
                );
            }
        }
    }
    // Both answers must be well represented for the comparison to mean anything.
    assert!(
        linearizable > 2000 && not > 2000,
        "{linearizable} linearizable, {not} not"
    );
}

#[test]
fn a_300_event_history_of_8_clients_checks_fast() {
    let config = SimConfig {
        clients: 8,
        keys: 4,
        events: 300,
        moves: 8,
        failures: 5,
    };
    let (mut slowest, mut slowest_violation) = (Duration::ZERO, Duration::ZERO);
    for seed in 0..10 {
        let mut history = simulate(seed, &config);
        let started = Instant::now();
        let stats = check(&history).unwrap_or_else(|e| panic!("seed {seed}:\n{e}"));
        let took = started.elapsed();
        slowest = slowest.max(took);
        eprintln!("seed {seed}: {stats:?} in {took:?}");

        // A violation makes the search exhaust every order first: the expensive case.
        if seed < 4 {
            let victim = history
                .iter()
                .rposition(|e| matches!(e.op, Op::Get { .. }) && !e.is_indeterminate())
                .expect("a read");
            history[victim].outcome = Found(u64::MAX);
            let started = Instant::now();
            let result = check(&history);
            let took = started.elapsed();
            assert!(
                matches!(result, Err(CheckError::Violation(_))),
                "seed {seed}: {result:?}"
            );
            slowest_violation = slowest_violation.max(took);
            eprintln!("seed {seed}: violation found in {took:?}");
        }
    }
    eprintln!("slowest 300-event check: {slowest:?}; slowest violation: {slowest_violation:?}");
    assert!(
        slowest < Duration::from_secs(1),
        "slowest check took {slowest:?}"
    );
}

// ---------------------------------------------------------------------------------------
// The recorder, used from real threads against a store behind a mutex.

#[test]
fn a_recorded_history_of_a_locked_map_is_linearizable() {
    let recorder = Arc::new(Recorder::new());
    let store = Arc::new(Mutex::new(BTreeMap::<String, Value>::new()));
    let threads: Vec<_> = (0..8)
        .map(|client| {
            let (recorder, store) = (Arc::clone(&recorder), Arc::clone(&store));
            std::thread::spawn(move || {
                let mut rng = Rng(client as u64);
                for i in 0..40u64 {
                    let key = format!("k/{}", rng.below(3));
                    let op = match rng.below(4) {
                        0 => put(&key, client as u64 * 1000 + i),
                        1 => delete(&key),
                        2 => list("k"),
                        _ => get(&key),
                    };
                    let ticket = recorder.call(client, op.clone());
                    let answer = apply_model(&mut store.lock().unwrap(), &op);
                    recorder.ret(ticket, answer);
                }
                // A batch delete: one call tick, the answers arriving together.
                let batch = [delete("k/0"), delete("k/1")];
                let tickets = recorder.call_many(client, batch.clone());
                let answers: Vec<Outcome> = batch
                    .iter()
                    .map(|op| apply_model(&mut store.lock().unwrap(), op))
                    .collect();
                recorder.ret_many(tickets.into_iter().zip(answers));
                // An operation that never returns.
                let _lost = recorder.call(client, put("k/2", 999_000 + client as u64));
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let history = recorder.history();
    assert_eq!(history.len(), 8 * 43);
    assert!(history.iter().filter(|e| e.ret.is_none()).count() == 8);
    let stats = check(&history).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.indeterminate, 8);
    check_listings(&BTreeMap::new(), &history).unwrap_or_else(|e| panic!("{e}"));
}
