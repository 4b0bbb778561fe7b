//! The crate's one error type, and how it meets object_store's.
//!
//! Every stratus operation returns [`enum@Error`]. Every error says *where* it happened:
//! the configuration file (or URL) and the store and key within it, or the store an
//! operation ran against, and for a composite store the member ([`Error::member`]).
//! Secrets are never part of an error: values read from configuration are not echoed
//! back, only key names.
//!
//! The stores themselves implement `ObjectStore`, whose methods return
//! `object_store::Error`. A composite store keeps object_store's error *kinds* intact
//! (callers and the conformance suite match on `NotFound`, `AlreadyExists`,
//! `Precondition`, `NotModified`) while naming the member that failed: it keeps the
//! variant and its path and wraps the variant's source in a [`MemberError`], which
//! [`member_of`] finds again. The two types convert both ways without losing the kind:
//! [`Error::in_store`] (and `From`) one way, `From<Error> for object_store::Error` the
//! other.

use std::error::Error as StdError;
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

    /// An inventory report file (JSON, as `--format json` writes) could not be read.
    #[error("cannot read inventory report {}: {message}", path.display())]
    ReadReport {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },

    /// A provider inventory report (a manifest and its data files in a store) could not be
    /// read, or an export could not be written.
    #[error("store `{store}`: inventory report `{key}`: {message}")]
    InventoryReport {
        /// The store (its `Display` form).
        store: String,
        /// The manifest or data file.
        key: String,
        /// What is wrong, or what failed.
        message: String,
    },

    /// The terminal could not be used (the inventory browser).
    #[error("terminal: {0}")]
    Terminal(String),

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

    /// A placement was given members it cannot place over (none, a name twice, a weight
    /// that is not a positive number), or slot bits out of range.
    #[error(transparent)]
    Placement(#[from] crate::shard::PlacementError),

    /// Two inventory reports could not be merged (different scans).
    #[error(transparent)]
    Merge(#[from] MergeError),

    /// A checkpoint of `sync` or `verify` could not be read, written or used.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// `sync` would delete more than its delete limit allows
    /// ([`SyncOptions::max_delete`](crate::replicate::SyncOptions::max_delete)): nothing
    /// was copied or deleted.
    #[error(
        "sync would delete {deletes} of the {held} objects in {destination} (the source lists \
         {listed}); the limit is {limit}: nothing was copied or deleted. Check the source \
         (an empty or mistyped one deletes everything), or allow it explicitly (--max-delete \
         N or P%, --force)"
    )]
    DeleteLimit {
        /// The destination (its `Display` form).
        destination: String,
        /// What sync would delete.
        deletes: u64,
        /// What the destination holds (under the prefix).
        held: u64,
        /// What the source lists (under the prefix).
        listed: u64,
        /// The limit, in words.
        limit: String,
    },

    /// Text given as a key or prefix names nothing object_store can hold (an empty
    /// segment, `.` or `..`, a control character): see [`crate::key`].
    #[error("invalid {what} {text:?}: {message}")]
    InvalidKey {
        /// `key` or `prefix`.
        what: &'static str,
        /// The text as given.
        text: String,
        /// What is wrong with it.
        message: String,
    },

    /// A composite store was put together wrongly in code: no members, a name given
    /// twice, one store under two names, a placement member without a store, a quorum
    /// out of range. (From a configuration file, the same mistakes are [`Error::Config`].)
    #[error("{composite}: {message}")]
    Composition {
        /// `sharded store` or `replicated store`.
        composite: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// object_store's `error` from an operation on `store` (its name, or the store itself:
    /// its `Display` form names it), as a stratus error.
    pub fn in_store(store: impl fmt::Display, error: object_store::Error) -> Self {
        Self::Store {
            store: store.to_string(),
            source: Box::new(error),
        }
    }

    /// The object_store error underneath, for matching on its kind
    /// (`object_store::Error::NotFound`, ...).
    pub fn store_error(&self) -> Option<&object_store::Error> {
        match self {
            Self::Build { source, .. }
            | Self::Listing { source, .. }
            | Self::Store { source, .. } => Some(source),
            Self::Config(_)
            | Self::ReadConfig { .. }
            | Self::ReadReport { .. }
            | Self::InventoryReport { .. }
            | Self::Terminal(_)
            | Self::Composition { .. }
            | Self::InvalidKey { .. }
            | Self::DeleteLimit { .. }
            | Self::Placement(_)
            | Self::Merge(_)
            | Self::Checkpoint { .. } => None,
        }
    }

    /// The member of a composite store that failed, when a member did.
    pub fn member(&self) -> Option<&str> {
        self.store_error().and_then(member_of)
    }

    pub(crate) fn composition(composite: &'static str, message: impl Into<String>) -> Self {
        Self::Composition {
            composite,
            message: message.into(),
        }
    }
}

