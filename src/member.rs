//! Errors from a member of a composite store, with the member's name attached.
//!
//! A composite store (sharded, replicated) must keep object_store's error *kinds* intact —
//! callers and the conformance suite match on `NotFound`, `AlreadyExists`, `Precondition`,
//! `NotModified` — while telling the user which member failed. So they keep the variant and
//! its path, and wrap the variant's source in a [`MemberError`] whose message starts with
//! the member's name; [`member_of`] finds it again.

use object_store::Error;
use std::error::Error as StdError;
use std::fmt;

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
    let wrap = |source: Source| -> Source {
        Box::new(MemberError {
            member: member.to_owned(),
            source,
        })
    };
    match err {
        Error::Generic { store, source } => Error::Generic {
            store,
            source: wrap(source),
        },
        Error::NotFound { path, source } => Error::NotFound {
            path,
            source: wrap(source),
        },
        Error::NotSupported { source } => Error::NotSupported {
            source: wrap(source),
        },
        Error::AlreadyExists { path, source } => Error::AlreadyExists {
            path,
            source: wrap(source),
        },
        Error::Precondition { path, source } => Error::Precondition {
            path,
            source: wrap(source),
        },
        Error::NotModified { path, source } => Error::NotModified {
            path,
            source: wrap(source),
        },
        Error::PermissionDenied { path, source } => Error::PermissionDenied {
            path,
            source: wrap(source),
        },
        Error::Unauthenticated { path, source } => Error::Unauthenticated {
            path,
            source: wrap(source),
        },
        Error::NotImplemented {
            operation,
            implementer,
        } => Error::NotImplemented {
            operation,
            implementer: format!("{implementer} (member {member:?})"),
        },
        // Variants without a source to wrap (invalid path, join error, config key) say
        // nothing member-specific; new variants are passed through as they are.
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
