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
/// URLs are compared decoded, segment by segment: `s3://b/team%20reports/q3.csv` is
/// `q3.csv` in the store whose prefix is `team reports`, and `s3://b/caf%C3%A9/menu`
/// (or `s3://b/café/menu`) `menu` in the one whose prefix is `café`.
///
/// When two stores of the file answer for the same URL (one bucket, two accounts),
/// resolving it is an error that names both.
pub struct ConfigRegistry {
    config: Config,
    /// Stores registered, and stores of the file built so far, by where they are.
    stores: Mutex<BTreeMap<Location, Arc<dyn ObjectStore>>>,
    /// Which stores are registered rather than from the file.
    registered: Mutex<BTreeSet<Location>>,
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

/// Where a URL points, in the one form both sides are compared in: `scheme://host`, and
/// the path decoded into segments (as [`Path::from_url_path`] reads it).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Location {
    /// `s3://bucket`, `file://`: the scheme and the host, as written.
    base: String,
    /// The decoded path: `team reports/q3.csv`, `café/menu`.
    path: Path,
}

impl Location {
    /// A URL asked for or registered: its path is percent-decoded; query and fragment
    /// are not part of it.
    fn of_url(url: &Url) -> object_store::Result<Self> {
        Ok(Self {
            base: format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default()),
            path: Path::from_url_path(url.path())?,
        })
    }

    /// A store of the file, from its [`StoreConfig::url`](super::StoreConfig): written
    /// raw (`s3://b/team reports`, `file:///srv/café`), nothing to decode. `None` when
    /// the path cannot be a URL's (a `..` segment).
    fn configured(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let segments: Vec<&str> = path
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        Some(Self {
            base: format!("{scheme}://{host}"),
            path: Path::parse(segments.join("/")).ok()?,
        })
    }

    /// The rest of `self` below `prefix`, when `prefix` is `self` or a whole-segment
    /// prefix of it.
    fn below(&self, prefix: &Self) -> Option<Path> {
        if self.base != prefix.base {
            return None;
        }
        Some(self.path.prefix_match(&prefix.path)?.collect())
    }

    /// Segments in the path: the longer match is the deeper one.
    fn depth(&self) -> usize {
        self.path.parts().count()
    }
}

/// `url` without query and fragment, without a trailing `/`: how errors name it (a
/// query may carry credentials).
fn shown(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.as_str().trim_end_matches('/').to_string()
}

