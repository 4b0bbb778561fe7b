//! Request accounting: the HTTP requests each cloud store really sends, retries
//! included, counted below object_store's retry loop (every S3, GCS and Azure store a
//! [`Config`](crate::Config) builds goes through a counting HTTP connector), by kind, per
//! store name, in the [`Requests`] book of the `Config` that opened the store
//! ([`Config::requests`](crate::Config::requests)): two configurations loaded in one
//! process count apart, and nothing is global. With `prices` in a store's configuration
//! the counts turn into an estimated cost.
//!
//! Kinds are LIST, GET, HEAD, PUT, DELETE, multipart and other ([`RequestKind`]). The
//! `stratus` command ends with a line per store on stderr, e.g.
//! `requests: aws: 153 LIST, 0 GET, 0 HEAD, 0 PUT, 0 DELETE, 0 multipart, 0 other: about $0.0008`
//! (with `prices`). Local and memory stores send no HTTP requests and count nothing. The
//! repository's `tests/observe.rs` compares the counts with moto's request log.
//!
//! ```toml
//! [stores.aws]
//! provider = "s3"
//! bucket = "logs"
//! # USD per 1,000 requests, by kind (unset kinds cost nothing)
//! prices = { list = 0.005, put = 0.005, multipart = 0.005, get = 0.0004, head = 0.0004 }
//! ```
//!
//! ```
//! # fn main() -> stratus::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("stores.toml");
//! # std::fs::write(&path, "[stores.aws]\nprovider = \"memory\"\n").unwrap();
//! let config = stratus::Config::load(&path)?;
//! let store = config.open("aws")?;
//! // ... use the store ...
//! let counts = config.requests().of("aws");
//! println!("{counts}"); // "0 LIST, 0 GET, 0 HEAD, 0 PUT, 0 DELETE, 0 multipart, 0 other"
//! for line in config.requests().summary() {
//!     eprintln!("{line}");
//! }
//! # Ok(())
//! # }
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What an HTTP request did, as providers bill it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// A listing page (S3 `ListObjectsV2`, GCS `objects.list`, Azure `List Blobs`).
    List,
    /// A GET of an object (or a range of it).
    Get,
    /// A HEAD of an object.
    Head,
    /// A PUT of a whole object, or a copy.
    Put,
    /// A DELETE (or an S3 batch delete: one request).
    Delete,
    /// A multipart upload's request: create, a part, complete or abort.
    Multipart,
    /// Anything else (a token request, a bucket-level call).
    Other,
}

const KINDS: [RequestKind; 7] = [
    RequestKind::List,
    RequestKind::Get,
    RequestKind::Head,
    RequestKind::Put,
    RequestKind::Delete,
    RequestKind::Multipart,
    RequestKind::Other,
];

impl RequestKind {
    /// The name it is printed with.
    pub fn name(self) -> &'static str {
        match self {
            Self::List => "LIST",
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Multipart => "multipart",
            Self::Other => "other",
        }
    }

    /// The kind of a request by its method and query (the providers' request shapes).
    pub fn of(method: &str, path: &str, query: &str) -> Self {
        let has = |key: &str| {
            query
                .split('&')
                .any(|pair| pair.split('=').next() == Some(key))
        };
        let multipart = has("uploadId")
            || has("uploads")
            || has("blockid")
            || has("blocklist")
            || query.contains("comp=block");
        match method {
            "GET" if has("list-type") || has("delimiter") || query.contains("comp=list") => {
                Self::List
            }
            // GCS's JSON API lists at `/storage/v1/b/BUCKET/o`; S3 lists a bucket's root.
            "GET" if path.ends_with("/o") || has("prefix") => Self::List,
            // S3's ListObjectVersions, ListMultipartUploads and ListParts.
            "GET" if has("versions") || has("uploads") || has("uploadId") => Self::List,
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "PUT" | "POST" if multipart => Self::Multipart,
            "POST" if has("delete") => Self::Delete,
            "PUT" => Self::Put,
            "DELETE" if has("uploadId") => Self::Multipart,
            "DELETE" => Self::Delete,
            _ => Self::Other,
        }
    }
}

