//! `provider = "sharded"`: a [`ShardedStore`](crate::shard::ShardedStore) over other
//! stores.
//!
//! ```toml
//! [stores.objects]
//! provider = "sharded"
//! slot_bits = 20                                   # optional, 8 to 24
//! members = [
//!     "east",                                      # store `east` of this file, weight 1
//!     { store = "west", weight = 2 },              # weight 2
//!     { name = "scratch", store = { provider = "memory" } },   # defined inline
//! ]
//! # While a rebalance is under way: the membership objects are moving from.
//! previous = ["east", "west"]
//! ```
//!
//! A member's name is what placement hashes: renaming a member moves its objects. It
//! defaults to the store's name; an inline store needs one. To rename the store a member
//! uses (the config entry) without moving anything, keep the member's name:
//! `{ store = "eu-east", name = "east" }`. Two members, of either membership, that
//! reach one place (the same folder or bucket and prefix, or one inside the other) are
//! refused at load, whatever their names.

use super::{kind, BuildError, KeyError, Resolve, StoreConfig};
use crate::shard::{placement, Member, Rendezvous, ShardedStore};
use object_store::ObjectStore;
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

/// A sharded store's configuration.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ShardedConfig {
    /// The members objects are placed on.
    pub members: Vec<MemberConfig>,
    /// During a rebalance, the membership objects are moving from.
    pub previous: Option<Vec<MemberConfig>>,
    /// The placement's slot bits (`2^slot_bits` slots).
    pub slot_bits: u8,
}

/// One member of a sharded store.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MemberConfig {
    /// The member's name (what placement hashes).
    pub name: String,
    /// Its relative weight.
    pub weight: f64,
    /// Its store.
    pub store: MemberStore,
}

impl MemberConfig {
    /// The store this member names in `list`, with the key that names it.
    pub(crate) fn reference(&self, list: &str) -> Option<(String, &str)> {
        match &self.store {
            MemberStore::Named(store) => Some((format!("{list}.{}", self.name), store.as_str())),
            MemberStore::Inline(_) => None,
        }
    }

    /// Check an inline store's configuration.
    pub(crate) fn check_inline(&self) -> Result<(), KeyError> {
        match &self.store {
            MemberStore::Inline(store) => store.check().map_err(|e| {
                KeyError::new(format!("members.{}.store.{}", self.name, e.key), e.message)
            }),
            MemberStore::Named(_) => Ok(()),
        }
    }

    /// Build the member's store, a named one with `resolve`.
    pub(crate) fn build(
        &self,
        resolve: &mut Resolve<'_>,
    ) -> Result<Arc<dyn ObjectStore>, BuildError> {
        match &self.store {
            MemberStore::Named(name) => resolve(name),
            MemberStore::Inline(config) => config.build_with(resolve),
        }
    }
}

/// Where a member's store is defined.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MemberStore {
    /// Another store of the same file.
    Named(String),
    /// A store table written in place.
    Inline(Box<StoreConfig>),
}

impl ShardedConfig {
    /// The placement the members describe.
    pub fn placement(&self) -> Result<Rendezvous, crate::shard::PlacementError> {
        Rendezvous::with_slot_bits(members(&self.members), self.slot_bits)
    }

    /// The previous placement, during a rebalance.
    pub fn previous_placement(&self) -> Option<Result<Rendezvous, crate::shard::PlacementError>> {
        let previous = self.previous.as_ref()?;
        Some(Rendezvous::with_slot_bits(
            members(previous),
            self.slot_bits,
        ))
    }

    /// The other stores of the file this one names, each with the key that names it.
    pub(crate) fn references(&self) -> impl Iterator<Item = (String, &str)> {
        let current = self.members.iter().map(|m| ("members", m));
        let previous = self.previous.iter().flatten().map(|m| ("previous", m));
        current
            .chain(previous)
            .filter_map(|(list, m)| m.reference(list))
    }

    /// Check a configuration made in code (a loaded one is checked already).
    pub(crate) fn validate(&self) -> Result<(), KeyError> {
        self.placement()
            .map_err(|e| KeyError::new("members", e.to_string()))?;
        if let Some(previous) = self.previous_placement() {
            previous.map_err(|e| KeyError::new("previous", e.to_string()))?;
        }
        self.members
            .iter()
            .chain(self.previous.iter().flatten())
            .try_for_each(MemberConfig::check_inline)
    }

    /// Build the sharded store, its named members built by `resolve`.
    pub(crate) fn build_with(&self, resolve: &mut Resolve<'_>) -> Result<ShardedStore, BuildError> {
        let mut stores: Vec<(String, Arc<dyn ObjectStore>)> = Vec::new();
        for member in self.members.iter().chain(self.previous.iter().flatten()) {
            if stores.iter().any(|(name, _)| *name == member.name) {
                continue; // in both memberships: one store
            }
            stores.push((member.name.clone(), member.build(resolve)?));
        }
        let placement = self
            .placement()
            .map_err(|e| KeyError::new("members", e.to_string()))?;
        let (current, rest): (Vec<_>, Vec<_>) = stores
            .into_iter()
            .partition(|(name, _)| self.members.iter().any(|m| m.name == *name));
        let store = ShardedStore::new(placement, current)?;
        match self.previous_placement() {
            None => Ok(store),
            Some(previous) => {
                let previous = previous.map_err(|e| KeyError::new("previous", e.to_string()))?;
                Ok(store.with_previous(previous, rest)?)
            }
        }
    }

