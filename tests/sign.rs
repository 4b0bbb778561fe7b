//! Signed URLs through the stores stratus builds (their layers hide the client's
//! `Signer`; `Config::signer` gives it back, under the store's prefix), fetched with a
//! plain HTTP client on the emulators that check them; and the URL registry.

mod common;

use common::{unique_prefix, Backend};
use object_store::registry::ObjectStoreRegistry;
use std::sync::Arc;
use std::time::Duration;
use stratus::config::ConfigRegistry;
use stratus::object_store::path::Path;
use stratus::object_store::signer::Method;
use stratus::object_store::ObjectStoreExt;
use stratus::Config;

fn config(toml: &str) -> Config {
    Config::from_toml(toml, "stores.toml", std::path::Path::new("/tmp")).unwrap()
}

/// A GET URL signed for an object put through the store returns it; a PUT URL signed for
/// a new key stores what a plain client sends, and the store then reads it.
async fn round_trip(backend: Backend) {
    let prefix = unique_prefix("sign");
    let Some(table) = backend.store_toml(&prefix) else {
        return;
    };
    let config = config(&format!("[stores.s]\n{table}"));
    let store = config.open("s").unwrap();
    let signer = config.signer("s").unwrap();
    let http = reqwest::Client::new();

    store
        .put(&Path::from("dir/read me"), "signed get".into())
        .await
        .unwrap();
    let url = signer
        .signed_url(
            Method::GET,
            &Path::from("dir/read me"),
            Duration::from_secs(300),
        )
        .await
        .unwrap();
    assert!(
        url.path().contains(&prefix),
        "{backend:?}: the store's prefix is in the URL: {url}"
    );
    let got = http.get(url.clone()).send().await.unwrap();
    assert!(
        got.status().is_success(),
        "{backend:?} GET {url}: {}",
        got.status()
    );
    assert_eq!(got.bytes().await.unwrap(), "signed get", "{backend:?}");

    let url = signer
        .signed_url(
            Method::PUT,
            &Path::from("uploaded"),
            Duration::from_secs(300),
        )
        .await
        .unwrap();
    let mut put = http.put(url.clone()).body("signed put");
    if matches!(backend, Backend::Azurite) {
        put = put.header("x-ms-blob-type", "BlockBlob");
    }
    let sent = put.send().await.unwrap();
    assert!(
        sent.status().is_success(),
        "{backend:?} PUT {url}: {}",
        sent.status()
    );
    let body = store
        .get(&Path::from("uploaded"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body, "signed put", "{backend:?}");

    // A URL signed for one key does not open another.
    let mut forged = signer
        .signed_url(
            Method::GET,
            &Path::from("dir/read me"),
            Duration::from_secs(300),
        )
        .await
        .unwrap();
    forged.set_path(&forged.path().replace("read%20me", "uploaded"));
    let refused = http.get(forged).send().await.unwrap();
    if !matches!(backend, Backend::Moto) {
        // (moto does not check signatures.)
        assert!(
            refused.status().is_client_error(),
            "{backend:?}: {}",
            refused.status()
        );
    }
}

#[tokio::test]
async fn signed_urls_work_end_to_end_on_seaweedfs() {
    round_trip(Backend::SeaweedFs).await;
}

#[tokio::test]
async fn signed_urls_work_end_to_end_on_moto() {
    round_trip(Backend::Moto).await;
}

/// Azure: object_store signs a SAS that Azurite refuses (403) for the emulator's
/// path-style URL (`/devstoreaccount1/CONTAINER/KEY`). Pinned as a known failure with
/// its symptom, so that a fix (upstream or in Azurite) shows up here.
#[tokio::test]
async fn signed_urls_on_azurite_are_refused_a_known_failure() {
    let outcome = tokio::spawn(round_trip(Backend::Azurite)).await;
    let Err(panic) = outcome else {
        // Passed, or skipped without the emulator: a pass would mean it works now.
        if Backend::Azurite.store_toml("x").is_some() {
            panic!("signed URLs now work on Azurite: make this a plain round trip");
        }
        return;
    };
    let panic = panic.into_panic();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("403 Forbidden"), "{message}");
}

// GCS: not run. Signing needs a service account's private key, and fake-gcs-server
// neither checks signatures nor takes object_store's XML-API writes (EMULATORS.md).

#[test]
fn stores_without_signed_urls_say_so() {
    let config = config("[stores.m]\nprovider = \"memory\"\n");
    let err = config.signer("m").unwrap_err().to_string();
    assert!(err.contains("`memory` stores have no signed URLs"), "{err}");
}

#[tokio::test]
async fn the_registry_resolves_urls_to_the_configured_stores() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let toml = format!(
        "[stores.data]\nprovider = \"local\"\nroot = \"{}\"\ncreate_root = true\n\
         [stores.logs]\nprovider = \"s3\"\nbucket = \"acme\"\nprefix = \"logs\"\nregion = \"us-east-1\"\n\
         [stores.all]\nprovider = \"s3\"\nbucket = \"acme\"\nregion = \"us-east-1\"\n\
         [stores.r]\nprovider = \"replicated\"\nmembers = [\"data\"]\n",
        root.display()
    );
    let registry = ConfigRegistry::new(config(&toml));

    // A local store: resolved, built once, the rest of the URL as the path.
    let url = url::Url::from_file_path(root.join("a/b.txt")).unwrap();
    let (store, path) = registry.resolve(&url).unwrap();
    assert_eq!(path.as_ref(), "a/b.txt");
    store.put(&path, "x".into()).await.unwrap();
    assert!(root.join("a/b.txt").exists());
    let (again, _) = registry.resolve(&url).unwrap();
    assert!(Arc::ptr_eq(&store, &again), "built once");

    // The longest match: `logs` (prefix logs/) over `all` for s3://acme/logs/...
    let (logs, path) = registry
        .resolve(&"s3://acme/logs/2024/x.json".parse().unwrap())
        .unwrap();
    assert_eq!(path.as_ref(), "2024/x.json");
    assert!(logs.to_string().contains("PrefixedStore"), "{logs}");
    let (all, path) = registry
        .resolve(&"s3://acme/other/y".parse().unwrap())
        .unwrap();
    assert_eq!(path.as_ref(), "other/y");
    assert!(!all.to_string().contains("PrefixedStore"), "{all}");
    // Segments, not characters: s3://acme/logsX is not under `logs`.
    let (_, path) = registry
        .resolve(&"s3://acme/logsX/z".parse().unwrap())
        .unwrap();
    assert_eq!(path.as_ref(), "logsX/z");

    // Unknown: the error lists what the file has.
    let err = registry
        .resolve(&"gs://elsewhere/k".parse().unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no store of stores.toml answers") && err.contains("logs = s3://acme/logs"),
        "{err}"
    );
    // A composite has no URL; registered under one, it answers (before the file's).
    let replicated = Config::from_toml(&toml, "stores.toml", std::path::Path::new("/tmp"))
        .unwrap()
        .open("r")
        .unwrap();
    registry.register("stratus://mirror".parse().unwrap(), Arc::clone(&replicated));
    let (found, path) = registry
        .resolve(&"stratus://mirror/k".parse().unwrap())
        .unwrap();
    assert!(Arc::ptr_eq(&found, &replicated));
    assert_eq!(path.as_ref(), "k");
}
