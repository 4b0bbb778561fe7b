//! [`ConfigRegistry`]: object_store's `ObjectStoreRegistry` over a [`Config`], so that
//! code resolving object URLs (DataFusion-style `s3://bucket/path`) gets the configured
//! store, with its credentials, prefix and settings.

use super::Config;
use object_store::path::Path;
use object_store::registry::ObjectStoreRegistry;
use object_store::ObjectStore;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use url::Url;

/// Resolves object URLs to the stores of a [`Config`].
///
/// A store answers for the URL its objects are under: `s3://BUCKET/PREFIX` (S3),
/// `gs://BUCKET/PREFIX` (GCS), `az://CONTAINER/PREFIX` (Azure), `file:///ROOT`
/// (local), `memory://PREFIX`. [`ObjectStoreRegistry::resolve`] takes the store whose
/// URL is the longest whole-segment prefix of the one asked for, and returns the rest as
/// the path in that store; a store is built once, on first use. Composite stores have
/// no URL: [`ObjectStoreRegistry::register`] one under a URL of your choosing (stores
/// registered take precedence over the file's).
///
/// When two stores of the file answer for the same URL (one bucket, two accounts),
/// resolving it is an error that names both.
pub struct ConfigRegistry {
    config: Config,
    /// Stores registered, and stores of the file built so far, by URL.
    stores: Mutex<BTreeMap<String, Arc<dyn ObjectStore>>>,
    /// Which stores are registered rather than from the file.
    registered: Mutex<BTreeSet<String>>,
}

impl ConfigRegistry {
    /// A registry over `config`'s stores.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            stores: Mutex::default(),
            registered: Mutex::default(),
        }
    }

    /// The file's stores with a URL, as (URL, name).
    fn urls(&self) -> Vec<(String, String)> {
        self.config
            .names()
            .filter_map(|name| {
                let url = self.config.get(name).ok()?.url()?;
                Some((url, name.to_string()))
            })
            .collect()
    }
}

impl fmt::Debug for ConfigRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigRegistry")
            .field("config", &self.config.origin())
            .finish_non_exhaustive()
    }
}

/// `url` without query and fragment, without a trailing `/`.
fn base(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.as_str().trim_end_matches('/').to_string()
}

/// The rest of `url` below `base` when `base` is a whole-segment prefix of it.
fn below<'a>(url: &'a str, base: &str) -> Option<&'a str> {
    let rest = url.strip_prefix(base)?;
    if rest.is_empty() {
        return Some("");
    }
    rest.strip_prefix('/')
}

impl ObjectStoreRegistry for ConfigRegistry {
    fn register(&self, url: Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        let key = base(&url);
        self.registered
            .lock()
            .expect("registry")
            .insert(key.clone());
        self.stores.lock().expect("registry").insert(key, store)
    }

    fn resolve(&self, url: &Url) -> object_store::Result<(Arc<dyn ObjectStore>, Path)> {
        let asked = base(url);
        let error = |message: String| object_store::Error::Generic {
            store: "ConfigRegistry",
            source: message.into(),
        };
        // Registered stores first, the longest match.
        let registered: Vec<String> = self
            .registered
            .lock()
            .expect("registry")
            .iter()
            .cloned()
            .collect();
        let mut found: Option<(String, Option<String>)> = registered
            .into_iter()
            .filter(|key| below(&asked, key).is_some())
            .max_by_key(String::len)
            .map(|key| (key, None));
        if found.is_none() {
            let mut matches: Vec<(String, String)> = self
                .urls()
                .into_iter()
                .filter(|(key, _)| below(&asked, key).is_some())
                .collect();
            matches.sort_by_key(|(key, _)| std::cmp::Reverse(key.len()));
            if let [(a, first), (b, second), ..] = matches.as_slice() {
                if a == b {
                    return Err(error(format!(
                        "{asked}: stores `{first}` and `{second}` of {} both answer for {a}",
                        self.config.origin()
                    )));
                }
            }
            found = matches
                .into_iter()
                .next()
                .map(|(key, name)| (key, Some(name)));
        }
        let Some((key, name)) = found else {
            return Err(error(format!(
                "{asked}: no store of {} answers for it (stores with a URL: {})",
                self.config.origin(),
                self.urls()
                    .iter()
                    .map(|(url, name)| format!("{name} = {url}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let rest = below(&asked, &key).expect("matched").to_string();
        let path = Path::from_url_path(&rest)?;
        let mut stores = self.stores.lock().expect("registry");
        if let Some(store) = stores.get(&key) {
            return Ok((Arc::clone(store), path));
        }
        let name = name.expect("registered stores are in the map");
        let store = self.config.open(&name).map_err(|e| error(e.to_string()))?;
        stores.insert(key, Arc::clone(&store));
        Ok((store, path))
    }
}
