//! Where a configured store points, so that two members reaching one place are refused
//! when the file is loaded.
//!
//! A store is identified by what it points at (provider, endpoint, bucket or container
//! or folder, prefix), never by its name in the file: `[stores.disk]` and
//! `[stores.disk2]` with one `root` are one place. A sharded store whose two members (of
//! either membership) are one place would "move" objects onto themselves and delete the
//! originals; a replicated store would count one copy twice. Places that *contain* one
//! another (a bucket, and a prefix of it) are refused too: one member would list the
//! other's objects as its own.
//!
//! What a file cannot show (two endpoints of one server, a symlinked folder) is caught
//! before any move by a probe ([`crate::shard::execute`]).

use super::{ConfigError, MemberConfig, MemberStore, StoreConfig};
use crate::Result;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// A place objects live: a namespace (provider, endpoint, bucket...) and a path in it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Place {
    space: String,
    path: Vec<String>,
}

impl Place {
    /// `space` with the segments of `path` (split at `/`, empty segments dropped).
    pub(crate) fn new(space: impl Into<String>, path: &str) -> Self {
        Self {
            space: space.into(),
            path: segments(path),
        }
    }

    /// The place `prefix` below this one.
    fn below(mut self, prefix: Option<&str>) -> Self {
        self.path.extend(segments(prefix.unwrap_or("")));
        self
    }

    /// Whether one place holds the other (or they are equal).
    fn overlaps(&self, other: &Place) -> bool {
        self.space == other.space
            && (self.path.starts_with(&other.path) || other.path.starts_with(&self.path))
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.space)?;
        if !self.path.is_empty() {
            write!(f, " /{}", self.path.join("/"))?;
        }
        Ok(())
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An endpoint as a place's namespace: lower case, no trailing `/`.
pub(crate) fn endpoint_space(endpoint: Option<&str>, default: &str) -> String {
    endpoint
        .map(|e| e.trim_end_matches('/').to_ascii_lowercase())
        .unwrap_or_else(|| default.to_owned())
}

/// Refuse every composite store of the file (and every composite defined inline in one)
/// whose members reach overlapping places. Each store's places are worked out once, so
/// the check is linear in the size of the file however stores are shared.
pub(crate) fn check_distinct_members(
    origin: &str,
    stores: &std::collections::BTreeMap<String, StoreConfig>,
) -> Result<()> {
    let mut walk = Walk {
        origin,
        stores,
        memo: HashMap::new(),
    };
    for name in stores.keys() {
        walk.named(name)?;
    }
    Ok(())
}

struct Walk<'a> {
    origin: &'a str,
    stores: &'a std::collections::BTreeMap<String, StoreConfig>,
    memo: HashMap<&'a str, BTreeSet<Place>>,
}

impl<'a> Walk<'a> {
    /// The places of store `name` of the file (references were checked: no cycles).
    fn named(&mut self, name: &'a str) -> Result<BTreeSet<Place>> {
        if let Some(places) = self.memo.get(name) {
            return Ok(places.clone());
        }
        let config = &self.stores[name];
        let places = self.places(config, name, name)?;
        self.memo.insert(name, places.clone());
        Ok(places)
    }

    /// The places of `config`, known as `id` (a memory store is its own place); a
    /// composite's members are checked on the way. `store` names the file's store in
    /// errors.
    fn places(
        &mut self,
        config: &'a StoreConfig,
        id: &str,
        store: &str,
    ) -> Result<BTreeSet<Place>> {
        let lists: Vec<(&str, &'a [MemberConfig])> = match config {
            StoreConfig::Sharded(c) => {
                let mut lists = vec![("members", c.members.as_slice())];
                lists.extend(c.previous.as_deref().map(|p| ("previous", p)));
                lists
            }
            StoreConfig::Replicated(c) => vec![("members", c.members.as_slice())],
            provider => {
                let place = provider.place(id).below(provider.prefix());
                return Ok(BTreeSet::from([place]));
            }
        };
        // Every member once (a member in both memberships of a sharded store is one).
        let mut members: Vec<(String, &str, BTreeSet<Place>)> = Vec::new();
        for (list, items) in lists {
            for member in items {
                if members.iter().any(|(_, name, _)| *name == member.name) {
                    continue;
                }
                let places = match &member.store {
                    MemberStore::Named(other) => self.named(other)?,
                    MemberStore::Inline(inline) => {
                        self.places(inline, &format!("{id}.{}", member.name), store)?
                    }
                };
                members.push((format!("{list}.{}", member.name), &member.name, places));
            }
        }
        for (i, (key, name, places)) in members.iter().enumerate() {
            for (other_key, other, other_places) in &members[..i] {
                let shared = places
                    .iter()
                    .find_map(|p| other_places.iter().find(|q| p.overlaps(q)).map(|q| (p, q)));
                if let Some((p, q)) = shared {
                    let reach = if p == q {
                        format!("both reach {p}")
                    } else {
                        format!("reach {q} and {p}, one inside the other")
                    };
                    // A member of the previous membership in the place of a current one
                    // is a renamed member: say how to rename without moving anything.
                    let rename = if key.starts_with("previous.") {
                        format!(
                            ". To rename the store a member uses, keep the member's `name` \
                             (what placement hashes): {{ store = \"NEW\", name = \"{name}\" }}"
                        )
                    } else {
                        String::new()
                    };
                    return Err(ConfigError::new(
                        self.origin,
                        format!(
                            "members `{other}` ({other_key}) and `{name}` ({key}) {reach}: \
                             a store is one place whatever it is called, and two members \
                             in one place would move objects onto themselves (deleting \
                             them) or count one copy as two. Give each member its own \
                             bucket, container or folder{rename}"
                        ),
                    )
                    .store(store)
                    .key(key.clone())
                    .into());
                }
            }
        }
        Ok(members
            .into_iter()
            .flat_map(|(_, _, places)| places)
            .collect())
    }
}
