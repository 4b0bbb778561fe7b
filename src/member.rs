//! Errors from a member of a composite store, with the member's name attached.
//!
//! A composite store (sharded, replicated) must keep object_store's error *kinds* intact —
//! callers and the conformance suite match on `NotFound`, `AlreadyExists`, `Precondition`,
//! `NotModified` — while telling the user which member failed. So they keep the variant and
//! its path, and wrap the variant's source in a [`MemberError`] whose message starts with
//! the member's name; [`member_of`] finds it again.

use futures::stream::{self, BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{Error, ObjectMeta, ObjectStore, Result};
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// A composite store's members: name and store.
pub(crate) type Members = [(String, Arc<dyn ObjectStore>)];

/// Write `Kind(name: store, ...)`: a composite store's `Display`.
pub(crate) fn fmt_members(
    f: &mut fmt::Formatter<'_>,
    kind: &str,
    members: &Members,
) -> fmt::Result {
    write!(f, "{kind}(")?;
    for (i, (name, store)) in members.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        write!(f, "{sep}{name}: {store}")?;
    }
    write!(f, ")")
}

/// Each member's listing from `list`, its errors tagged with the member's name.
pub(crate) fn tagged_listings(
    members: &Members,
    list: impl Fn(&dyn ObjectStore) -> BoxStream<'static, Result<ObjectMeta>>,
) -> Vec<BoxStream<'static, Result<ObjectMeta>>> {
    members
        .iter()
        .map(|(name, store)| {
            let name = name.clone();
            list(store.as_ref())
                .map(move |item| item.map_err(|err| tag(&name, err)))
                .boxed()
        })
        .collect()
}

/// Composite stores delete in batches of up to this many paths.
const DELETE_BATCH: usize = 1000;

/// `delete_stream` for a composite store: the input in batches of up to 1,000 paths, each
/// handled by `batch` (which answers each path in input order).
pub(crate) fn delete_in_batches<F, Fut>(
    locations: BoxStream<'static, Result<Path>>,
    batch: F,
) -> BoxStream<'static, Result<Path>>
where
    F: Fn(Vec<Result<Path>>) -> Fut + Send + 'static,
    Fut: Future<Output = Vec<Result<Path>>> + Send + 'static,
{
    locations
        .ready_chunks(DELETE_BATCH)
        .then(move |paths| {
            let answers = batch(paths);
            async move { stream::iter(answers.await) }
        })
        .flatten()
        .boxed()
}

type Source = Box<dyn StdError + Send + Sync + 'static>;

/// The source of an error that a member of a composite store returned.
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

/// Attach `member` to `err`, keeping its variant (and so its meaning) unchanged.
pub(crate) fn tag(member: &str, err: Error) -> Error {
    match err {
        Error::NotImplemented {
            operation,
            implementer,
        } => Error::NotImplemented {
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
/// one place that knows which object_store variants carry a source. Variants without one
/// (and variants object_store adds later) come back unchanged.
pub(crate) fn map_source(err: Error, f: impl FnOnce(Source) -> Source) -> Error {
    match err {
        Error::Generic { store, source } => Error::Generic {
            store,
            source: f(source),
        },
        Error::NotFound { path, source } => Error::NotFound {
            path,
            source: f(source),
        },
        Error::NotSupported { source } => Error::NotSupported { source: f(source) },
        Error::AlreadyExists { path, source } => Error::AlreadyExists {
            path,
            source: f(source),
        },
        Error::Precondition { path, source } => Error::Precondition {
            path,
            source: f(source),
        },
        Error::NotModified { path, source } => Error::NotModified {
            path,
            source: f(source),
        },
        Error::PermissionDenied { path, source } => Error::PermissionDenied {
            path,
            source: f(source),
        },
        Error::Unauthenticated { path, source } => Error::Unauthenticated {
            path,
            source: f(source),
        },
        other => other,
    }
}

/// The name of the member an error came from, if a composite store tagged it.
pub fn member_of(err: &Error) -> Option<&str> {
    let mut source = StdError::source(err);
    while let Some(err) = source {
        if let Some(member) = err.downcast_ref::<MemberError>() {
            return Some(member.member());
        }
        source = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagging_keeps_the_kind_and_names_the_member() {
        let err = tag(
            "west",
            Error::NotFound {
                path: "a/b".into(),
                source: "gone".into(),
            },
        );
        assert!(matches!(err, Error::NotFound { ref path, .. } if path == "a/b"));
        assert_eq!(member_of(&err), Some("west"));
        assert!(err.to_string().contains("member \"west\": gone"), "{err}");
    }
}
