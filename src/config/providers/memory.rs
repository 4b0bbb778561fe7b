//! `provider = "memory"`: a store in this process's memory.

use super::{Registration, Provider, UrlForm};
use crate::config::place::Place;
use crate::config::{BuildError, Resolve};
use object_store::memory::InMemory;
use object_store::ObjectStore;
use serde::Deserialize;
use std::sync::Arc;

pub(super) static ENTRY: Registration = Registration {
    name: "memory",
    schemes: &["memory"],
    url: UrlForm::Prefix,
    feature: None,
    composite: false,
    credentials: false,
    parse: super::parse_as::<MemoryConfig>,
    keys: super::keys_of::<MemoryConfig>,
};

/// A store in this process's memory: for tests and examples. Each build is a new, empty
/// store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MemoryConfig {
    /// Key prefix that scopes the store.
    #[serde(default)]
    pub prefix: Option<String>,
}

impl Provider for MemoryConfig {
    fn entry(&self) -> &'static Registration {
        &ENTRY
    }

    fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    /// Each memory store is its own place.
    fn url_base(&self) -> Option<String> {
        Some("memory://".into())
    }

    fn place(&self, id: &str) -> Option<Place> {
        Some(Place::new(format!("memory store `{id}`"), ""))
    }

    fn build(&self, _label: &str, _: &mut Resolve<'_>) -> Result<Arc<dyn ObjectStore>, BuildError> {
        Ok(Arc::new(InMemory::new()))
    }
}
