//! The settings every store has (`limits`, `deadline`, `metrics`, `tracing`, `prices`):
//! [`StoreSettings`]. Reference (keys, ranges, features, order of layers): the `config`
//! module's documentation, "Settings every store has".

use super::retry::duration;
use super::KeyError;
use crate::layer::LimitedStore;
#[cfg(feature = "observe")]
use crate::layer::ObservedStore;
use object_store::ObjectStore;
use serde::Deserialize;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

/// What a store may do: requests in flight, requests and bytes per second. Reads and
/// writes alike; a listing counts one request when it starts, whatever its pages.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Limits {
    /// Operations running at once (object_store's `LimitStore`); a get holds its slot
    /// until its body is read or dropped, a listing until it ends. At most
    /// [`Limits::MAX_IN_FLIGHT`]: refused on load above, lowered to it in code.
    #[serde(default)]
    pub in_flight: Option<NonZeroUsize>,
    /// Operations started per second (a listing: one, when it starts), smoothed
    /// (`governor`'s GCRA; a burst of a tenth of a second's worth). From [`Limits::REQUESTS_PER_SECOND`]'s
    /// lowest (one request every 11.6 days) to its highest; refused on load outside.
    #[serde(default)]
    pub requests_per_second: Option<f64>,
    /// Bytes written (put payloads, multipart parts) and read (get bodies) per second:
    /// any value from 1 to `u64::MAX` (above a million a second, the limiter counts in
    /// blocks of bytes, so that its period never falls under a microsecond).
    #[serde(default)]
    pub bytes_per_second: Option<u64>,
}

impl Limits {
    /// The accepted `requests_per_second`: from one request every 10⁶ seconds (11.6
    /// days) to 10⁹ a second, the range of a period `governor` can count in (whole
    /// nanoseconds, without overflow however long the store lives).
    pub const REQUESTS_PER_SECOND: (f64, f64) = (1e-6, 1e9);

    /// The highest `in_flight`: tokio's `Semaphore::MAX_PERMITS` (2⁶¹ - 1), which
    /// object_store's `LimitStore` counts with (it panics above).
    pub const MAX_IN_FLIGHT: usize = tokio::sync::Semaphore::MAX_PERMITS;
}

/// The settings every store has (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StoreSettings {
    /// What the store may do.
    #[serde(default)]
    pub limits: Option<Limits>,
    /// How long one operation may take, waiting for a limit included (`"30s"`); for a
    /// listing, the wait for each entry.
    #[serde(default, deserialize_with = "duration")]
    pub deadline: Option<Duration>,
    /// Record metrics ([the metrics](crate::config#metrics)).
    #[serde(default)]
    pub metrics: bool,
    /// Open a span per operation ([the spans](crate::config#tracing)).
    #[serde(default)]
    pub tracing: bool,
    /// Prices per 1,000 requests by kind, for the estimated cost of the requests counted
    /// ([`crate::requests`]).
    #[serde(default)]
    pub prices: Option<crate::requests::Prices>,
}

/// The keys of [`StoreSettings`], taken out of a store's table before its provider's
/// keys are read.
pub(crate) const KEYS: &[&str] = &["limits", "deadline", "metrics", "tracing", "prices"];

impl StoreSettings {
    /// Take the settings' keys out of `table` (a store's table) and read them.
    pub(crate) fn take(
        table: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, KeyError> {
        let mine: serde_json::Map<_, _> = KEYS
            .iter()
            .filter_map(|key| Some((key.to_string(), table.remove(*key)?)))
            .collect();
        // Checked with the rest of the store (`StoreConfig::check_own`).
        super::deserialize(serde_json::Value::Object(mine))
    }

    /// Refuse values no store can run with, and what this build cannot do.
    pub(crate) fn check(&self) -> Result<(), KeyError> {
        let lacks = |key: &str, feature: &str| {
            KeyError::new(
                key,
                format!(
                    "this build of stratus has no `{feature}` feature (add it to the \
                     `stratus` dependency's features, or leave `{key}` out)"
                ),
            )
        };
        if !cfg!(feature = "observe") {
            if self.metrics {
                return Err(lacks("metrics", "observe"));
            }
            if self.tracing {
                return Err(lacks("tracing", "observe"));
            }
        }
        if !cfg!(feature = "limits") {
            if let Some(limits) = &self.limits {
                if limits.requests_per_second.is_some() {
                    return Err(lacks("limits.requests_per_second", "limits"));
                }
                if limits.bytes_per_second.is_some() {
                    return Err(lacks("limits.bytes_per_second", "limits"));
                }
            }
        }
        if let Some(limits) = &self.limits {
            if let Some(n) = limits.in_flight.filter(|n| n.get() > Limits::MAX_IN_FLIGHT) {
                return Err(KeyError::new(
                    "limits.in_flight",
                    format!(
                        "expected a number from 1 to {} (the most a semaphore counts), \
                         found {n}",
                        Limits::MAX_IN_FLIGHT
                    ),
                ));
            }
            if let Some(rate) = limits.requests_per_second {
                let (low, high) = Limits::REQUESTS_PER_SECOND;
                if !(rate.is_finite() && (low..=high).contains(&rate)) {
                    return Err(KeyError::new(
                        "limits.requests_per_second",
                        format!(
                            "expected a number from 1e-6 (one request every 11.6 days) to \
                             1e9, found {rate}"
                        ),
                    ));
                }
            }
            if limits.bytes_per_second == Some(0) {
                return Err(KeyError::new(
                    "limits.bytes_per_second",
                    "expected at least 1 (leave it out for no limit)",
                ));
            }
        }
        if let Some(prices) = &self.prices {
            if let Some(kind) = prices.first_outside(0.0..=f64::MAX) {
                return Err(KeyError::new(
                    format!("prices.{kind}"),
                    "expected a price of 0 or more (per 1,000 requests)",
                ));
            }
            if let Some(class) = prices.first_storage_outside(0.0..=f64::MAX) {
                let shown: String = class.chars().take(64).collect();
                return Err(KeyError::new(
                    format!("prices.storage.{}", crate::text::terminal(&shown)),
                    "expected a storage class name of 1 to 64 printable characters and a \
                     price of 0 or more (per GiB-month)",
                ));
            }
        }
        if self.deadline.is_some_and(|d| d.is_zero()) {
            return Err(KeyError::new(
                "deadline",
                "expected a duration above zero, e.g. \"30s\" (leave it out for none)",
            ));
        }
        Ok(())
    }

    /// `store` with these settings applied, `label` naming it in metrics and spans: the
    /// limits and the deadline inside (so that an operation's observed latency includes
    /// waiting for a limit), observation outside. What a [`Config`](crate::Config) does
    /// for each store it opens; call it for a store built in code.
    pub fn apply(&self, label: &str, store: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        let mut store = store;
        if self.limits.is_some() || self.deadline.is_some() {
            let limits = self.limits.clone().unwrap_or_default();
            store = LimitedStore::wrap(store, &limits, self.deadline);
        }
        #[cfg(feature = "observe")]
        if self.metrics || self.tracing {
            store = ObservedStore::wrap(store, label, self.metrics, self.tracing);
        }
        #[cfg(not(feature = "observe"))]
        let _ = label;
        store
    }
}
