//! `retry = { ... }`: object_store's retry and backoff settings, which it has no config keys
//! for. Cloud providers only.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

use super::KeyError;

/// object_store's first backoff when `init_backoff` is unset.
const DEFAULT_INIT_BACKOFF: Duration = Duration::from_millis(100);
/// object_store's longest backoff when `max_backoff` is unset.
const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(15);
/// object_store's retries when `max_retries` is unset.
const DEFAULT_MAX_RETRIES: usize = 10;
/// object_store's retry budget when `retry_timeout` is unset.
const DEFAULT_RETRY_TIMEOUT: Duration = Duration::from_secs(180);

/// How a cloud store retries failed requests. Unset fields keep object_store's defaults
/// (10 retries, 3 minutes in all, backoff from 100 ms doubling to 15 s).
///
/// ```toml
/// retry = { max_retries = 3, retry_timeout = "30s", init_backoff = "50ms", max_backoff = "5s" }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RetrySettings {
    /// Retries after the first attempt (0: none).
    #[serde(default)]
    pub max_retries: Option<usize>,
    /// Give up retrying after this long in all, e.g. `"30s"`.
    #[serde(default, deserialize_with = "duration")]
    pub retry_timeout: Option<Duration>,
    /// The first backoff, e.g. `"100ms"`.
    #[serde(default, deserialize_with = "duration")]
    pub init_backoff: Option<Duration>,
    /// The longest backoff, e.g. `"15s"`.
    #[serde(default, deserialize_with = "duration")]
    pub max_backoff: Option<Duration>,
    /// The factor each backoff grows by (at least 1).
    #[serde(default)]
    pub backoff_base: Option<f64>,
}

pub(crate) fn duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(&text).map(Some).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{text}` is not a duration ({e}); expected e.g. \"500ms\", \"30s\" or \"2m\""
        ))
    })
}

impl RetrySettings {
    /// Refuse settings object_store's backoff cannot run with. It draws each wait at
    /// random between the first backoff and the previous wait times `backoff_base` (capped
    /// at `max_backoff`): that range must never be empty, or the first retry panics inside
    /// object_store. So the checks apply to the *effective* values, defaults filled in: a
    /// `max_backoff` of 10 ms alone is below the default first backoff of 100 ms.
    pub(crate) fn validate(&self) -> Result<(), KeyError> {
        const BASE_MAX: f64 = 1000.0;
        if let Some(base) = self.backoff_base {
            if !(base > 1.0 && base <= BASE_MAX) {
                return Err(KeyError::new(
                    "retry.backoff_base",
                    format!(
                        "expected a number above 1 and at most {BASE_MAX} (each backoff is \
                         drawn between the first one and the last one times this factor: 1 \
                         or less leaves nothing to draw from)"
                    ),
                ));
            }
        }
        let init = self.init_backoff.unwrap_or(DEFAULT_INIT_BACKOFF);
        let max = self.max_backoff.unwrap_or(DEFAULT_MAX_BACKOFF);
        if init.is_zero() {
            return Err(KeyError::new(
                "retry.init_backoff",
                "expected a duration above zero, e.g. \"50ms\" (use `max_retries = 0` for no \
                 retries)",
            ));
        }
        if init > max {
            let (key, other) = if self.init_backoff.is_some() {
                ("retry.init_backoff", "`retry.max_backoff`")
            } else {
                ("retry.max_backoff", "the default first backoff")
            };
            return Err(KeyError::new(
                key,
                format!(
                    "{init:?} first and {max:?} longest: the first backoff must not be longer \
                     than the longest ({other})"
                ),
            ));
        }
        Ok(())
    }

    /// Refuse a request `timeout` (object_store's client option) at or above the retry
    /// budget: a request that times out would leave no time to retry it, so the retries
    /// configured would never happen (OpenDAL's `TimeoutLayer` refuses the same).
    pub(crate) fn check_timeout(
        retry: Option<&Self>,
        options: &super::Options,
    ) -> Result<(), KeyError> {
        let Some(value) = options.0.get("timeout") else {
            return Ok(());
        };
        let text = value.to_string();
        let timeout = humantime::parse_duration(&text).map_err(|e| {
            KeyError::new(
                "options.timeout",
                format!("`{text}` is not a duration ({e}); expected e.g. \"30s\""),
            )
        })?;
        let retries = retry
            .and_then(|r| r.max_retries)
            .unwrap_or(DEFAULT_MAX_RETRIES);
        let budget = retry
            .and_then(|r| r.retry_timeout)
            .unwrap_or(DEFAULT_RETRY_TIMEOUT);
        if retries > 0 && timeout >= budget {
            return Err(KeyError::new(
                "options.timeout",
                format!(
                    "{timeout:?} per request is at or above the retry budget of {budget:?} \
                     (`retry.retry_timeout`{}): a request that times out leaves no time to \
                     retry it. Set a shorter timeout, a longer `retry.retry_timeout`, or \
                     `retry.max_retries = 0` to say one attempt is meant",
                    if retry.and_then(|r| r.retry_timeout).is_some() {
                        ""
                    } else {
                        ", object_store's default"
                    }
                ),
            ));
        }
        Ok(())
    }

    /// object_store's defaults with these settings applied.
    #[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
    pub(crate) fn to_retry_config(&self) -> object_store::RetryConfig {
        let mut config = object_store::RetryConfig::default();
        if let Some(n) = self.max_retries {
            config.max_retries = n;
        }
        if let Some(t) = self.retry_timeout {
            config.retry_timeout = t;
        }
        if let Some(d) = self.init_backoff {
            config.backoff.init_backoff = d;
        }
        if let Some(d) = self.max_backoff {
            config.backoff.max_backoff = d;
        }
        if let Some(b) = self.backoff_base {
            config.backoff.base = b;
        }
        config
    }
}
