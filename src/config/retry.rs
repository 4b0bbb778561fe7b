//! `retry = { ... }`: object_store's retry and backoff settings, which it has no config keys
//! for. Cloud providers only.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

use super::KeyError;

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

fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(&text).map(Some).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{text}` is not a duration ({e}); expected e.g. \"500ms\", \"30s\" or \"2m\""
        ))
    })
}

impl RetrySettings {
    pub(crate) fn validate(&self) -> Result<(), KeyError> {
        if self
            .backoff_base
            .is_some_and(|b| !(b >= 1.0 && b.is_finite()))
        {
            return Err(KeyError::new(
                "retry.backoff_base",
                "expected a number of at least 1",
            ));
        }
        if let (Some(init), Some(max)) = (self.init_backoff, self.max_backoff) {
            if init > max {
                return Err(KeyError::new(
                    "retry.init_backoff",
                    "is longer than `retry.max_backoff`",
                ));
            }
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
