//! SeaweedFS, the production S3 server of the suite: what moto cannot show.
//!
//! - its `start-after` quirk, and that stratus's own listing resumes are not fooled by it;
//! - real authentication (Signature V4 checked): a wrong secret, a read-only identity, an
//!   unsigned request;
//! - an independent client (boto3) in both directions: objects it writes, with keys that
//!   stress encoding, a multipart object and attributes, are inventoried exactly and read
//!   back byte for byte by stratus; objects stratus writes are read back byte for byte,
//!   with their content type and metadata, by boto3.

mod common;

use common::{example, seaweed_identity, Backend, Fixture, Identity, Relisted};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, ObjectStore, ObjectStoreExt, PutMultipartOptions,
    PutOptions, WriteMultipart,
};
use std::process::Command;
use std::sync::Arc;
use stratus::Config;

async fn keys(
    listing: futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>>,
) -> Vec<String> {
    let metas: Vec<_> = listing.try_collect().await.unwrap();
    metas.into_iter().map(|m| m.location.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// SeaweedFS's own listing order, and `start-after` equal to a "folder".

/// Keys whose byte order differs from SeaweedFS's folder-by-folder order (` `, `+`, `-`
/// and `.` sort below `/`).
const ORDER_KEYS: [&str; 6] = ["a", "a b", "a+c", "a-d", "a.txt", "a/b"];

/// A SeaweedFS store under a fresh prefix, listing as the server does (`list_order`
/// unset), holding `keys`.
async fn raw_store(test: &str, keys: &[&str]) -> Option<Arc<dyn ObjectStore>> {
    let (key, secret) = seaweed_identity(Identity::Admin);
    let config = seaweed_config(&common::unique_prefix(test), &key, &secret, "")?;
    let store = config.open("sw").unwrap();
    for k in keys {
        store
            .put(&Path::from(*k), k.to_string().into())
            .await
            .unwrap();
    }
    Some(store)
}

#[tokio::test]
async fn seaweedfs_lists_out_of_byte_order_and_sorted_stores_fix_it() {
    let Some(raw) = raw_store("order", &ORDER_KEYS).await else {
        return;
    };
    // The server's order: the folder `a/` right after the object `a`.
    let listed = keys(raw.list(None)).await;
    assert_eq!(
        listed,
        ["a", "a/b", "a b", "a+c", "a-d", "a.txt"],
        "SeaweedFS's order changed: update docs/TESTING.md"
    );
    // Its start-after of a folder's name skips the folder.
    assert_eq!(
        keys(raw.list_with_offset(None, &Path::from("a"))).await,
        ["a b", "a+c", "a-d", "a.txt"]
    );

    // sync refuses the raw order before acting on it, and deletes nothing.
    let copy = object_store::memory::InMemory::new();
    for k in ORDER_KEYS {
        copy.put(&Path::from(k), k.into()).await.unwrap();
    }
    let options = stratus::replicate::SyncOptions::default().with_delete(true);
    let err = stratus::replicate::sync(raw.as_ref(), &copy, &options)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("key order"), "{err}");
    assert_eq!(keys(copy.list(None)).await.len(), ORDER_KEYS.len());

    // `list_order = "sorted"`: byte order, offsets right, and sync agrees.
    let Some(fixture) = Fixture::new(Backend::SeaweedFs, "order-sorted") else {
        return;
    };
    for k in ORDER_KEYS {
        fixture.store.put(&Path::from(k), k.into()).await.unwrap();
    }
    let mut sorted = ORDER_KEYS.to_vec();
    sorted.sort();
    assert_eq!(keys(fixture.store.list(None)).await, sorted);
    assert_eq!(
        keys(fixture.store.list_with_offset(None, &Path::from("a"))).await,
        &sorted[1..]
    );
    // Compared by content: the copy was written before the fixture, so under load its
    // times can be provably older (SeaweedFS keeps seconds) and `Auto` would copy again.
    let options = options.with_compare(stratus::replicate::Compare::Content);
    let report = stratus::replicate::sync(fixture.store.as_ref(), &copy, &options)
        .await
        .unwrap();
    assert_eq!((report.copied, report.deleted, report.failed), (0, 0, 0));
}

#[tokio::test]
async fn a_replicated_listing_that_fails_over_after_a_folder_key_lists_the_folder() {
    // The next member lists as SeaweedFS does by itself (no `list_order`): stratus's
    // resume must not lose `a/b` and `a/c` to its start-after quirk.
    let all = ["a", "a/b", "a/c", "b"];
    let Some(seaweed) = raw_store("failover", &all).await else {
        return;
    };
    let primary = object_store::memory::InMemory::new();
    for key in all {
        primary.put(&Path::from(key), key.into()).await.unwrap();
    }
    // The primary drops its listing right after `a`; the next member continues after it.
    let primary: Arc<dyn ObjectStore> = Arc::new(Relisted::then_fail(Arc::new(primary), 1));
    let replicated = stratus::replicate::ReplicatedStore::new([
        ("memory".to_string(), primary),
        ("seaweed".to_string(), seaweed),
    ])
    .unwrap();
    assert_eq!(keys(replicated.list(None)).await, all);
}

// ---------------------------------------------------------------------------------------
// Authentication.

/// A config with one S3 store on SeaweedFS under `prefix`, signed as given.
fn seaweed_config(prefix: &str, key: &str, secret: &str, extra: &str) -> Option<Config> {
    let endpoint = Backend::SeaweedFs.endpoint()?;
    let bucket = std::env::var("STRATUS_TEST_BUCKET").unwrap_or_else(|_| "stratus".into());
    let toml = format!(
        "[stores.sw]\nprovider = \"s3\"\nbucket = \"{bucket}\"\nprefix = \"{prefix}\"\n\
         endpoint = \"{endpoint}\"\nallow_http = true\nregion = \"us-east-1\"\n\
         access_key_id = \"{key}\"\nsecret_access_key = \"{secret}\"\n\
         retry = {{ max_retries = 0 }}\n{extra}"
    );
    Some(Config::from_toml(&toml, "seaweed.toml", ".").unwrap())
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_the_access_advice_and_never_echoed() {
    let (key, _) = seaweed_identity(Identity::Admin);
    let wrong = "Wr0ngSecretValue-not-the-real-one-4567";
    let Some(config) = seaweed_config("t", &key, wrong, "") else {
        return;
    };
    let store = config.open("sw").unwrap();
    let err = stratus::inventory::scan(store.as_ref(), None, &Default::default())
        .await
        .unwrap_err();
    let text = format!("{err}\n{err:?}\n{}", err.brief());
    assert!(text.contains("SignatureDoesNotMatch"), "{text}");
    assert_eq!(
        err.advice(),
        Some("access was denied: check the credentials and that they may list this bucket")
    );
    assert!(
        !text.contains(wrong) && !text.contains("Wr0ngSec"),
        "{text}"
    );
}

#[tokio::test]
async fn a_read_only_identity_inventories_and_reads_but_its_writes_are_refused_by_name() {
    let Some(admin) = Fixture::new(Backend::SeaweedFs, "reader") else {
        return;
    };
    for i in 0..25 {
        admin
            .store
            .put(&Path::from(format!("d/k{i}")), vec![7u8; i].into())
            .await
            .unwrap();
    }
    let (key, secret) = seaweed_identity(Identity::Reader);
    let config = seaweed_config(&admin.prefix, &key, &secret, "").unwrap();
    let reader = config.open("sw").unwrap();
    let report = stratus::inventory::scan(reader.as_ref(), None, &Default::default())
        .await
        .unwrap();
    assert_eq!((report.objects, report.bytes), (25, (0..25).sum::<u64>()));
    let body = reader
        .get(&Path::from("d/k3"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.as_ref(), [7u8; 3]);
    let err = reader
        .put(&Path::from("d/new"), "no".into())
        .await
        .unwrap_err();
    assert!(
        matches!(err, object_store::Error::PermissionDenied { .. }),
        "{err:?}"
    );

    // What a user sees: the example names the store and says what to check.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reader.toml");
    let bucket = std::env::var("STRATUS_TEST_BUCKET").unwrap_or_else(|_| "stratus".into());
    std::fs::write(
        &file,
        format!(
            "[stores.reader]\nprovider = \"s3\"\nbucket = \"{bucket}\"\nprefix = \"{}\"\n\
             endpoint = \"{}\"\nallow_http = true\nregion = \"us-east-1\"\n\
             access_key_id = \"{key}\"\nsecret_access_key = \"{secret}\"\n\
             retry = {{ max_retries = 0 }}\n",
            admin.prefix,
            Backend::SeaweedFs.endpoint().unwrap()
        ),
    )
    .unwrap();
    let out = Command::new(example("swap_provider"))
        .arg(&file)
        .arg("--write-probe")
        .env_remove("AWS_CA_BUNDLE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    // The store's `Display` shows its layers: the bucket, and the prefix it is scoped to.
    assert!(
        stderr.contains(&format!(
            "store `RedactedStore(PrefixedStore(AmazonS3({bucket}), {}))`",
            admin.prefix
        )),
        "{stderr}"
    );
    assert!(stderr.contains("access was denied"), "{stderr}");
    assert!(!stderr.contains(&secret), "{stderr}");
}

#[tokio::test]
async fn an_unsigned_request_to_the_private_bucket_is_refused() {
    let Some(config) = seaweed_config("t", "", "", "skip_signature = true\n") else {
        return;
    };
    let store = config.open("sw").unwrap();
    let err = store.list(None).try_collect::<Vec<_>>().await.unwrap_err();
    assert!(
        matches!(err, object_store::Error::PermissionDenied { .. })
            || err.to_string().contains("AccessDenied"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// boto3, both directions.

/// Keys that stress encoding (relative to the test's prefix).
fn hard_keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        "unicode/héllo wörld ✓.txt",
        "spaces/a b  c",
        "percent/100% done",
        "plus/a+b=c",
        "tilde/~user/file",
        "equals/k=v&x=y",
        "mixed/ü%2F+ ~=.bin",
    ]
    .iter()
    .map(|k| k.to_string())
    .collect();
    keys.push(format!("long/{}", "k".repeat(195))); // a 200-byte key
    keys
}

/// The body of `key` at `size` bytes: both clients compute the same one.
fn body(key: &str, size: usize) -> Vec<u8> {
    (0..size)
        .map(|j| ((j * 31 + key.len()) % 251) as u8)
        .collect()
}

/// Python run with boto3 against SeaweedFS; `script` reads `ENDPOINT`, `KEY`, `SECRET`,
/// `BUCKET`, `PREFIX` from the environment and the helpers defined here.
fn boto3(prefix: &str, script: &str) -> String {
    let python =
        std::env::var("STRATUS_TEST_PYTHON").expect("STRATUS_TEST_PYTHON (scripts/test.sh)");
    let (key, secret) = seaweed_identity(Identity::Admin);
    let helpers = r#"
import os, sys, json, boto3
from boto3.s3.transfer import TransferConfig
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], aws_access_key_id=os.environ["KEY"],
                  aws_secret_access_key=os.environ["SECRET"], region_name="us-east-1")
BUCKET, PREFIX = os.environ["BUCKET"], os.environ["PREFIX"]
def body(key, size):
    return bytes(((j * 31 + len(key.encode())) % 251) for j in range(size))
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(format!("{helpers}\n{script}"))
        .env_remove("AWS_CA_BUNDLE")
        .env("ENDPOINT", Backend::SeaweedFs.endpoint().unwrap())
        .env("KEY", key)
        .env("SECRET", secret)
        .env(
            "BUCKET",
            std::env::var("STRATUS_TEST_BUCKET").unwrap_or_else(|_| "stratus".into()),
        )
        .env("PREFIX", prefix)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 script failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const MULTIPART_SIZE: usize = 17 * 1024 * 1024;

#[tokio::test]
async fn objects_boto3_writes_are_inventoried_exactly_and_read_back_byte_for_byte() {
    let Some(fixture) = Fixture::new(Backend::SeaweedFs, "from-boto3") else {
        return;
    };
    let mut expected: Vec<(String, usize)> = hard_keys()
        .into_iter()
        .enumerate()
        .map(|(i, k)| (k, 1000 + i * 37))
        .collect();
    expected.push(("big/multipart.bin".into(), MULTIPART_SIZE));
    let manifest = serde_json::to_string(&expected).unwrap();
    boto3(
        &fixture.prefix,
        &format!(
            r#"
for key, size in json.loads({manifest:?}):
    extra = {{"ContentType": "application/x-stratus-test", "Metadata": {{"origin": "boto3"}}}}
    if size > 16 * 1024 * 1024:
        import io
        s3.upload_fileobj(io.BytesIO(body(key, size)), BUCKET, PREFIX + "/" + key, ExtraArgs=extra,
                          Config=TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024))
        assert "-" in s3.head_object(Bucket=BUCKET, Key=PREFIX + "/" + key)["ETag"], "not multipart"
    else:
        s3.put_object(Bucket=BUCKET, Key=PREFIX + "/" + key, Body=body(key, size), **extra)
"#
        ),
    );
    let store = &fixture.store;
    // The inventory counts exactly what was written.
    let report = stratus::inventory::scan(store.as_ref(), None, &Default::default())
        .await
        .unwrap();
    let bytes: usize = expected.iter().map(|(_, s)| s).sum();
    assert_eq!(
        (report.objects, report.bytes),
        (expected.len() as u64, bytes as u64)
    );
    // Every listed key is one boto3 wrote, read back byte for byte with its attributes.
    let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
    let mut names: Vec<String> = listed.iter().map(|m| m.location.to_string()).collect();
    names.sort();
    let mut wanted: Vec<String> = expected.iter().map(|(k, _)| k.clone()).collect();
    wanted.sort();
    assert_eq!(names, wanted);
    for meta in &listed {
        let key = meta.location.to_string();
        let size = expected.iter().find(|(k, _)| *k == key).unwrap().1;
        let got = store.get(&meta.location).await.unwrap();
        assert_eq!(
            got.attributes
                .get(&Attribute::ContentType)
                .map(|v| v.as_ref()),
            Some("application/x-stratus-test"),
            "{key}"
        );
        assert_eq!(
            got.attributes
                .get(&Attribute::Metadata("origin".into()))
                .map(|v| v.as_ref()),
            Some("boto3"),
            "{key}"
        );
        let bytes = got.bytes().await.unwrap();
        assert!(
            bytes.as_ref() == body(&key, size).as_slice(),
            "{key}: bytes differ"
        );
    }
}

#[tokio::test]
async fn objects_stratus_writes_are_read_back_by_boto3_with_their_attributes() {
    let Some(fixture) = Fixture::new(Backend::SeaweedFs, "to-boto3") else {
        return;
    };
    let store = &fixture.store;
    let attributes = || {
        let mut a = Attributes::new();
        a.insert(
            Attribute::ContentType,
            AttributeValue::from("text/x-stratus"),
        );
        a.insert(
            Attribute::Metadata("written-by".into()),
            AttributeValue::from("stratus"),
        );
        a
    };
    let mut written: Vec<(String, usize)> = Vec::new();
    for (i, key) in hard_keys().into_iter().enumerate() {
        let size = 500 + i * 11;
        let path = Path::parse(&key).unwrap();
        let options = PutOptions {
            attributes: attributes(),
            ..Default::default()
        };
        store
            .put_opts(&path, body(&key, size).into(), options)
            .await
            .unwrap();
        written.push((key, size));
    }
    let key = "big/by-stratus.bin".to_string();
    let upload = store
        .put_multipart_opts(
            &Path::parse(&key).unwrap(),
            PutMultipartOptions {
                attributes: attributes(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut writer = WriteMultipart::new_with_chunk_size(upload, 8 * 1024 * 1024);
    writer.write(&body(&key, MULTIPART_SIZE));
    writer.finish().await.unwrap();
    written.push((key, MULTIPART_SIZE));

    let manifest = serde_json::to_string(&written).unwrap();
    let out = boto3(
        &fixture.prefix,
        &format!(
            r#"
for key, size in json.loads({manifest:?}):
    got = s3.get_object(Bucket=BUCKET, Key=PREFIX + "/" + key)
    data = got["Body"].read()
    assert len(data) == size, (key, len(data), size)
    assert data == body(key, size), key + ": bytes differ"
    assert got["ContentType"] == "text/x-stratus", (key, got["ContentType"])
    assert got["Metadata"] == {{"written-by": "stratus"}}, (key, got["Metadata"])
    if size > 16 * 1024 * 1024:
        assert "-" in got["ETag"], (key, "not multipart", got["ETag"])
print("checked", len(json.loads({manifest:?})))
"#
        ),
    );
    assert_eq!(out.trim(), format!("checked {}", written.len()));
}

// ---------------------------------------------------------------------------------------
// The AWS shared files: keys, region and endpoint from a profile, with the AWS precedence.

#[tokio::test]
async fn an_aws_profile_gives_keys_region_and_endpoint_with_the_aws_precedence() {
    let (key, secret) = seaweed_identity(Identity::Admin);
    let prefix = common::unique_prefix("profile");
    let Some(seed) = seaweed_config(&prefix, &key, &secret, "") else {
        return;
    };
    let store = seed.open("sw").unwrap();
    for k in ["a", "b/c", "b/d"] {
        store.put(&Path::from(k), "xyz".into()).await.unwrap();
    }
    let endpoint = Backend::SeaweedFs.endpoint().unwrap();
    let bucket = std::env::var("STRATUS_TEST_BUCKET").unwrap_or_else(|_| "stratus".into());
    let wrong = "Wr0ngSecretValue-not-the-real-one-4567";
    let dir = tempfile::tempdir().unwrap();
    let (credentials, config, stores) = (
        dir.path().join("credentials"),
        dir.path().join("config"),
        dir.path().join("stores.toml"),
    );
    // Keys in the credentials file, region and endpoint in the config file, as `aws
    // configure` writes them.
    std::fs::write(
        &credentials,
        format!(
            "[ops]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n\
             [stale]\naws_access_key_id = {key}\naws_secret_access_key = {wrong}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        &config,
        format!(
            "[profile ops]\nregion = us-east-1\nendpoint_url = {endpoint}\n\
             [profile stale]\nregion = us-east-1\nendpoint_url = {endpoint}\n"
        ),
    )
    .unwrap();
    let store = |name: &str, extra: &str| {
        format!(
            "[stores.{name}]\nprovider = \"s3\"\nbucket = \"{bucket}\"\nprefix = \"{prefix}\"\n\
             allow_http = true\nretry = {{ max_retries = 0 }}\n{extra}"
        )
    };
    let explicit = format!(
        "endpoint = \"{endpoint}\"\nregion = \"us-east-1\"\naccess_key_id = \"{key}\"\n\
         secret_access_key = \"{secret}\"\n"
    );
    std::fs::write(
        &stores,
        store("named", "profile = \"ops\"\n") + &store("plain", "") + &store("explicit", &explicit),
    )
    .unwrap();
    let stratus = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::new(common::stratus());
        command
            .args(args)
            .arg("--config")
            .arg(&stores)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_CONFIG_FILE", &config);
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT",
        ] {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        let out = command.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(wrong) && !text.contains(&secret), "{text}");
        (out.status.code(), text)
    };
    let run = |name: &str, env: &[(&str, &str)]| stratus(&["inventory", name, "--json"], env);
    let objects = |text: &str| -> u64 {
        // The report is stdout's JSON; stderr (after it here) has the request summary.
        let report: serde_json::Value = serde_json::Deserializer::from_str(text)
            .into_iter()
            .next()
            .expect(text)
            .expect(text);
        report["objects"].as_u64().unwrap()
    };
    let env_keys = [
        ("AWS_ACCESS_KEY_ID", key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", wrong),
    ];

    // The store's profile: keys, region and endpoint all from the files.
    let (code, text) = run("named", &[]);
    assert_eq!((code, objects(&text)), (Some(0), 3), "{text}");
    // ... and it beats the environment's keys, as --profile does.
    let (code, text) = run("named", &env_keys);
    assert_eq!((code, objects(&text)), (Some(0), 3), "{text}");
    // AWS_PROFILE for a store that names none.
    let (code, text) = run("plain", &[("AWS_PROFILE", "ops")]);
    assert_eq!((code, objects(&text)), (Some(0), 3), "{text}");
    // The profile's keys are the ones signing: a stale secret is refused by the server.
    let (code, text) = run("plain", &[("AWS_PROFILE", "stale")]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("access was denied"), "{text}");
    // The environment's keys beat AWS_PROFILE (the AWS precedence): here they are wrong.
    let mut both = env_keys.to_vec();
    both.push(("AWS_PROFILE", "ops"));
    let (code, text) = run("plain", &both);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("access was denied"), "{text}");
    // The profile's endpoint is the store's place: the same bucket through an endpoint
    // written out is the same place, and a sync between the two is refused.
    let (code, text) = stratus(&["config", "check"], &[]);
    assert_eq!(code, Some(0), "{text}");
    // ... and where each store's keys come from, without a request.
    for (store, source) in [
        ("named", "AWS profile `ops`: keys in the shared files"),
        ("explicit", "keys in the config file"),
        ("plain", "the instance metadata service, if it answers"),
    ] {
        let block = text.split(&format!("\n{store}  (s3)")).nth(1).expect(&text);
        let line = block
            .lines()
            .find(|l| l.contains("credentials:"))
            .expect(&text);
        assert!(line.contains(source), "{store}: {line}");
    }
    let (_, text) = stratus(&["config", "check"], &[("AWS_PROFILE", "ops")]);
    assert!(
        text.contains("credentials: AWS profile `ops`: keys in the shared files")
            && !text.contains("instance metadata"),
        "{text}"
    );
    let (_, text) = stratus(&["config", "check"], &env_keys);
    assert!(
        text.contains("credentials: the environment (AWS_ACCESS_KEY_ID)"),
        "{text}"
    );
    let place = format!(
        "place: s3 {} bucket {bucket} /{prefix}",
        endpoint.trim_end_matches('/').to_ascii_lowercase()
    );
    assert_eq!(text.matches(&place).count(), 2, "{place}\n{text}");
    let (code, text) = stratus(&["sync", "named", "explicit", "--delete"], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("both reach"), "{text}");
    // A profile that is nowhere is named, with both files, before any request.
    let (code, text) = run("plain", &[("AWS_PROFILE", "missing")]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("the AWS profile `missing` (AWS_PROFILE) is in neither"),
        "{text}"
    );
    assert!(text.contains(&credentials.display().to_string()), "{text}");
}

/// A profile whose keys come from a `credential_process` that hands out short-lived keys
/// of two identities in turn (each expiring a second after it is printed): the program
/// runs again whenever the keys it gave are about to expire, every listing request of a
/// folder-by-folder walk is signed with what it printed last, and both identities are
/// accepted. A program that fails is named, with its profile, and nothing it printed is
/// quoted.
#[tokio::test]
async fn a_credential_process_is_run_again_when_its_keys_expire() {
    let admin = seaweed_identity(Identity::Admin);
    let reader = seaweed_identity(Identity::Reader);
    let prefix = common::unique_prefix("process");
    let Some(seed) = seaweed_config(&prefix, &admin.0, &admin.1, "") else {
        return;
    };
    let store = seed.open("sw").unwrap();
    for k in ["a/1", "b/2", "c/3", "d/4", "top"] {
        store.put(&Path::from(k), "xyz".into()).await.unwrap();
    }
    let endpoint = Backend::SeaweedFs.endpoint().unwrap();
    let bucket = std::env::var("STRATUS_TEST_BUCKET").unwrap_or_else(|_| "stratus".into());
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let script = dir.path().join("creds.py");
    // Odd runs print the admin's keys, even runs the reader's; each logs its identity.
    std::fs::write(
        &script,
        format!(
            r#"import datetime, json, sys
runs = {:?}
try:
    n = len(open(runs).read().split())
except FileNotFoundError:
    n = 0
who = "admin" if n % 2 == 0 else "reader"
open(runs, "a").write(who + "\n")
keys = {{"admin": ({:?}, {:?}), "reader": ({:?}, {:?})}}[who]
if len(sys.argv) > 1:
    print("s3cr3t-in-a-failure " + keys[1])
    sys.exit(7)
soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
print(json.dumps({{"Version": 1, "AccessKeyId": keys[0], "SecretAccessKey": keys[1],
                  "Expiration": soon.strftime("%Y-%m-%dT%H:%M:%SZ")}}))
"#,
            runs.display().to_string(),
            admin.0,
            admin.1,
            reader.0,
            reader.1
        ),
    )
    .unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[profile rot]\nregion = us-east-1\ncredential_process = python3 '{0}'\n\
             [profile broken]\ncredential_process = python3 '{0}' fail\n",
            script.display()
        ),
    )
    .unwrap();
    let stores = dir.path().join("stores.toml");
    std::fs::write(
        &stores,
        format!(
            "[stores.rot]\nprovider = \"s3\"\nflavor = \"seaweedfs\"\nprofile = \"rot\"\n\
             bucket = \"{bucket}\"\nprefix = \"{prefix}\"\nendpoint = \"{endpoint}\"\n\
             allow_http = true\nretry = {{ max_retries = 0 }}\n\
             [stores.broken]\nprovider = \"s3\"\nprofile = \"broken\"\nbucket = \"{bucket}\"\n\
             endpoint = \"{endpoint}\"\nallow_http = true\nretry = {{ max_retries = 0 }}\n"
        ),
    )
    .unwrap();
    let stratus = |name: &str| {
        let mut command = Command::new(common::stratus());
        command
            .args(["inventory", name, "--json", "--config"])
            .arg(&stores)
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"));
        for var in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"] {
            command.env_remove(var);
        }
        let out = command.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !text.contains(&admin.1) && !text.contains(&reader.1),
            "{text}"
        );
        (out.status.code(), text)
    };
    let (code, text) = stratus("rot");
    assert_eq!(code, Some(0), "{text}");
    let report: serde_json::Value = serde_json::Deserializer::from_str(&text)
        .into_iter()
        .next()
        .expect(&text)
        .expect(&text);
    assert_eq!(report["objects"], 5, "{text}");
    let log = std::fs::read_to_string(&runs).unwrap();
    // A walk of four folders and the top: five listings at least, each with fresh keys.
    assert!(log.lines().count() >= 5, "{log}");
    assert!(log.contains("admin") && log.contains("reader"), "{log}");

    let mut check = Command::new(common::stratus());
    let out = check
        .args(["config", "check", "--config"])
        .arg(&stores)
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("credentials: AWS profile `rot`: its credential_process `python3`"),
        "{text}"
    );
    let runs_before = std::fs::read_to_string(&runs).unwrap().lines().count();

    let (code, text) = stratus("broken");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("credential_process `python3` of the AWS profile `broken` failed"),
        "{text}"
    );
    assert!(text.contains("exit status: 7"), "{text}");
    // config check ran nothing; the broken profile's program ran once.
    let runs_after = std::fs::read_to_string(&runs).unwrap().lines().count();
    assert_eq!(runs_after, runs_before + 1);
}

