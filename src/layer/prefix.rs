//! [`PrefixedStore`]: a store scoped to a key prefix (the `prefix` key of a provider).
//!
//! The scoping is object_store's own `PrefixStore`; this layer adds a `Display` that
//! keeps the store it scopes (`PrefixedStore(AmazonS3(bucket), logs/2026)`), where
//! object_store's shows the prefix alone, so that an error names the bucket it came from.

use super::forward::{Layer, Layered};
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;
use std::fmt;
use std::sync::Arc;

/// A store that sees only the keys below `prefix` of the store it wraps.
pub struct PrefixedStore {
    /// The store scoped, as its `Display` names it.
    scoped: String,
    prefix: Path,
}

impl PrefixedStore {
    /// `inner` scoped to `prefix` (a valid key prefix).
    pub fn wrap(inner: Arc<dyn ObjectStore>, prefix: Path) -> Arc<dyn ObjectStore> {
        let layer = Self {
            scoped: inner.to_string(),
            prefix: prefix.clone(),
        };
        Layered::wrap(Arc::new(PrefixStore::new(inner, prefix)), layer)
    }
}

impl Layer for PrefixedStore {
    fn describe(&self, f: &mut fmt::Formatter<'_>, _: &dyn ObjectStore) -> fmt::Result {
        write!(f, "PrefixedStore({}, {})", self.scoped, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::ObjectStoreExt;

    #[tokio::test]
    async fn scopes_keys_and_names_the_store_it_scopes() {
        let memory: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let store = PrefixedStore::wrap(Arc::clone(&memory), Path::from("a/b"));
        store.put(&Path::from("k"), "v".into()).await.unwrap();
        assert_eq!(memory.head(&Path::from("a/b/k")).await.unwrap().size, 1);
        assert_eq!(store.to_string(), format!("PrefixedStore({memory}, a/b)"));
    }
}