/// One store's counters.
#[derive(Debug, Default)]
pub(crate) struct Counters([AtomicU64; 7]);

impl Counters {
    #[cfg_attr(
        not(any(feature = "aws", feature = "gcp", feature = "azure")),
        allow(dead_code)
    )]
    pub(crate) fn count(&self, kind: RequestKind) {
        self.0[kind as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// The requests of the stores one [`Config`](crate::Config) opened, by store name, and
/// their prices: what [`Config::requests`](crate::Config::requests) gives. Cheap to
/// clone (a handle); clones count into one book.
#[derive(Clone, Debug, Default)]
pub struct Requests(Arc<Book>);

#[derive(Debug, Default)]
struct Book {
    stores: Mutex<BTreeMap<String, Arc<Counters>>>,
    prices: Mutex<BTreeMap<String, Prices>>,
}

impl Requests {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remember store `name`'s prices (a store built with `prices`).
    pub(crate) fn set_prices(&self, name: &str, prices: &Prices) {
        let mut all = self.0.prices.lock().expect("request prices");
        all.insert(name.to_string(), prices.clone());
    }

    /// object_store's HTTP connector, counting for store `name`.
    #[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
    pub(crate) fn counting(&self, name: &str) -> CountingConnector {
        let mut stores = self.0.stores.lock().expect("request counters");
        CountingConnector(Arc::clone(stores.entry(name.to_string()).or_default()))
    }

    /// The requests store `name` sent so far (all zero for a store that sent none, or is
    /// not a cloud store).
    pub fn of(&self, name: &str) -> RequestCounts {
        let stores = self.0.stores.lock().expect("request counters");
        stores
            .get(name)
            .map(|c| RequestCounts::from(c.as_ref()))
            .unwrap_or_default()
    }

    /// Every store that sent requests, by name.
    pub fn all(&self) -> Vec<(String, RequestCounts)> {
        let stores = self.0.stores.lock().expect("request counters");
        stores
            .iter()
            .map(|(name, c)| (name.clone(), RequestCounts::from(c.as_ref())))
            .filter(|(_, counts)| counts.total() > 0)
            .collect()
    }

    /// A line per store that sent requests: its requests and, for a store built with
    /// `prices`, their estimated cost (`"aws: 20 LIST, 0 GET, ...: about $0.0001"`).
    pub fn summary(&self) -> Vec<String> {
        let prices = self.0.prices.lock().expect("request prices").clone();
        self.all()
            .into_iter()
            .map(|(name, counts)| match prices.get(&name) {
                Some(prices) => format!("{name}: {counts}: about ${:.4}", counts.cost(prices)),
                None => format!("{name}: {counts}"),
            })
            .collect()
    }
}

/// Requests sent, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RequestCounts([u64; 7]);

impl From<&Counters> for RequestCounts {
    fn from(counters: &Counters) -> Self {
        Self(std::array::from_fn(|i| {
            counters.0[i].load(Ordering::Relaxed)
        }))
    }
}

impl RequestCounts {
    /// The requests of `kind`.
    pub fn get(&self, kind: RequestKind) -> u64 {
        self.0[kind as usize]
    }

    /// All requests.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// What happened between `earlier` and these counts.
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        Self(std::array::from_fn(|i| {
            self.0[i].saturating_sub(earlier.0[i])
        }))
    }

    /// The estimated cost in `prices`' currency.
    pub fn cost(&self, prices: &Prices) -> f64 {
        KINDS
            .iter()
            .map(|&kind| self.get(kind) as f64 * prices.per_thousand(kind) / 1000.0)
            .sum()
    }
}

impl fmt::Display for RequestCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, kind) in KINDS.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} {}", self.get(*kind), kind.name())?;
        }
        Ok(())
    }
}