// ---------------------------------------------------------------------------------------
// sync and verify over key ranges on the real server's order.

/// `sync` with `delete` and `verify` over key ranges between two prefixes of SeaweedFS
/// listed as the server lists (folder by folder where names sort around `/`): a flat
/// folder of hashed names beside names that sort differently by folder and by byte. The
/// destination holds a stale copy of every source key and keys of its own. The sync ends
/// with the destination equal to the source, or fails saying the order is not key order;
/// either way no source key is deleted. A flat folder alone is exact.
#[tokio::test]
async fn a_ranged_sync_on_seaweedfs_is_exact_or_refused_and_deletes_no_source_key() {
    let (key, secret) = seaweed_identity(Identity::Admin);
    let flat: Vec<String> = (0..400u64)
        .map(|i| format!("flat/{:08x}", i.wrapping_mul(0x9E37_79B9) % (1 << 32)))
        .collect();
    let mut mixed = flat.clone();
    mixed.extend(ORDER_KEYS.iter().map(|k| format!("m/{k}")));
    mixed.extend((0..60).map(|i| format!("m/a/{i:02}")));
    mixed.extend((0..60).map(|i| format!("m/a-{i:02}")));
    for (name, keys, exact) in [("flat", &flat, true), ("mixed", &mixed, false)] {
        let base = common::unique_prefix(&format!("ranged-sync-{name}"));
        let (Some(src), Some(dst)) = (
            seaweed_config(&format!("{base}/src"), &key, &secret, ""),
            seaweed_config(&format!("{base}/dst"), &key, &secret, ""),
        ) else {
            return;
        };
        let (src, dst) = (src.open("sw").unwrap(), dst.open("sw").unwrap());
        let puts = keys.iter().map(|k| {
            let (src, dst) = (Arc::clone(&src), Arc::clone(&dst));
            async move {
                let path = Path::from(k.as_str());
                src.put(&path, body(k, 3).into()).await.unwrap();
                dst.put(&path, body(k, 7).into()).await.unwrap();
            }
        });
        futures::future::join_all(puts).await;
        for own in ["flat/zz-own", "m/zz-own"] {
            dst.put(&Path::from(own), "own".into()).await.unwrap();
        }
        let options = stratus::sync::SyncOptions::default()
            .with_key_ranges(true)
            .with_concurrency(8)
            .with_range_block(25)
            .with_delete(true)
            .with_max_delete(stratus::sync::DeleteLimit::Unlimited);
        let listed = |store: &Arc<dyn ObjectStore>| {
            let store = Arc::clone(store);
            async move {
                let mut all: Vec<(String, u64)> = store
                    .list(None)
                    .map_ok(|m| (m.location.to_string(), m.size))
                    .try_collect()
                    .await
                    .unwrap();
                all.sort();
                all
            }
        };
        match stratus::sync::sync(src.as_ref(), dst.as_ref(), &options).await {
            Ok(report) => {
                assert_eq!(report.failed, 0, "{name}: {report:?}");
                assert_eq!(listed(&dst).await, listed(&src).await, "{name}");
                let found = stratus::sync::verify(src.as_ref(), dst.as_ref(), &options)
                    .await
                    .unwrap();
                assert!(found.is_identical(), "{name}: {found:?}");
            }
            Err(e) => {
                assert!(!exact, "{name}: {e}");
                assert!(e.to_string().contains("key order"), "{name}: {e}");
                let left = listed(&dst).await;
                for k in keys.iter() {
                    assert!(left.iter().any(|(l, _)| l == k), "{name}: {k} was deleted");
                }
            }
        }
    }
}