/// An object_store error as a stratus error, naming the member when a composite store
/// tagged one, else object_store's own name of the store.
impl From<object_store::Error> for Error {
    fn from(error: object_store::Error) -> Self {
        let store = match (member_of(&error), &error) {
            (Some(member), _) => format!("member {member}"),
            (None, object_store::Error::Generic { store, .. }) => (*store).to_string(),
            (None, _) => "object store".to_string(),
        };
        Self::in_store(store, error)
    }
}

/// A stratus error where an `ObjectStore` method must return object_store's: a store
/// error is returned as it was (same kind, same member), anything else as `Generic`.
impl From<Error> for object_store::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::Listing { source, .. } | Error::Store { source, .. } => *source,
            other => object_store::Error::Generic {
                store: "stratus",
                source: Box::new(other),
            },
        }
    }
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
    /// status (object_store appends it verbatim, XML and all), safe for a terminal (keys
    /// and server text through [`crate::text::terminal`]): for command-line tools.
    /// `Display` keeps everything, exactly.
    pub fn brief(&self) -> String {
        let text = self.to_string();
        let cut = ["<?xml", "<Error", "{\"error\"", "\n"]
            .iter()
            .filter_map(|marker| text.find(marker))
            .min()
            .unwrap_or(text.len());
        crate::text::terminal(text[..cut].trim_end().trim_end_matches(':')).into_owned()
    }

    /// This error with every cause under it that adds something (the TLS reason under
    /// "error sending request", say), joined by `: `; keys and a server's response as
    /// they came (make them safe before a terminal: [`crate::text::terminal_lines`]).
    pub fn full(&self) -> String {
        full_chain(self)
    }

    /// Whether this is S3's answer for a bucket of another region (a redirect without
    /// a location; object_store drops the header that names the region:
    /// [`StoreConfig::bucket_region`](crate::config::StoreConfig::bucket_region) asks it).
    pub fn is_region_redirect(&self) -> bool {
        match self {
            Error::Listing { source, .. } | Error::Store { source, .. } => {
                error_chain(source.as_ref()).contains("redirect without LOCATION")
            }
            _ => false,
        }
    }

    /// What to check, for the failures people meet first: a wrong bucket or container,
    /// refused credentials, an endpoint that does not answer. `None` when there is
    /// nothing better to say than the error itself.
    ///
    /// Decided by object_store's error kind where it has one (it maps 404, 401 and 403 of
    /// single-object requests to `NotFound`, `Unauthenticated`, `PermissionDenied`), by
    /// the kind of its `HttpError` for connections, and otherwise by the HTTP status in
    /// the message: a listing's failure is `Generic` around a retry error whose type
    /// object_store does not export, so its status can only be read from its text.
    pub fn advice(&self) -> Option<&'static str> {
        let source = match self {
            Error::Build { .. } => return Some("check the store's keys and `options` values"),
            Error::Listing { source, .. } | Error::Store { source, .. } => source.as_ref(),
            Error::Config(_)
            | Error::ReadConfig { .. }
            | Error::ReadReport { .. }
            | Error::InventoryReport { .. }
            | Error::Terminal(_)
            | Error::Composition { .. }
            | Error::InvalidKey { .. }
            | Error::DeleteLimit { .. }
            | Error::Placement(_)
            | Error::Merge(_)
            | Error::Checkpoint { .. } => return None,
        };
        // S3 answers a request for a bucket of another region with a redirect that names
        // no location (object_store's words: "Received redirect without LOCATION").
        if self.is_region_redirect() {
            return Some(
                "the bucket is in another region: set `region` to the bucket's \
                 (`aws s3api get-bucket-location --bucket NAME` tells it)",
            );
        }
        if tls_refused(source) {
            return Some(
                "the endpoint's TLS certificate was not accepted: check the endpoint's host \
                 name, or give the authority that signed it in the store's `ca_file` (a PEM \
                 file; or AWS_CA_BUNDLE for S3, SSL_CERT_FILE for any store); `-v` shows why",
            );
        }
        let status = http_status(source);
        let missing = matches!(source, object_store::Error::NotFound { .. }) || status == Some(404);
        let denied = matches!(
            source,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        ) || matches!(status, Some(401 | 403));
        if missing {
            Some("the bucket or container does not exist: check `bucket` / `container` (and `account`, `region`)")
        } else if denied {
            Some("access was denied: check the credentials and that they may list this bucket")
        } else if unreachable(source) {
            Some("the endpoint did not answer: check `endpoint` (host, port, http/https) and the network")
        } else {
            None
        }
    }
}