/// Prices per 1,000 requests, by kind (config `prices`); unset kinds cost nothing.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Prices {
    /// A listing page.
    #[serde(default)]
    pub list: f64,
    /// A GET.
    #[serde(default)]
    pub get: f64,
    /// A HEAD.
    #[serde(default)]
    pub head: f64,
    /// A PUT or copy.
    #[serde(default)]
    pub put: f64,
    /// A DELETE.
    #[serde(default)]
    pub delete: f64,
    /// A multipart request.
    #[serde(default)]
    pub multipart: f64,
    /// Any other request.
    #[serde(default)]
    pub other: f64,
    /// Storage, per GiB-month (2^30 bytes for a month: what AWS, Azure and Google call a
    /// GB-month) by storage class as the provider names it (`STANDARD`, `GLACIER`, `Hot`,
    /// `NEARLINE`); `default` prices bytes whose class the source does not give (a
    /// listing gives none), else `STANDARD` does. For the estimate beside an inventory
    /// ([`crate::inventory::storage_estimate`]).
    #[serde(default)]
    pub storage: std::collections::BTreeMap<String, f64>,
}

impl Prices {
    /// The name of the first price not in `range` (NaN is in none), if any.
    pub(crate) fn first_outside(
        &self,
        range: std::ops::RangeInclusive<f64>,
    ) -> Option<&'static str> {
        [
            ("list", self.list),
            ("get", self.get),
            ("head", self.head),
            ("put", self.put),
            ("delete", self.delete),
            ("multipart", self.multipart),
            ("other", self.other),
        ]
        .into_iter()
        .find(|(_, price)| !range.contains(price))
        .map(|(kind, _)| kind)
    }

    /// The first storage class whose price is not in `range`, or whose name is not a
    /// class name (1 to 64 characters, none a control character), if any.
    pub(crate) fn first_storage_outside(
        &self,
        range: std::ops::RangeInclusive<f64>,
    ) -> Option<&str> {
        self.storage
            .iter()
            .find(|(class, price)| {
                !range.contains(price)
                    || class.is_empty()
                    || class.len() > 64
                    || class.chars().any(char::is_control)
            })
            .map(|(class, _)| class.as_str())
    }

    /// The price per GiB-month of bytes of `class` (`None`: a source without classes),
    /// from [`Self::storage`]; `None` when no price applies.
    pub fn storage_price(&self, class: Option<&str>) -> Option<f64> {
        match class {
            Some(class) => self.storage.get(class).copied(),
            None => self
                .storage
                .get("default")
                .or_else(|| self.storage.get("STANDARD"))
                .copied(),
        }
    }

    fn per_thousand(&self, kind: RequestKind) -> f64 {
        match kind {
            RequestKind::List => self.list,
            RequestKind::Get => self.get,
            RequestKind::Head => self.head,
            RequestKind::Put => self.put,
            RequestKind::Delete => self.delete,
            RequestKind::Multipart => self.multipart,
            RequestKind::Other => self.other,
        }
    }
}

#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
pub(crate) use connector::CountingConnector;

#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
mod connector {
    use super::{Counters, RequestKind};
    use async_trait::async_trait;
    use object_store::client::{
        ClientOptions, HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse,
        HttpService, ReqwestConnector,
    };
    use std::sync::Arc;

    /// object_store's default connector, each request counted for one store.
    #[derive(Debug)]
    pub(crate) struct CountingConnector(pub(crate) Arc<Counters>);

    impl HttpConnector for CountingConnector {
        fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
            let client = ReqwestConnector::default().connect(options)?;
            Ok(HttpClient::new(Counting {
                client,
                counters: Arc::clone(&self.0),
            }))
        }
    }

    #[derive(Debug)]
    struct Counting {
        client: HttpClient,
        counters: Arc<Counters>,
    }

    #[async_trait]
    impl HttpService for Counting {
        async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
            let uri = req.uri();
            let kind =
                RequestKind::of(req.method().as_str(), uri.path(), uri.query().unwrap_or(""));
            self.counters.count(kind);
            self.client.execute(req).await
        }
    }
}