impl ObjectStoreRegistry for ConfigRegistry {
    fn register(&self, url: Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        // A path that no URL resolves to (an empty segment) keeps its encoded form: the
        // store is held, and answers for nothing.
        let at = Location::of_url(&url).unwrap_or_else(|_| Location {
            base: format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default()),
            path: Path::from(url.path()),
        });
        self.registered.lock().expect("registry").insert(at.clone());
        self.stores.lock().expect("registry").insert(at, store)
    }

    fn resolve(&self, url: &Url) -> object_store::Result<(Arc<dyn ObjectStore>, Path)> {
        let named = shown(url);
        let asked = Location::of_url(url)?;
        let error = |message: String| object_store::Error::Generic {
            store: "ConfigRegistry",
            source: message.into(),
        };
        // Registered stores first, the longest match.
        let registered: Vec<Location> = self
            .registered
            .lock()
            .expect("registry")
            .iter()
            .cloned()
            .collect();
        let mut found: Option<(Location, Option<String>)> = registered
            .into_iter()
            .filter(|at| asked.below(at).is_some())
            .max_by_key(Location::depth)
            .map(|at| (at, None));
        if found.is_none() {
            let mut matches: Vec<(Location, String, String)> = self
                .urls()
                .into_iter()
                .filter_map(|(url, name)| Some((Location::configured(&url)?, url, name)))
                .filter(|(at, _, _)| asked.below(at).is_some())
                .collect();
            matches.sort_by_key(|(at, _, _)| std::cmp::Reverse(at.depth()));
            if let [(a, url, first), (b, _, second), ..] = matches.as_slice() {
                if a == b {
                    return Err(error(format!(
                        "{named}: stores `{first}` and `{second}` of {} both answer for {url}",
                        self.config.origin()
                    )));
                }
            }
            found = matches
                .into_iter()
                .next()
                .map(|(at, _, name)| (at, Some(name)));
        }
        let Some((at, name)) = found else {
            return Err(error(format!(
                "{named}: no store of {} answers for it (stores with a URL: {})",
                self.config.origin(),
                self.urls()
                    .iter()
                    .map(|(url, name)| format!("{name} = {url}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let path = asked.below(&at).expect("matched");
        let mut stores = self.stores.lock().expect("registry");
        if let Some(store) = stores.get(&at) {
            return Ok((Arc::clone(store), path));
        }
        let name = name.expect("registered stores are in the map");
        let store = self.config.open(&name).map_err(|e| error(e.to_string()))?;
        stores.insert(at, Arc::clone(&store));
        Ok((store, path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(toml: &str) -> ConfigRegistry {
        ConfigRegistry::new(Config::from_toml(toml, "test.toml", ".").expect("valid config"))
    }

    /// Resolve `url`: the store's `Display` and the path in it.
    fn resolve(registry: &ConfigRegistry, url: &str) -> (String, String) {
        let url = Url::parse(url).expect("a URL");
        let (store, path) = registry
            .resolve(&url)
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        (store.to_string(), path.to_string())
    }

    /// Stores of `bucket` (or container) under prefixes that percent-encoding changes,
    /// and one without a prefix that must not take their URLs.
    fn stores(provider: &str, location: &str) -> String {
        let mut toml = format!("[stores.all]\nprovider = \"{provider}\"\n{location}");
        for (name, prefix) in [
            ("space", "team reports"),
            ("accent", "café"),
            ("percent", "a%b"),
            ("hash", "a#b"),
            ("kanji", "日本"),
            ("plus", "a+b"),
        ] {
            toml.push_str(&format!(
                "[stores.{name}]\nprovider = \"{provider}\"\n{location}prefix = \"{prefix}\"\n"
            ));
        }
        toml
    }

    /// Each URL goes to the store whose prefix it is under, with the rest as the path.
    fn routes_by_decoded_segments(registry: &ConfigRegistry, base: &str) {
        for (url, prefix, path) in [
            ("team%20reports/q3.csv", "team reports", "q3.csv"),
            ("caf%C3%A9/menu", "café", "menu"),
            ("café/menu", "café", "menu"),
            ("a%25b/x", "a%b", "x"),
            ("a%23b/x", "a#b", "x"),
            ("%E6%97%A5%E6%9C%AC/x/y", "日本", "x/y"),
            ("a+b/x", "a+b", "x"),
        ] {
            let (store, found) = resolve(registry, &format!("{base}/{url}"));
            // The store shows its prefix as written (`a%b`, not `Path::from`'s `a%25b`).
            assert!(
                store.contains(&format!(", {prefix})")),
                "{url} went to {store}"
            );
            assert_eq!(found, path, "{url}");
        }
        // Whole segments: `team reports2` is not under `team reports`; the rest, decoded.
        let (store, path) = resolve(registry, &format!("{base}/team%20reports2/a%20b"));
        assert!(!store.contains("PrefixedStore"), "{store}");
        assert_eq!(path, "team reports2/a b");
    }

    #[test]
    #[cfg(feature = "aws")]
    fn s3_urls_route_to_prefixes_whatever_their_encoding() {
        let toml = stores("s3", "bucket = \"b\"\nregion = \"us-east-1\"\n");
        routes_by_decoded_segments(&registry(&toml), "s3://b");
    }

    #[test]
    #[cfg(feature = "azure")]
    fn az_urls_route_to_prefixes_whatever_their_encoding() {
        let toml = stores("azure", "container = \"c\"\naccount = \"acct\"\n");
        routes_by_decoded_segments(&registry(&toml), "az://c");
    }

    #[test]
    fn file_urls_route_to_roots_whatever_their_encoding() {
        let dir = tempfile::tempdir().unwrap();
        let mut toml = String::new();
        for (name, folder) in [("all", ""), ("space", "/team reports"), ("accent", "/café")] {
            toml.push_str(&format!(
                "[stores.{name}]\nprovider = \"local\"\nroot = \"{}{folder}\"\ncreate_root = true\n",
                dir.path().display()
            ));
        }
        let registry = registry(&toml);
        let root = Url::from_directory_path(dir.path()).unwrap();
        let open = |rest: &str| registry.resolve(&root.join(rest).unwrap()).unwrap();
        let (all, path) = open("other/x");
        assert_eq!(path.as_ref(), "other/x");
        for (rest, path_in_store) in [
            ("team%20reports/q3.csv", "q3.csv"),
            ("caf%C3%A9/menu", "menu"),
        ] {
            let (store, path) = open(rest);
            assert_eq!(path.as_ref(), path_in_store, "{rest} went to {store}");
            assert!(
                !Arc::ptr_eq(&store, &all),
                "{rest} went to the root's store"
            );
        }
        let (space, _) = open("team%20reports/q3.csv");
        let (again, _) = open("team reports/q4.csv");
        assert!(
            Arc::ptr_eq(&space, &again),
            "one store, however the URL is written"
        );
    }

    #[test]
    #[cfg(feature = "aws")]
    fn two_stores_of_one_url_are_an_error_and_registered_stores_come_first() {
        let toml = "[stores.a]\nprovider = \"s3\"\nbucket = \"b\"\nprefix = \"café\"\n\
                    [stores.b]\nprovider = \"s3\"\nbucket = \"b\"\nprefix = \"café/\"\n";
        let registry = registry(toml);
        let err = registry
            .resolve(&Url::parse("s3://b/caf%C3%A9/x").unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("stores `a` and `b`"), "{err}");
        let mine: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        registry.register(Url::parse("s3://b/café").unwrap(), Arc::clone(&mine));
        let (found, path) = registry
            .resolve(&Url::parse("s3://b/caf%C3%A9/x").unwrap())
            .unwrap();
        assert!(Arc::ptr_eq(&found, &mine));
        assert_eq!(path.as_ref(), "x");
    }
}
