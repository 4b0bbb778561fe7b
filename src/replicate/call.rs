//! A member call of a [`ReplicatedStore`]: under the member deadline and the member's
//! breaker (see `health.rs`); a call that brings a member back starts the hand-off of
//! what it owes, converged in the background by `repair.rs`.

use super::health::{is_failure, GivenUp, Health};
use super::state::Inner;
use super::store::ReplicatedStore;
use object_store::{Error, Result};
use std::future::Future;
use std::sync::Arc;

impl Inner {
    /// Member `i`'s call `fut`, under the breaker and the member deadline.
    pub(super) async fn call<T>(
        &self,
        i: usize,
        fut: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        /// Releases a probe whose call was dropped before it reported.
        struct Pending<'a>(&'a Health, bool);
        impl Drop for Pending<'_> {
            fn drop(&mut self) {
                if !self.1 {
                    self.0.abandoned();
                }
            }
        }
        let health = &self.health[i];
        let breaker = self.breaker.as_ref();
        if !health.admit(breaker) {
            return Err(Error::Generic {
                store: "ReplicatedStore",
                source: "skipped: it failed its last calls in a row (circuit breaker open)".into(),
            });
        }
        let mut pending = Pending(health, false);
        let result = match self.member_timeout {
            None => fut.await,
            Some(limit) => match tokio::time::timeout(limit, fut).await {
                Ok(result) => result,
                Err(_) => Err(Error::Generic {
                    store: "ReplicatedStore",
                    source: Box::new(GivenUp(limit)),
                }),
            },
        };
        let back = health.report(breaker, matches!(&result, Err(e) if is_failure(e)));
        pending.1 = true;
        if back {
            self.hand_off(i);
        }
        result
    }

    /// Converge, in the background, the keys member `i` owes (it is back).
    fn hand_off(&self, i: usize) {
        let Some(inner) = self.me.upgrade() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_err() || !self.health[i].start_hand_off() {
            return;
        }
        tokio::spawn(async move {
            let store = ReplicatedStore::from_inner(Arc::clone(&inner));
            // What fails stays recorded: the next hand-off or `repair` takes it up.
            let _ = super::repair::hand_off(&store, i).await;
            inner.health[i].end_hand_off();
            inner.queues.ended.notify_waiters();
        });
    }
}
