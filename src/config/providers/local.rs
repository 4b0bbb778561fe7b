//! `provider = "local"`: a folder on the local filesystem.

use super::{Registration, Provider, UrlForm};
use crate::config::place::Place;
use crate::config::{BuildError, KeyError, Resolve};
use crate::layer::KeyOrderedStore;
use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

pub(super) static ENTRY: Registration = Registration {
    name: "local",
    schemes: &["file"],
    url: UrlForm::Root("root"),
    feature: None,
    composite: false,
    credentials: false,
    parse: super::parse_as::<LocalConfig>,
    keys: super::keys_of::<LocalConfig>,
};

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
    /// A configuration for the folder `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            prefix: None,
            create_root: false,
        }
    }
}

impl Provider for LocalConfig {
    fn key_ranges(&self) -> bool {
        false
    }

    fn entry(&self) -> &'static Registration {
        &ENTRY
    }

    fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    fn resolve_paths(&mut self, base: &std::path::Path) {
        self.root = crate::config::resolve_path(base, &self.root);
    }

    /// The folder as a `file://` URL, as written (relative to the config file's folder).
    fn url_base(&self) -> Option<String> {
        let root = self.root.to_string_lossy();
        Some(format!("file://{}", root.trim_end_matches('/')))
    }

    /// The folder with symlinks and `..` resolved where it exists, made absolute (against
    /// the working folder) where it does not yet.
    fn place(&self, _: &str) -> Option<Place> {
        let root = std::fs::canonicalize(&self.root)
            .or_else(|_| std::path::absolute(&self.root))
            .unwrap_or_else(|_| self.root.clone());
        Some(Place::new("local folder", &root.to_string_lossy()))
    }

    fn build(&self, _label: &str, _: &mut Resolve<'_>) -> Result<Arc<dyn ObjectStore>, BuildError> {
        if self.create_root {
            std::fs::create_dir_all(&self.root).map_err(|e| {
                KeyError::new(
                    "root",
                    format!("cannot create `{}`: {e}", self.root.display()),
                )
            })?;
        } else if !self.root.is_dir() {
            return Err(KeyError::new(
                "root",
                format!(
                    "`{}` is not an existing folder (create it, or set `create_root = true`)",
                    self.root.display()
                ),
            )
            .into());
        }
        // object_store's local store lists in directory order; stratus's stores all list
        // in key order (see `crate::layer::KeyOrderedStore`).
        Ok(KeyOrderedStore::wrap(
            Arc::new(LocalFileSystem::new_with_prefix(&self.root)?),
            Some(self.root.as_path()),
        ))
    }
}
