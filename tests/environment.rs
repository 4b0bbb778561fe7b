//! Configuration from the process environment. Its own test binary (own process) with a
//! single test, because it sets environment variables, which races with other threads.

mod common;

use common::Backend;
use stratus::object_store::path::Path;
use stratus::object_store::ObjectStoreExt;

#[tokio::test]
async fn credentials_and_store_choice_come_from_the_environment() {
    // STRATUS_URL / STRATUS_CONFIG + STRATUS_STORE.
    std::env::set_var("STRATUS_URL", "memory:///scoped");
    let store = stratus::from_env().unwrap();
    assert_eq!(store.to_string(), "PrefixedStore(InMemory, scoped)");
    let config =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stores/emulators.toml");
    std::env::set_var("STRATUS_CONFIG", &config);
    let err = stratus::from_env().unwrap_err().to_string();
    assert!(
        err.contains("both STRATUS_URL and STRATUS_CONFIG are set"),
        "{err}"
    );
    std::env::remove_var("STRATUS_URL");
    std::env::set_var("STRATUS_STORE", "sample");
    let store = stratus::from_env().unwrap();
    assert!(
        store
            .to_string()
            .starts_with("KeyOrderedStore(LocalFileSystem("),
        "{store}"
    );
    std::env::remove_var("STRATUS_CONFIG");
    std::env::remove_var("STRATUS_STORE");
    assert!(stratus::from_env()
        .unwrap_err()
        .to_string()
        .contains("set STRATUS_URL"));

    // S3 credentials the file leaves out come from the AWS environment.
    let Some(endpoint) = Backend::Moto.endpoint() else {
        return;
    };
    std::env::set_var("AWS_ACCESS_KEY_ID", "from-env");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "from-env-secret");
    let toml = format!(
        "[stores.s]\nprovider = \"s3\"\nbucket = \"stratus\"\nprefix = \"{}\"\nendpoint = \"{endpoint}\"\nallow_http = true\n",
        common::unique_prefix("env")
    );
    let store = stratus::Config::from_toml(&toml, "env.toml", ".")
        .unwrap()
        .open("s")
        .unwrap();
    store.put(&Path::from("k"), "v".into()).await.unwrap();
    assert_eq!(
        store
            .get(&Path::from("k"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
        "v"
    );
    assert!(!format!("{store:?}").contains("from-env-secret"));
}