/// The HTTP status a server answered with, read from object_store's message
/// (`... status code: 403 Forbidden ...`): see [`Error::advice`].
fn http_status(error: &object_store::Error) -> Option<u16> {
    let text = error_chain(error);
    let (_, after) = text.split_once("status code: ")?;
    after.get(..3)?.parse().ok()
}

/// Whether a request never got an answer: object_store's `HttpError` of the connect,
/// timeout or request kind somewhere in the error's sources.
fn unreachable(error: &object_store::Error) -> bool {
    #[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
    {
        use object_store::client::{HttpError, HttpErrorKind};
        let mut source = StdError::source(error);
        while let Some(e) = source {
            if let Some(http) = e.downcast_ref::<HttpError>() {
                return matches!(
                    http.kind(),
                    HttpErrorKind::Connect | HttpErrorKind::Timeout | HttpErrorKind::Request
                );
            }
            source = e.source();
        }
    }
    #[cfg(not(any(feature = "aws", feature = "gcp", feature = "azure")))]
    let _ = error;
    false
}

/// Whether the connection failed on the server's TLS certificate (rustls: "invalid peer
/// certificate: UnknownIssuer"; the cause sits deep in the chain, under "error sending
/// request", which alone reads like a server that did not answer).
fn tls_refused(error: &object_store::Error) -> bool {
    let mut source: Option<&dyn StdError> = Some(error);
    while let Some(e) = source {
        if e.to_string().contains("certificate") {
            return true;
        }
        source = e.source();
    }
    false
}

/// `error` and every source that adds something: object_store repeats its sources' text
/// in its own, so a source already said is left out.
fn full_chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let said = e.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = e.source();
    }
    text
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

type Source = Box<dyn StdError + Send + Sync + 'static>;

/// The source of an error that a member of a composite store returned: the member's name
/// and what it said.
#[derive(Debug)]
pub struct MemberError {
    member: String,
    source: Source,
}

impl MemberError {
    /// The name of the member that failed.
    pub fn member(&self) -> &str {
        &self.member
    }
}

impl fmt::Display for MemberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "member {:?}: {}", self.member, self.source)
    }
}

impl StdError for MemberError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.as_ref())
    }
}

/// The name of the member an object_store error came from, if a composite store tagged it.
pub fn member_of(err: &object_store::Error) -> Option<&str> {
    let mut source = StdError::source(err);
    while let Some(err) = source {
        if let Some(member) = err.downcast_ref::<MemberError>() {
            return Some(member.member());
        }
        source = err.source();
    }
    None
}

