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

use super::{ConfigError, MemberStore, StoreConfig};
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
    pub(crate) fn below(mut self, prefix: Option<&str>) -> Self {
        self.path.extend(segments(prefix.unwrap_or("")));
        self
    }

    /// Whether `other` is this place or inside it.
    fn contains(&self, other: &Place) -> bool {
        self.space == other.space && other.path.starts_with(&self.path)
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
        .map(|e| {
            // As the URL parser writes it (`/.` and a host's trailing `.` gone, case
            // folded): one server written two ways is one place.
            let written = match ::url::Url::parse(e) {
                Ok(mut url) => {
                    if let Some(host) = url.host_str().map(|h| h.trim_end_matches('.').to_string())
                    {
                        let _ = url.set_host(Some(&host));
                    }
                    url.to_string()
                }
                Err(_) => e.to_string(),
            };
            written.trim_end_matches('/').to_ascii_lowercase()
        })
        .unwrap_or_else(|| default.to_owned())
}

/// The first two entries (earlier, later) whose places overlap, with those places (the
/// outer one first). Sorted by (namespace, path), a place comes right after the places
/// that contain it: one pass with the chain of containing places finds an overlap
/// between two entries in O(n log n), n being their places.
fn first_overlap<K, N>(
    entries: &[(K, N, BTreeSet<Place>)],
) -> Option<(usize, usize, &Place, &Place)> {
    let mut all: Vec<(&Place, usize)> = entries
        .iter()
        .enumerate()
        .flat_map(|(i, (_, _, places))| places.iter().map(move |p| (p, i)))
        .collect();
    all.sort();
    let mut chain: Vec<(&Place, usize)> = Vec::new();
    for (place, i) in all {
        while chain
            .last()
            .is_some_and(|(outer, _)| !outer.contains(place))
        {
            chain.pop();
        }
        match chain.last() {
            Some(&(outer, j)) if j != i => return Some((j.min(i), j.max(i), outer, place)),
            _ => chain.push((place, i)),
        }
    }
    None
}

/// Refuse `names` (stores of the file) when two of them reach overlapping places: for
/// operations between stores (`sync`), where a bucket and a prefix of it would see each
/// other's objects under other keys.
pub(crate) fn check_apart(
    origin: &str,
    stores: &std::collections::BTreeMap<String, StoreConfig>,
    names: &[&str],
) -> Result<()> {
    let mut walk = Walk {
        origin,
        stores,
        memo: HashMap::new(),
    };
    let mut entries = Vec::with_capacity(names.len());
    for name in names {
        let stored = stores
            .get_key_value(*name)
            .map(|(k, _)| k.as_str())
            .ok_or_else(|| ConfigError::new(origin, format!("no store named `{name}`")))?;
        entries.push(((), stored, walk.named(stored)?));
    }
    match first_overlap(&entries) {
        None => Ok(()),
        Some((j, i, outer, inner)) => {
            let (a, b) = (entries[j].1, entries[i].1);
            let reach = if outer == inner {
                format!("both reach {inner}")
            } else {
                format!("reach {outer} and {inner}, one inside the other")
            };
            Err(ConfigError::new(
                origin,
                format!(
                    "stores `{a}` and `{b}` {reach}: each would see the other's objects (under \
                     other keys, when one is inside the other), so copying or deleting \
                     between them could overwrite or delete what it reads"
                ),
            )
            .into())
        }
    }
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
        if let Some(place) = config.place(id) {
            return Ok(BTreeSet::from([place]));
        }
        // A composite: every member once (one in both memberships of a sharded store is
        // one member).
        let mut members: Vec<(String, &str, BTreeSet<Place>)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for member in config.provider_ref().members() {
            if !seen.insert(member.name) {
                continue;
            }
            let places = match member.store {
                MemberStore::Named(other) => self.named(other)?,
                MemberStore::Inline(inline) => {
                    self.places(inline, &format!("{id}.{}", member.name), store)?
                }
            };
            members.push((member.key(), member.name, places));
        }
        if let Some((j, i, outer, inner)) = first_overlap(&members) {
            return Err(self.shared_place(store, &members[j], &members[i], outer, inner));
        }
        Ok(members
            .into_iter()
            .flat_map(|(_, _, places)| places)
            .collect())
    }

    /// The error for members `a` and `b` of `store`, whose places `outer` and `inner`
    /// overlap (`inner` is `outer` or inside it).
    fn shared_place(
        &self,
        store: &str,
        (a_key, a, _): &(String, &str, BTreeSet<Place>),
        (b_key, b, _): &(String, &str, BTreeSet<Place>),
        outer: &Place,
        inner: &Place,
    ) -> crate::Error {
        let reach = if outer == inner {
            format!("both reach {inner}")
        } else {
            format!("reach {outer} and {inner}, one inside the other")
        };
        // A member of the previous membership in the place of a current one is a renamed
        // member: say how to rename without moving anything.
        let previous = [(a_key, a), (b_key, b)]
            .into_iter()
            .find(|(key, _)| key.starts_with("previous["));
        let rename = match previous {
            Some((_, name)) => format!(
                ". To rename the store a member uses, keep the member's `name` (what \
                 placement hashes): {{ store = \"NEW\", name = \"{name}\" }}"
            ),
            None => String::new(),
        };
        ConfigError::new(
            self.origin,
            format!(
                "members `{a}` ({a_key}) and `{b}` ({b_key}) {reach}: a store is one place \
                 whatever it is called, and two members in one place would move objects onto \
                 themselves (deleting them) or count one copy as two. Give each member its \
                 own bucket, container or folder{rename}"
            ),
        )
        .store(store)
        .key(b_key.clone())
        .into()
    }
}
