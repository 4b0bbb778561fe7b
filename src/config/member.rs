//! Members of the composite stores: how they are written in a file, and what they parse
//! to. A sharded store's members carry a `weight`; a replicated store's do not (there,
//! `weight` is an unknown key like any other).
//!
//! ```toml
//! members = [
//!     "east",                                            # store `east` of this file
//!     { store = "west", weight = 2 },                    # sharded stores only
//!     { name = "scratch", store = { provider = "memory" } },   # defined inline
//! ]
//! ```

use super::{KeyError, StoreConfig};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

/// Where a member's store is defined.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MemberStore {
    /// Another store of the same file.
    Named(String),
    /// A store table written in place.
    Inline(Box<StoreConfig>),
}

/// One member of a sharded store.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ShardedMember {
    /// The member's name: what placement hashes. Renaming it moves its objects.
    pub name: String,
    /// Its relative weight (above 0).
    pub weight: f64,
    /// Its store.
    pub store: MemberStore,
}

/// One member of a replicated store.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReplicatedMember {
    /// The member's name, as errors and reports give it.
    pub name: String,
    /// Its store.
    pub store: MemberStore,
}

impl ShardedMember {
    /// Member `store` (a store of the file), named after it, weight 1.
    pub fn new(store: impl Into<String>) -> Self {
        let store = store.into();
        Self {
            name: store.clone(),
            weight: 1.0,
            store: MemberStore::Named(store),
        }
    }
}

impl ReplicatedMember {
    /// Member `store` (a store of the file), named after it.
    pub fn new(store: impl Into<String>) -> Self {
        let store = store.into();
        Self {
            name: store.clone(),
            store: MemberStore::Named(store),
        }
    }
}

/// A member table's keys, parsed by serde; [`Written`] turns it into a member.
pub(crate) trait Table: DeserializeOwned {
    type Member;
    /// Member `store` (a store of the file), named after it, with the table's defaults.
    fn named(store: String) -> Self::Member;
    /// The member, its store parsed already.
    fn member(self, name: String, store: MemberStore) -> Self::Member;
    fn store(&mut self) -> &mut WrittenStore;
    fn name(&mut self) -> Option<String>;
    fn name_of(member: &Self::Member) -> &str;
}

/// `{ store, name, weight }`: a sharded store's member table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShardedTable {
    store: WrittenStore,
    #[serde(default, deserialize_with = "non_empty")]
    name: Option<String>,
    #[serde(default = "one", deserialize_with = "weight")]
    weight: f64,
}

/// `{ store, name }`: a replicated store's member table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplicatedTable {
    store: WrittenStore,
    #[serde(default, deserialize_with = "non_empty")]
    name: Option<String>,
}

impl Table for ShardedTable {
    type Member = ShardedMember;
    fn named(store: String) -> ShardedMember {
        ShardedMember::new(store)
    }
    fn member(self, name: String, store: MemberStore) -> ShardedMember {
        ShardedMember {
            name,
            weight: self.weight,
            store,
        }
    }
    fn store(&mut self) -> &mut WrittenStore {
        &mut self.store
    }
    fn name(&mut self) -> Option<String> {
        self.name.take()
    }
    fn name_of(member: &ShardedMember) -> &str {
        &member.name
    }
}

impl Table for ReplicatedTable {
    type Member = ReplicatedMember;
    fn named(store: String) -> ReplicatedMember {
        ReplicatedMember::new(store)
    }
    fn member(self, name: String, store: MemberStore) -> ReplicatedMember {
        ReplicatedMember { name, store }
    }
    fn store(&mut self) -> &mut WrittenStore {
        &mut self.store
    }
    fn name(&mut self) -> Option<String> {
        self.name.take()
    }
    fn name_of(member: &ReplicatedMember) -> &str {
        &member.name
    }
}

fn one() -> f64 {
    1.0
}

fn weight<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let weight = f64::deserialize(deserializer)?;
    if weight.is_finite() && weight > 0.0 {
        Ok(weight)
    } else {
        Err(de::Error::custom("expected a number above 0"))
    }
}

fn non_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let name = String::deserialize(deserializer)?;
    if name.is_empty() {
        Err(de::Error::custom("expected a non-empty name"))
    } else {
        Ok(Some(name))
    }
}

/// A member's `store` as written: a store's name, or a store table (parsed with the
/// provider's own struct once serde is done: see [`members`]).
pub(crate) enum WrittenStore {
    Name(String),
    Table(serde_json::Value),
    /// Taken by [`members`].
    Taken,
}

impl<'de> Deserialize<'de> for WrittenStore {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WrittenStore;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a store name or a store table")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<WrittenStore, E> {
                Ok(WrittenStore::Name(name.to_owned()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<WrittenStore, A::Error> {
                serde_json::Value::deserialize(MapAccessDeserializer::new(map))
                    .map(WrittenStore::Table)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A member as written: a store's name, or a table of keys `T`.
pub(crate) enum Written<T> {
    Name(String),
    Table(T),
}

impl<'de, T: Table> Deserialize<'de> for Written<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Table> Visitor<'de> for V<T> {
            type Value = Written<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let keys: Vec<String> = super::keys::keys_of::<T>()
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect();
                write!(f, "a store name or a table with {}", keys.join(", "))
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Written<T>, E> {
                Ok(Written::Name(name.to_owned()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Written<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Written::Table)
            }
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

/// The members of list `list` (`members`, `previous`), their inline stores parsed:
/// names default to the store's name, an inline store needs one, no name twice, at least
/// one member.
pub(crate) fn members<T: Table>(
    list: &str,
    written: Vec<Written<T>>,
) -> Result<Vec<T::Member>, KeyError> {
    if written.is_empty() {
        return Err(KeyError::new(list, "expected at least one member"));
    }
    let mut names = HashSet::new();
    let mut members = Vec::with_capacity(written.len());
    for (i, item) in written.into_iter().enumerate() {
        let at = format!("{list}[{i}]");
        let member = match item {
            Written::Name(store) => T::named(store),
            Written::Table(mut table) => {
                let name = table.name();
                let store = match std::mem::replace(table.store(), WrittenStore::Taken) {
                    WrittenStore::Name(store) => MemberStore::Named(store),
                    WrittenStore::Table(value) => {
                        let config = StoreConfig::from_value(value).map_err(|e| {
                            KeyError::new(
                                format!("{at}.store.{}", e.key).trim_end_matches('.'),
                                e.message,
                            )
                        })?;
                        MemberStore::Inline(Box::new(config))
                    }
                    WrittenStore::Taken => unreachable!("taken once"),
                };
                let name = match (name, &store) {
                    (Some(name), _) => name,
                    (None, MemberStore::Named(store)) => store.clone(),
                    (None, MemberStore::Inline(_)) => {
                        return Err(KeyError::new(
                            format!("{at}.name"),
                            "missing; a member defined inline needs a name",
                        ))
                    }
                };
                table.member(name, store)
            }
        };
        if !names.insert(T::name_of(&member).to_owned()) {
            return Err(KeyError::new(
                at,
                format!("member `{}` appears twice", T::name_of(&member)),
            ));
        }
        members.push(member);
    }
    Ok(members)
}

impl MemberStore {
    /// Build the member's store (`name`: the member's name), a named one with `resolve`.
    pub(crate) fn build(
        &self,
        name: &str,
        resolve: &mut super::Resolve<'_>,
    ) -> Result<std::sync::Arc<dyn object_store::ObjectStore>, super::BuildError> {
        match self {
            MemberStore::Named(store) => resolve.named(store),
            MemberStore::Inline(config) => config.build_labelled(name, resolve),
        }
    }
}