    /// Parse the store's table (without `provider`).
    pub(crate) fn from_table(
        mut table: serde_json::Map<String, Value>,
        base: Option<&Path>,
    ) -> Result<Self, KeyError> {
        let slot_bits = match table.remove("slot_bits") {
            None => placement::DEFAULT_SLOT_BITS,
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u8::try_from(n).ok())
                .filter(|n| placement::SLOT_BITS.contains(n))
                .ok_or_else(|| KeyError::new("slot_bits", slot_bits_expected()))?,
            Some(other) => {
                return Err(KeyError::new(
                    "slot_bits",
                    format!("{}, found {}", slot_bits_expected(), kind(&other)),
                ))
            }
        };
        let members = match table.remove("members") {
            Some(value) => member_list("members", value, base, true)?,
            None => {
                return Err(KeyError::new(
                    "members",
                    "missing; expected a list of store names or { store, weight, name } tables",
                ))
            }
        };
        let previous = table
            .remove("previous")
            .map(|value| member_list("previous", value, base, true))
            .transpose()?;
        if let Some(key) = table.keys().next() {
            return Err(KeyError::new(
                key.as_str(),
                "unknown key; a sharded store takes `members`, `previous` and `slot_bits`",
            ));
        }
        let config = Self {
            members,
            previous,
            slot_bits,
        };
        config.validate()?;
        // One name, one store: a member in both lists must be the same store.
        for old in config.previous.iter().flatten() {
            if let Some(new) = config.members.iter().find(|m| m.name == old.name) {
                if new.store != old.store {
                    return Err(KeyError::new(
                        format!("previous.{}", old.name),
                        "names a different store than the member of the same name in \
                         `members`; a member is its name, so both must be the same store",
                    ));
                }
            }
        }
        Ok(config)
    }
}

fn members(list: &[MemberConfig]) -> Vec<Member> {
    list.iter()
        .map(|m| Member::weighted(m.name.clone(), m.weight))
        .collect()
}

fn slot_bits_expected() -> String {
    format!(
        "expected an integer from {} to {}",
        placement::SLOT_BITS.start(),
        placement::SLOT_BITS.end()
    )
}

/// Parse a list of members (`weighted`: whether `weight` is a key of a member table).
pub(crate) fn member_list(
    key: &str,
    value: Value,
    base: Option<&Path>,
    weighted: bool,
) -> Result<Vec<MemberConfig>, KeyError> {
    let Value::Array(items) = value else {
        return Err(KeyError::new(
            key,
            format!("expected a list of members, found {}", kind(&value)),
        ));
    };
    let mut names = HashSet::new();
    let mut list = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("{key}[{i}]");
        let member = member(&at, item, base, weighted)?;
        if !names.insert(member.name.clone()) {
            return Err(KeyError::new(
                at,
                format!("member `{}` appears twice", member.name),
            ));
        }
        list.push(member);
    }
    if list.is_empty() {
        return Err(KeyError::new(key, "expected at least one member"));
    }
    Ok(list)
}

fn member(
    at: &str,
    value: Value,
    base: Option<&Path>,
    weighted: bool,
) -> Result<MemberConfig, KeyError> {
    let keys = if weighted {
        "`store`, `weight` and `name`"
    } else {
        "`store` and `name`"
    };
    let mut table = match value {
        Value::String(store) => {
            return Ok(MemberConfig {
                name: store.clone(),
                weight: 1.0,
                store: MemberStore::Named(store),
            })
        }
        Value::Object(table) => table,
        other => {
            return Err(KeyError::new(
                at,
                format!(
                    "expected a store name or a table with {keys}, found {}",
                    kind(&other)
                ),
            ))
        }
    };
    // Without weights, a `weight` key stays in the table and is refused as unknown.
    let weight = match weighted.then(|| table.remove("weight")).flatten() {
        None => 1.0,
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|w| w.is_finite() && *w > 0.0)
            .ok_or_else(|| KeyError::new(format!("{at}.weight"), "expected a number above 0"))?,
        Some(other) => {
            return Err(KeyError::new(
                format!("{at}.weight"),
                format!("expected a number above 0, found {}", kind(&other)),
            ))
        }
    };
    let name = match table.remove("name") {
        None => None,
        Some(Value::String(name)) if !name.is_empty() => Some(name),
        Some(other) => {
            return Err(KeyError::new(
                format!("{at}.name"),
                format!("expected a non-empty string, found {}", kind(&other)),
            ))
        }
    };
    let store = match table.remove("store") {
        Some(Value::String(store)) => MemberStore::Named(store),
        Some(inline @ Value::Object(_)) => {
            let config = StoreConfig::from_value(inline, base).map_err(|e| {
                KeyError::new(
                    format!("{at}.store.{}", e.key).trim_end_matches('.'),
                    e.message,
                )
            })?;
            MemberStore::Inline(Box::new(config))
        }
        Some(other) => {
            return Err(KeyError::new(
                format!("{at}.store"),
                format!(
                    "expected a store name or a store table, found {}",
                    kind(&other)
                ),
            ))
        }
        None => {
            return Err(KeyError::new(
                format!("{at}.store"),
                "missing; expected a store name or a store table",
            ))
        }
    };
    if let Some(key) = table.keys().next() {
        return Err(KeyError::new(
            format!("{at}.{key}"),
            format!("unknown key; a member takes {keys}"),
        ));
    }
    let name = match (name, &store) {
        (Some(name), _) => name,
        (None, MemberStore::Named(store)) => store.clone(),
        (None, MemberStore::Inline(_)) => {
            return Err(KeyError::new(
                format!("{at}.name"),
                "missing; a member defined inline needs a name (placement hashes it)",
            ))
        }
    };
    Ok(MemberConfig {
        name,
        weight,
        store,
    })
}
