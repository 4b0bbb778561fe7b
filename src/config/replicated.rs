//! `provider = "replicated"`: a [`ReplicatedStore`] over other stores.
//!
//! ```toml
//! [stores.safe]
//! provider = "replicated"
//! members = ["aws", "azure", { name = "nas", store = { provider = "local", root = "/srv/nas" } }]
//! write = { quorum = 2 }            # or "all" (the default)
//! read = { hedged_after_ms = 50 }   # or "ordered" (the default)
//! list = "first"                    # or "merged"
//! ```
//!
//! The first member is the primary (it decides conditional writes, and reads start there).

use super::sharded::{member_list, MemberConfig};
use super::{kind, BuildError, KeyError, Resolve};
use crate::replicate::{ListPolicy, ReadPolicy, ReplicatedStore, WritePolicy};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// A replicated store's configuration.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReplicatedConfig {
    /// The members, the primary first.
    pub members: Vec<MemberConfig>,
    /// When a write is acknowledged.
    pub write: WritePolicy,
    /// Where reads go.
    pub read: ReadPolicy,
    /// Where listings come from.
    pub list: ListPolicy,
}

impl ReplicatedConfig {
    /// Parse the store's table (without `provider`).
    pub(crate) fn from_table(
        mut table: serde_json::Map<String, Value>,
        base: Option<&Path>,
    ) -> Result<Self, KeyError> {
        let members = match table.remove("members") {
            Some(value) => member_list("members", value, base, false)?,
            None => {
                return Err(KeyError::new(
                    "members",
                    "missing; expected a list of store names or { store, name } tables",
                ))
            }
        };
        let write = match table.remove("write") {
            None => WritePolicy::All,
            Some(Value::String(s)) if s == "all" => WritePolicy::All,
            Some(Value::Object(mut t)) if t.len() == 1 && t.contains_key("quorum") => {
                let q = t.remove("quorum").expect("checked");
                let q = q
                    .as_u64()
                    .and_then(|q| usize::try_from(q).ok())
                    .filter(|q| (1..=members.len()).contains(q))
                    .ok_or_else(|| {
                        KeyError::new(
                            "write.quorum",
                            format!(
                                "expected an integer from 1 to {} (the number of members)",
                                members.len()
                            ),
                        )
                    })?;
                WritePolicy::Quorum(q)
            }
            Some(other) => {
                return Err(KeyError::new(
                    "write",
                    format!(
                        "expected \"all\" or {{ quorum = N }}, found {}",
                        describe(&other)
                    ),
                ))
            }
        };
        let read = match table.remove("read") {
            None => ReadPolicy::Ordered,
            Some(Value::String(s)) if s == "ordered" => ReadPolicy::Ordered,
            Some(Value::Object(mut t)) if t.len() == 1 && t.contains_key("hedged_after_ms") => {
                let ms = t
                    .remove("hedged_after_ms")
                    .expect("checked")
                    .as_u64()
                    .ok_or_else(|| {
                        KeyError::new(
                            "read.hedged_after_ms",
                            "expected a whole number of milliseconds",
                        )
                    })?;
                ReadPolicy::Hedged(Duration::from_millis(ms))
            }
            Some(other) => {
                return Err(KeyError::new(
                    "read",
                    format!(
                        "expected \"ordered\" or {{ hedged_after_ms = N }}, found {}",
                        describe(&other)
                    ),
                ))
            }
        };
        let list = match table.remove("list") {
            None => ListPolicy::First,
            Some(Value::String(s)) if s == "first" => ListPolicy::First,
            Some(Value::String(s)) if s == "merged" => ListPolicy::Merged,
            Some(other) => {
                return Err(KeyError::new(
                    "list",
                    format!(
                        "expected \"first\" or \"merged\", found {}",
                        describe(&other)
                    ),
                ))
            }
        };
        if let Some(key) = table.keys().next() {
            return Err(KeyError::new(
                key.as_str(),
                "unknown key; a replicated store takes `members`, `write`, `read` and `list`",
            ));
        }
        Ok(Self {
            members,
            write,
            read,
            list,
        })
    }

    /// The other stores of the file this one names, each with the key that names it.
    pub(crate) fn references(&self) -> impl Iterator<Item = (String, &str)> {
        self.members.iter().filter_map(|m| m.reference("members"))
    }

    /// Check a configuration made in code (a loaded one is checked already).
    pub(crate) fn validate(&self) -> Result<(), KeyError> {
        if self.members.is_empty() {
            return Err(KeyError::new("members", "expected at least one member"));
        }
        if let WritePolicy::Quorum(q) = self.write {
            if q == 0 || q > self.members.len() {
                return Err(KeyError::new(
                    "write.quorum",
                    format!("expected 1 to {}", self.members.len()),
                ));
            }
        }
        self.members.iter().try_for_each(MemberConfig::check_inline)
    }

    /// Build the replicated store, its named members built by `resolve`.
    pub(crate) fn build_with(
        &self,
        resolve: &mut Resolve<'_>,
    ) -> Result<ReplicatedStore, BuildError> {
        let mut stores = Vec::with_capacity(self.members.len());
        for member in &self.members {
            stores.push((member.name.clone(), member.build(resolve)?));
        }
        Ok(ReplicatedStore::new(stores)?
            .with_write(self.write)?
            .with_read(self.read)
            .with_listing(self.list))
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("\"{s}\""),
        Value::Object(t) => {
            let keys: Vec<_> = t.keys().map(String::as_str).collect();
            format!("a table with {}", keys.join(", "))
        }
        other => kind(other).to_string(),
    }
}
