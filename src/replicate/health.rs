//! Per-member health of a [`ReplicatedStore`](super::ReplicatedStore): a deadline per
//! member call, and a circuit breaker that skips a member that keeps failing, so that
//! reads and writes stop paying its timeout.
//!
//! A member is **closed** (used) until `failures` calls in a row fail (an error other than
//! an answer such as `NotFound`, or the member deadline passing); it is then **open**
//! (skipped: a write counts it as failed, and records that it missed the write, without
//! calling it; a read goes to the next member) for `open_for`. After that, one call
//! **probes** it: success closes it, failure opens it again for twice as long (at most
//! 16 × `open_for`). Writes it missed while open are in the store's record (and journal);
//! when a probe closes it, they are **handed off** in the background: the keys it owes
//! are converged as `repair_recorded` would (one hand-off per member at a time;
//! [`ReplicatedStore::flush`](super::ReplicatedStore::flush) waits for it). Keys that
//! fail to converge stay recorded for the next hand-off or `repair`.
//!
//! This file holds each member's breaker state ([`Health`]); the call under the deadline
//! and the breaker, and the hand-off, are in `call.rs`.

use object_store::Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When a member is skipped (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Breaker {
    /// Calls in a row that must fail before the member is skipped (at least 1).
    pub failures: u32,
    /// How long it is skipped the first time.
    pub open_for: Duration,
}

impl Breaker {
    /// Skip a member after `failures` failed calls in a row, for `open_for`.
    pub fn new(failures: u32, open_for: Duration) -> Self {
        Self {
            failures: failures.max(1),
            open_for,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Failed calls in a row.
    failed: u32,
    /// Skipped until then.
    open_until: Option<Instant>,
    /// The next opening's length (doubles after a failed probe).
    backoff: Option<Duration>,
    /// A probe is running.
    probing: bool,
}

/// One member's health.
#[derive(Debug, Default)]
pub(super) struct Health {
    state: Mutex<State>,
    /// A hand-off of what the member owes runs ([`Health::start_hand_off`]).
    handing_off: AtomicBool,
}

/// A member call the store stopped waiting for at the member timeout: it may still be
/// applied later (a request the server received, a local write on a blocking thread).
#[derive(Debug)]
pub(super) struct GivenUp(pub(super) Duration);

impl std::fmt::Display for GivenUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no answer within the member timeout ({:?})", self.0)
    }
}

impl std::error::Error for GivenUp {}

/// Whether `err` is a call given up at the member timeout ([`GivenUp`]).
pub(super) fn given_up(err: &Error) -> bool {
    matches!(err, Error::Generic { source, .. } if source.downcast_ref::<GivenUp>().is_some())
}

/// Whether an error is the member's failure, not an answer about the object.
pub(super) fn is_failure(err: &Error) -> bool {
    !matches!(
        err,
        Error::NotFound { .. }
            | Error::AlreadyExists { .. }
            | Error::Precondition { .. }
            | Error::NotModified { .. }
            | Error::NotImplemented { .. }
    )
}

impl Health {
    /// Whether a call may go to the member now (with `breaker`; always without one).
    pub(super) fn admit(&self, breaker: Option<&Breaker>) -> bool {
        if breaker.is_none() {
            return true;
        }
        let mut state = self.state.lock().expect("health");
        match state.open_until {
            None => true,
            Some(until) if Instant::now() < until => false,
            // Half open: one probe at a time.
            Some(_) if state.probing => false,
            Some(_) => {
                state.probing = true;
                true
            }
        }
    }

    /// Record a call's outcome (`failed`: the member failed it); whether it was a
    /// successful probe (the member is back).
    pub(super) fn report(&self, breaker: Option<&Breaker>, failed: bool) -> bool {
        let Some(breaker) = breaker else {
            return false;
        };
        let mut state = self.state.lock().expect("health");
        if !failed {
            let back = state.open_until.is_some();
            *state = State::default();
            return back;
        }
        state.failed = state.failed.saturating_add(1);
        let backoff = if state.probing {
            let last = state.backoff.unwrap_or(breaker.open_for);
            (last * 2).min(breaker.open_for * 16)
        } else if state.failed >= breaker.failures && state.open_until.is_none() {
            breaker.open_for
        } else {
            return false;
        };
        state.probing = false;
        state.backoff = Some(backoff);
        state.open_until = Some(Instant::now() + backoff);
        false
    }

    /// Whether a hand-off runs for the member.
    pub(super) fn is_handing_off(&self) -> bool {
        self.handing_off.load(Ordering::Acquire)
    }

    /// Claim the member's hand-off: true for the one caller that may start it, false
    /// while one runs.
    pub(super) fn start_hand_off(&self) -> bool {
        !self.handing_off.swap(true, Ordering::AcqRel)
    }

    /// The hand-off that [`Health::start_hand_off`] claimed ended.
    pub(super) fn end_hand_off(&self) {
        self.handing_off.store(false, Ordering::Release);
    }

    /// A call admitted as a probe ended without an outcome (it was cancelled): another
    /// may probe.
    pub(super) fn abandoned(&self) {
        self.state.lock().expect("health").probing = false;
    }

    /// Whether the member is skipped now.
    pub(super) fn is_open(&self) -> bool {
        let state = self.state.lock().expect("health");
        state.open_until.is_some_and(|until| Instant::now() < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_in_a_row_probes_once_and_backs_off_doubling() {
        let breaker = Breaker::new(2, Duration::from_millis(30));
        let health = Health::default();
        let b = Some(&breaker);
        assert!(health.admit(b));
        health.report(b, true);
        health.report(b, false); // a success resets the count
        health.report(b, true);
        assert!(health.admit(b));
        health.report(b, true);
        assert!(!health.admit(b) && health.is_open());
        std::thread::sleep(Duration::from_millis(40));
        assert!(health.admit(b), "the probe");
        assert!(!health.admit(b), "one probe at a time");
        health.report(b, true); // failed probe: open for 60 ms
        std::thread::sleep(Duration::from_millis(40));
        assert!(!health.admit(b), "backed off twice as long");
        std::thread::sleep(Duration::from_millis(30));
        assert!(health.admit(b));
        health.report(b, false);
        assert!(health.admit(b) && health.admit(b) && !health.is_open());
        // Without a breaker nothing is ever skipped.
        let none = Health::default();
        for _ in 0..10 {
            none.report(None, true);
        }
        assert!(none.admit(None));
    }
}
