//! `provider = "replicated"`: a [`ReplicatedStore`] over other stores.
//!
//! ```toml
//! [stores.safe]
//! provider = "replicated"
//! members = ["aws", "azure", { name = "nas", store = { provider = "local", root = "/srv/nas" } }]
//! write = { quorum = 2 }            # or "all" (the default)
//! read = { hedged_after_ms = 50 }   # or "ordered" (the default)
//! list = "first"                    # or "merged"
//! journal = "state/safe.journal"    # optional: what members missed, kept across restarts
//! member_timeout_ms = 2000          # optional: a member call taking longer counts as failed
//! breaker = { failures = 5, open_for_ms = 30000 }   # optional: skip a member that keeps failing
//! ```
//!
//! The first member is the primary (it decides conditional writes, and reads start there).

use super::{Registration, MemberRef, Provider, ProviderConfig, UrlForm};
use crate::config::member::{members, MemberStore, ReplicatedMember, ReplicatedTable, Written};
use crate::config::place::Place;
use crate::config::{BuildError, KeyError, Resolve};
use crate::replicate::{Breaker, ListPolicy, ReadPolicy, ReplicatedStore, WritePolicy};
use object_store::ObjectStore;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub(super) static ENTRY: Registration = Registration {
    name: "replicated",
    schemes: &[],
    url: UrlForm::None,
    feature: None,
    composite: true,
    credentials: false,
    parse,
    keys: super::keys_of::<Table>,
};

/// A replicated store's configuration.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReplicatedConfig {
    /// The members, the primary first.
    pub members: Vec<ReplicatedMember>,
    /// When a write is acknowledged.
    pub write: WritePolicy,
    /// Where reads go.
    pub read: ReadPolicy,
    /// Where listings come from.
    pub list: ListPolicy,
    /// The journal file that keeps what members missed across restarts
    /// ([`ReplicatedStore::with_journal`]); relative to the config file's folder.
    pub journal: Option<PathBuf>,
    /// How long a member call may take before it counts as failed.
    pub member_timeout: Option<Duration>,
    /// When a member that keeps failing is skipped.
    pub breaker: Option<Breaker>,
}

/// The table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    members: Vec<Written<ReplicatedTable>>,
    #[serde(default)]
    write: Option<Write>,
    #[serde(default)]
    read: Option<Read>,
    #[serde(default)]
    list: Option<List>,
    #[serde(default)]
    journal: Option<PathBuf>,
    #[serde(default)]
    member_timeout_ms: Option<u64>,
    #[serde(default)]
    breaker: Option<BreakerTable>,
}

/// `breaker = { failures = N, open_for_ms = M }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BreakerTable {
    failures: u32,
    open_for_ms: u64,
}

/// `write = "all"` or `write = { quorum = N }`.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Write {
    All,
    Quorum(usize),
}

/// `read = "ordered"` or `read = { hedged_after_ms = N }`.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Read {
    Ordered,
    HedgedAfterMs(u64),
}

/// `list = "first"` or `list = "merged"`.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum List {
    First,
    Merged,
}

fn parse(value: serde_json::Value) -> Result<ProviderConfig, KeyError> {
    let table: Table = crate::config::deserialize(value)?;
    if table.breaker.as_ref().is_some_and(|b| b.failures == 0) {
        return Err(KeyError::new("breaker.failures", "expected at least 1"));
    }
    let config = ReplicatedConfig {
        members: members("members", table.members)?,
        write: match table.write {
            None | Some(Write::All) => WritePolicy::All,
            Some(Write::Quorum(q)) => WritePolicy::Quorum(q),
        },
        read: match table.read {
            None | Some(Read::Ordered) => ReadPolicy::Ordered,
            Some(Read::HedgedAfterMs(ms)) => ReadPolicy::Hedged(Duration::from_millis(ms)),
        },
        list: match table.list {
            None | Some(List::First) => ListPolicy::First,
            Some(List::Merged) => ListPolicy::Merged,
        },
        journal: table.journal,
        member_timeout: table.member_timeout_ms.map(Duration::from_millis),
        breaker: table
            .breaker
            .map(|b| Breaker::new(b.failures, Duration::from_millis(b.open_for_ms))),
    };
    Ok(config.into())
}

impl ReplicatedConfig {
    /// Members `stores` (stores of the file, the primary first), with the default
    /// policies: writes to all, ordered reads, listings from the first member.
    pub fn new<S: Into<String>>(stores: impl IntoIterator<Item = S>) -> Self {
        Self {
            members: stores.into_iter().map(ReplicatedMember::new).collect(),
            write: WritePolicy::All,
            read: ReadPolicy::Ordered,
            list: ListPolicy::First,
            journal: None,
            member_timeout: None,
            breaker: None,
        }
    }

    /// Build the replicated store, its named members built by `resolve`.
    pub(crate) fn build_with(
        &self,
        resolve: &mut Resolve<'_>,
    ) -> Result<ReplicatedStore, BuildError> {
        let mut stores = Vec::with_capacity(self.members.len());
        for member in &self.members {
            stores.push((member.name.clone(), member.store.build(&member.name, resolve)?));
        }
        let mut store = ReplicatedStore::new(stores)?
            .with_write(self.write)?
            .with_read(self.read)
            .with_listing(self.list);
        if let Some(timeout) = self.member_timeout {
            store = store.with_member_timeout(timeout);
        }
        if let Some(breaker) = self.breaker {
            store = store.with_breaker(breaker);
        }
        match &self.journal {
            Some(path) => Ok(store.with_journal(path).map_err(|e| match e {
                crate::Error::Composition { message, .. } => KeyError::new("journal", message),
                other => KeyError::new("journal", other.to_string()),
            })?),
            None => Ok(store),
        }
    }
}

impl Provider for ReplicatedConfig {
    fn key_ranges(&self) -> bool {
        false
    }

    fn entry(&self) -> &'static Registration {
        &ENTRY
    }

    fn validate(&self) -> Result<(), KeyError> {
        if self.members.is_empty() {
            return Err(KeyError::new("members", "expected at least one member"));
        }
        if self.member_timeout.is_some_and(|t| t.is_zero()) {
            return Err(KeyError::new("member_timeout_ms", "expected more than 0"));
        }
        if let Some(breaker) = &self.breaker {
            if breaker.failures == 0 || breaker.open_for.is_zero() {
                return Err(KeyError::new(
                    "breaker",
                    "expected failures of at least 1 and open_for_ms above 0",
                ));
            }
        }
        if let WritePolicy::Quorum(q) = self.write {
            if q == 0 || q > self.members.len() {
                return Err(KeyError::new(
                    "write.quorum",
                    format!(
                        "expected an integer from 1 to {} (the number of members)",
                        self.members.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn resolve_paths(&mut self, base: &std::path::Path) {
        if let Some(journal) = &mut self.journal {
            *journal = base.join(&*journal);
        }
    }

    fn place(&self, _: &str) -> Option<Place> {
        None
    }

    fn members(&self) -> Vec<MemberRef<'_>> {
        self.members
            .iter()
            .enumerate()
            .map(|(index, m)| MemberRef {
                list: "members",
                index,
                name: &m.name,
                store: &m.store,
            })
            .collect()
    }

    fn members_mut(&mut self) -> Vec<&mut MemberStore> {
        self.members.iter_mut().map(|m| &mut m.store).collect()
    }

    fn build(
        &self,
        _label: &str,
        resolve: &mut Resolve<'_>,
    ) -> Result<Arc<dyn ObjectStore>, BuildError> {
        Ok(Arc::new(self.build_with(resolve)?))
    }
}