/// Attach `member` to `err`, keeping its variant (and so its meaning) unchanged.
pub(crate) fn tag(member: &str, err: object_store::Error) -> object_store::Error {
    match err {
        object_store::Error::NotImplemented {
            operation,
            implementer,
        } => object_store::Error::NotImplemented {
            operation,
            implementer: format!("{implementer} (member {member:?})"),
        },
        // Variants without a source to wrap (invalid path, join error, config key) say
        // nothing member-specific; new variants are passed through as they are.
        other => map_source(other, |source| {
            Box::new(MemberError {
                member: member.to_owned(),
                source,
            })
        }),
    }
}

/// `err` with its source replaced by `f(source)`, keeping the variant and its path: the
/// one place that knows which object_store variants carry a source (member tagging and
/// secret scrubbing both go through it). Variants without one (and variants object_store
/// adds later) come back unchanged.
pub(crate) fn map_source(
    err: object_store::Error,
    f: impl FnOnce(Source) -> Source,
) -> object_store::Error {
    use object_store::Error as E;
    match err {
        E::Generic { store, source } => E::Generic {
            store,
            source: f(source),
        },
        E::NotFound { path, source } => E::NotFound {
            path,
            source: f(source),
        },
        E::NotSupported { source } => E::NotSupported { source: f(source) },
        E::AlreadyExists { path, source } => E::AlreadyExists {
            path,
            source: f(source),
        },
        E::Precondition { path, source } => E::Precondition {
            path,
            source: f(source),
        },
        E::NotModified { path, source } => E::NotModified {
            path,
            source: f(source),
        },
        E::PermissionDenied { path, source } => E::PermissionDenied {
            path,
            source: f(source),
        },
        E::Unauthenticated { path, source } => E::Unauthenticated {
            path,
            source: f(source),
        },
        other => other,
    }
}

/// Why two inventory reports cannot be merged
/// ([`Report::merge`](crate::inventory::Report::merge)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot merge inventory reports: {0}")]
pub struct MergeError(String);

impl MergeError {
    pub(crate) fn new(reason: String) -> Self {
        Self(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagging_keeps_the_kind_and_names_the_member() {
        let err = tag(
            "west",
            object_store::Error::NotFound {
                path: "a/b".into(),
                source: "gone".into(),
            },
        );
        assert!(matches!(err, object_store::Error::NotFound { ref path, .. } if path == "a/b"));
        assert_eq!(member_of(&err), Some("west"));
        assert!(err.to_string().contains("member \"west\": gone"), "{err}");
    }

    #[test]
    fn conversion_both_ways_keeps_the_kind_and_the_member() {
        let tagged = tag(
            "west",
            object_store::Error::NotFound {
                path: "k".into(),
                source: "gone".into(),
            },
        );
        let ours = Error::from(tagged);
        assert_eq!(ours.member(), Some("west"));
        assert!(matches!(
            ours.store_error(),
            Some(object_store::Error::NotFound { .. })
        ));
        let back = object_store::Error::from(ours);
        assert!(matches!(back, object_store::Error::NotFound { ref path, .. } if path == "k"));
        assert_eq!(member_of(&back), Some("west"));
        let composition =
            object_store::Error::from(Error::composition("sharded store", "no members"));
        assert!(matches!(composition, object_store::Error::Generic { .. }));
        assert!(composition
            .to_string()
            .contains("sharded store: no members"));
    }

    #[test]
    fn advice_reads_the_status_of_a_generic_error() {
        let listing = |text: &str| Error::Listing {
            store: "s".into(),
            prefix: String::new(),
            source: Box::new(object_store::Error::Generic {
                store: "S3",
                source: text.to_string().into(),
            }),
        };
        let denied = listing("Server returned non-2xx status code: 403 Forbidden: <Error>");
        assert!(denied.advice().unwrap().contains("denied"));
        let missing = listing("Server returned non-2xx status code: 404 Not Found: NoSuchBucket");
        assert!(missing.advice().unwrap().contains("does not exist"));
        assert_eq!(listing("the server said no").advice(), None);
        let moved = listing(
            "Received redirect without LOCATION, this normally indicates an incorrectly \
             configured region",
        );
        assert!(moved.advice().unwrap().contains("another region"));
    }
}
