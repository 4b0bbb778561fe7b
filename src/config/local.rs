//! `provider = "local"` and `provider = "memory"`.

use super::{BuildError, KeyError};
use crate::ordered::KeyOrdered;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::ObjectStore;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// A folder on the local filesystem.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LocalConfig {
    /// The folder that is the store's root. In a config file, a relative path is relative
    /// to the file's folder, not to the process's working directory.
    pub root: PathBuf,
    /// Key prefix that scopes the store.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Create `root` (and its parents) if it does not exist; otherwise a missing root is
    /// an error.
    #[serde(default)]
    pub create_root: bool,
}

impl LocalConfig {
    /// Where the store points (for [`super::place`]): the folder with symlinks and `..`
    /// resolved where it exists, as written where it does not yet.
    pub(crate) fn place(&self) -> super::place::Place {
        let root = std::fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        super::place::Place::new("local folder", &root.to_string_lossy())
    }

    /// A configuration for the folder `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            prefix: None,
            create_root: false,
        }
    }

    pub(crate) fn resolve_paths(&mut self, base: &std::path::Path) {
        self.root = base.join(&self.root);
    }

    pub(crate) fn build(&self) -> Result<Arc<dyn ObjectStore>, BuildError> {
        if self.create_root {
            std::fs::create_dir_all(&self.root).map_err(|e| {
                KeyError::new(
                    "root",
                    format!("cannot create {}: {e}", self.root.display()),
                )
            })?;
        } else if !self.root.is_dir() {
            return Err(KeyError::new(
                "root",
                format!(
                    "{} is not an existing folder (create it, or set `create_root = true`)",
                    self.root.display()
                ),
            )
            .into());
        }
        // object_store's local store lists in directory order; stratus's stores all list
        // in key order (see `crate::ordered`).
        Ok(KeyOrdered::wrap(
            Arc::new(LocalFileSystem::new_with_prefix(&self.root)?),
            Some(self.root.as_path()),
        ))
    }
}

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

impl MemoryConfig {
    /// Where the store points (for [`super::place`]): each memory store is its own.
    pub(crate) fn place(&self, id: &str) -> super::place::Place {
        super::place::Place::new(format!("memory store `{id}`"), "")
    }

    pub(crate) fn build(&self) -> Arc<dyn ObjectStore> {
        Arc::new(InMemory::new())
    }
}
