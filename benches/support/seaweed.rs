//! The SeaweedFS bucket the benchmarks list: `objects` small objects under `prefix`, put
//! there once (later runs find them). Needs the emulators:
//! `scripts/emulators.sh start && source target/emulators/env`.

use futures::StreamExt;
use std::sync::Arc;
use stratus::inventory::{scan, ScanOptions};
use stratus::object_store::path::Path;
use stratus::object_store::{ObjectStore, ObjectStoreExt};

/// A store on SeaweedFS under `prefix`; `None` (after saying why) without the emulators.
pub fn store(prefix: &str) -> Option<Arc<dyn ObjectStore>> {
    let Ok(endpoint) = std::env::var("STRATUS_TEST_SEAWEED_ENDPOINT") else {
        println!(
            "\n(skipped, no SeaweedFS: scripts/emulators.sh start && source target/emulators/env)"
        );
        return None;
    };
    let key = std::env::var("STRATUS_TEST_SEAWEED_ACCESS_KEY").unwrap();
    let secret = std::env::var("STRATUS_TEST_SEAWEED_SECRET_KEY").unwrap();
    let toml = format!(
        "[stores.s]\nprovider = \"s3\"\nbucket = \"stratus\"\nprefix = \"{prefix}\"\n\
         endpoint = \"{endpoint}\"\nallow_http = true\nregion = \"us-east-1\"\n\
         access_key_id = \"{key}\"\nsecret_access_key = \"{secret}\"\nlist_order = \"sorted\"\n"
    );
    let config =
        stratus::Config::from_toml(&toml, "bench.toml", std::path::Path::new(".")).unwrap();
    Some(config.open("s").unwrap())
}

/// [`store`] holding at least `objects` objects (`d00/f00000` ... over 50 folders).
pub async fn filled(prefix: &str, objects: u64) -> Option<Arc<dyn ObjectStore>> {
    let store = store(prefix)?;
    let present = scan(store.as_ref(), None, &ScanOptions::default())
        .await
        .unwrap();
    if present.objects < objects {
        println!("(filling SeaweedFS with {objects} objects, once)");
        futures::stream::iter(0..objects)
            .map(|i| {
                let store = Arc::clone(&store);
                async move {
                    let key = Path::from(format!("d{:02}/f{i:05}", i % 50));
                    store.put(&key, vec![1u8; (i % 997) as usize].into()).await
                }
            })
            .buffer_unordered(32)
            .for_each(|r| async move {
                r.unwrap();
            })
            .await;
    }
    Some(store)
}
