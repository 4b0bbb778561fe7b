//! `provider = "sharded"`: a [`ShardedStore`] over other stores.
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

use super::{Registration, MemberRef, Provider, ProviderConfig, UrlForm};
use crate::config::member::{members, MemberStore, ShardedMember, ShardedTable, Written};
use crate::config::place::Place;
use crate::config::{BuildError, KeyError, Resolve};
use crate::shard::{Member, Rendezvous, ShardedStore, SLOT_BITS};
use object_store::ObjectStore;
use serde::Deserialize;
use std::sync::Arc;

pub(super) static ENTRY: Registration = Registration {
    name: "sharded",
    schemes: &[],
    url: UrlForm::None,
    feature: None,
    composite: true,
    credentials: false,
    parse,
    keys: super::keys_of::<Table>,
};

/// A sharded store's configuration.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ShardedConfig {
    /// The members objects are placed on.
    pub members: Vec<ShardedMember>,
    /// During a rebalance, the membership objects are moving from.
    pub previous: Option<Vec<ShardedMember>>,
    /// The placement's slot bits (`2^slot_bits` slots, 8 to 24).
    pub slot_bits: u8,
}

/// The table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    members: Vec<Written<ShardedTable>>,
    #[serde(default)]
    previous: Option<Vec<Written<ShardedTable>>>,
    #[serde(default)]
    slot_bits: Option<u64>,
}

fn parse(value: serde_json::Value) -> Result<ProviderConfig, KeyError> {
    let table: Table = crate::config::deserialize(value)?;
    let slot_bits = match table.slot_bits {
        None => crate::shard::DEFAULT_SLOT_BITS,
        Some(bits) => u8::try_from(bits)
            .ok()
            .filter(|bits| SLOT_BITS.contains(bits))
            .ok_or_else(|| {
                KeyError::new(
                    "slot_bits",
                    format!(
                        "expected an integer from {} to {}",
                        SLOT_BITS.start(),
                        SLOT_BITS.end()
                    ),
                )
            })?,
    };
    let config = ShardedConfig {
        members: members("members", table.members)?,
        previous: table
            .previous
            .map(|previous| members("previous", previous))
            .transpose()?,
        slot_bits,
    };
    // One name, one store: a member in both lists must be the same store.
    for (i, old) in config.previous.iter().flatten().enumerate() {
        if let Some(new) = config.members.iter().find(|m| m.name == old.name) {
            if new.store != old.store {
                return Err(KeyError::new(
                    format!("previous[{i}]"),
                    "names a different store than the member of the same name in \
                     `members`; a member is its name, so both must be the same store",
                ));
            }
        }
    }
    Ok(config.into())
}

impl ShardedConfig {
    /// Members `stores` (stores of the file), weight 1 each, default slot bits.
    pub fn new<S: Into<String>>(stores: impl IntoIterator<Item = S>) -> Self {
        Self {
            members: stores.into_iter().map(ShardedMember::new).collect(),
            previous: None,
            slot_bits: crate::shard::DEFAULT_SLOT_BITS,
        }
    }

    /// The placement the members describe.
    pub fn placement(&self) -> crate::Result<Rendezvous> {
        Rendezvous::with_slot_bits(weighted(&self.members), self.slot_bits)
    }

    /// The previous placement, during a rebalance.
    pub fn previous_placement(&self) -> Option<crate::Result<Rendezvous>> {
        let previous = self.previous.as_ref()?;
        Some(Rendezvous::with_slot_bits(weighted(previous), self.slot_bits))
    }

    /// Build the sharded store, its named members built by `resolve`.
    pub(crate) fn build_with(&self, resolve: &mut Resolve<'_>) -> Result<ShardedStore, BuildError> {
        let mut stores: Vec<(String, Arc<dyn ObjectStore>)> = Vec::new();
        for member in self.members.iter().chain(self.previous.iter().flatten()) {
            if stores.iter().any(|(name, _)| *name == member.name) {
                continue; // in both memberships: one store
            }
            stores.push((member.name.clone(), member.store.build(&member.name, resolve)?));
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
}

impl Provider for ShardedConfig {
    fn key_ranges(&self) -> bool {
        false
    }

    fn entry(&self) -> &'static Registration {
        &ENTRY
    }

    /// The placements (weights, slot bits) of both memberships.
    fn validate(&self) -> Result<(), KeyError> {
        if !SLOT_BITS.contains(&self.slot_bits) {
            return Err(KeyError::new(
                "slot_bits",
                format!(
                    "expected {} to {}",
                    SLOT_BITS.start(),
                    SLOT_BITS.end()
                ),
            ));
        }
        self.placement()
            .map_err(|e| KeyError::new("members", e.to_string()))?;
        if let Some(previous) = self.previous_placement() {
            previous.map_err(|e| KeyError::new("previous", e.to_string()))?;
        }
        Ok(())
    }

    fn place(&self, _: &str) -> Option<Place> {
        None
    }

    fn members(&self) -> Vec<MemberRef<'_>> {
        let current = self.members.iter().enumerate().map(|m| ("members", m));
        let previous = (self.previous.iter().flatten().enumerate()).map(|m| ("previous", m));
        current
            .chain(previous)
            .map(|(list, (index, m))| MemberRef {
                list,
                index,
                name: &m.name,
                store: &m.store,
            })
            .collect()
    }

    fn members_mut(&mut self) -> Vec<&mut MemberStore> {
        let previous = self.previous.iter_mut().flatten();
        self.members
            .iter_mut()
            .chain(previous)
            .map(|m| &mut m.store)
            .collect()
    }

    fn build(
        &self,
        _label: &str,
        resolve: &mut Resolve<'_>,
    ) -> Result<Arc<dyn ObjectStore>, BuildError> {
        Ok(Arc::new(self.build_with(resolve)?))
    }
}

fn weighted(list: &[ShardedMember]) -> Vec<Member> {
    list.iter()
        .map(|m| Member::weighted(m.name.clone(), m.weight))
        .collect()
}
