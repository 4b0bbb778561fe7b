//! The crate's error type.
//!
//! Every error says *where* it happened: the configuration file (or URL) and the store and
//! key within it, or the store an operation ran against. Secrets are never part of an
//! error: values read from configuration are not echoed back, only key names.

use std::fmt;
use std::path::PathBuf;

/// A `Result` whose error is [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in stratus.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration (file, URL or environment) is invalid.
    #[error(transparent)]
    Config(Box<ConfigError>),

    /// A configuration file could not be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// object_store refused to build a store from a configuration that parsed correctly
    /// (for example an option value of the wrong form).
    #[error("{origin}: store `{store}`: cannot build the {provider} store: {source}")]
    Build {
        /// The file or URL the store came from.
        origin: String,
        /// The store's name.
        store: String,
        /// Its provider (`s3`, `gcs`, ...).
        provider: &'static str,
        /// object_store's error.
        source: Box<object_store::Error>,
    },

    /// Listing a store failed.
    #[error("store `{store}`: listing `{prefix}` failed: {source}")]
    Listing {
        /// The store (its `Display` form).
        store: String,
        /// The prefix being listed (empty: the whole store).
        prefix: String,
        /// object_store's error.
        source: Box<object_store::Error>,
    },

    /// An operation on a store failed.
    #[error("store `{store}`: {source}")]
    Store {
        /// The store's name (or its `Display` form).
        store: String,
        /// object_store's error.
        source: Box<object_store::Error>,
    },
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Self::Config(Box::new(e))
    }
}

/// A configuration error: which file or URL, which store, which key, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file path, `URL <scheme>://<bucket>`, or `environment`.
    pub origin: String,
    /// The store within the file, when the error is inside one.
    pub store: Option<String>,
    /// The key within the store (dotted path, e.g. `options.aws_region`), when known.
    pub key: Option<String>,
    /// What is wrong and what was expected. Never contains a configured value that could
    /// be secret.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(origin: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            store: None,
            key: None,
            message: message.into(),
        }
    }

    pub(crate) fn store(mut self, store: impl Into<String>) -> Self {
        self.store = Some(store.into());
        self
    }

    pub(crate) fn key(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        self.key = (!key.is_empty()).then_some(key);
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(store) = &self.store {
            write!(f, ": store `{store}`")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Error {
    /// The message on one line, without the response body a server sent with an error
    /// status (object_store appends it verbatim, XML and all): for command-line tools.
    /// `Display` keeps everything.
    pub fn brief(&self) -> String {
        let text = self.to_string();
        let cut = ["<?xml", "<Error", "{\"error\"", "\n"]
            .iter()
            .filter_map(|marker| text.find(marker))
            .min()
            .unwrap_or(text.len());
        text[..cut].trim_end().trim_end_matches(':').to_string()
    }

    /// What to check, for the failures people meet first: a wrong bucket or container,
    /// refused credentials, an endpoint that does not answer. `None` when there is
    /// nothing better to say than the error itself.
    pub fn advice(&self) -> Option<&'static str> {
        let source = match self {
            Error::Build { .. } => return Some("check the store's keys and `options` values"),
            Error::Listing { source, .. } | Error::Store { source, .. } => source.as_ref(),
            Error::Config(_) | Error::ReadConfig { .. } => return None,
        };
        let text = error_chain(source).to_ascii_lowercase();
        let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
        // object_store maps some statuses to typed errors; the rest only say it in text.
        let missing = matches!(source, object_store::Error::NotFound { .. })
            || has(&["nosuchbucket", "containernotfound", "404 not found"]);
        let denied = matches!(
            source,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        ) || has(&[
            "accessdenied",
            "403 forbidden",
            "401 unauthorized",
            "signature",
        ]);
        let unreachable = has(&["connect", "dns", "timed out", "error sending request"]);
        if missing {
            Some("the bucket or container does not exist: check `bucket` / `container` (and `account`, `region`)")
        } else if denied {
            Some("access was denied: check the credentials and that they may list this bucket")
        } else if unreachable {
            Some("the endpoint did not answer: check `endpoint` (host, port, http/https) and the network")
        } else {
            None
        }
    }
}

/// An error and all its sources, joined.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
