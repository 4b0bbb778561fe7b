//! Configuration from the process environment. Its own test binary (own process): one
//! test sets environment variables (which races with other threads), the other gives its
//! variables to the command it runs.

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

/// Azure as `az` and the SDKs have it: a connection string in the file or in
/// `AZURE_STORAGE_CONNECTION_STRING`, and the az CLI's `AZURE_STORAGE_ACCOUNT` /
/// `AZURE_STORAGE_KEY`, against Azurite. Run through the command, each with its own
/// environment (no variable of this process is set).
#[test]
fn azure_credentials_as_az_and_the_sdks_give_them() {
    let Some(endpoint) = Backend::Azurite.endpoint() else {
        return;
    };
    const KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    let bucket = std::env::var("STRATUS_TEST_BUCKET").unwrap_or_else(|_| "stratus".into());
    let connection =
        format!("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={KEY};BlobEndpoint={endpoint};");
    let dir = tempfile::tempdir().unwrap();
    let stores = dir.path().join("stores.toml");
    let store = |name: &str, extra: &str| {
        format!(
            "[stores.{name}]\nprovider = \"azure\"\ncontainer = \"{bucket}\"\nprefix = \"{}\"\n\
             allow_http = true\nretry = {{ max_retries = 0 }}\n{extra}",
            common::unique_prefix("az-connection")
        )
    };
    std::fs::write(
        &stores,
        store("file", &format!("connection_string = \"{connection}\"\n"))
            + &store("environment", "")
            + &store("azcli", &format!("endpoint = \"{endpoint}\"\n")),
    )
    .unwrap();
    let run = |name: &str, env: &[(&str, &str)]| {
        let mut command = std::process::Command::new(common::stratus());
        command
            .args(["inventory", name, "--json", "--config"])
            .arg(&stores);
        for var in [
            "AZURE_STORAGE_CONNECTION_STRING",
            "AZURE_STORAGE_ACCOUNT",
            "AZURE_STORAGE_KEY",
            "AZURE_STORAGE_ACCOUNT_NAME",
            "AZURE_STORAGE_ACCOUNT_KEY",
        ] {
            command.env_remove(var);
        }
        let out = command.envs(env.iter().copied()).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(&KEY[..20]), "the key shows: {text}");
        (out.status.code(), text)
    };
    for (name, env) in [
        ("file", &[][..]),
        (
            "environment",
            &[("AZURE_STORAGE_CONNECTION_STRING", connection.as_str())][..],
        ),
        (
            "azcli",
            &[
                ("AZURE_STORAGE_ACCOUNT", "devstoreaccount1"),
                ("AZURE_STORAGE_KEY", KEY),
            ][..],
        ),
    ] {
        let (code, text) = run(name, env);
        assert_eq!(code, Some(0), "{name}: {text}");
        assert!(text.contains("\"objects\": 0"), "{name}: {text}");
    }
    // A wrong key in the connection string is refused by the server, not quoted.
    let wrong = connection.replace(KEY, &KEY.replace('E', "F"));
    let (code, text) = run(
        "environment",
        &[("AZURE_STORAGE_CONNECTION_STRING", wrong.as_str())],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("access was denied"), "{text}");
}
