//! A member's server dies mid-way through writes and comes back: writes acknowledged by a
//! quorum while it was down must all be on every member after `repair`.
//!
//! Runs its own Azurite process (the one `scripts/test.sh` installs) on a free port, so
//! killing it disturbs no other test; the other members are S3 on the shared moto server
//! and a local folder.

mod common;

use common::{unique_prefix, Backend};
use object_store::path::Path;
use object_store::ObjectStoreExt;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use stratus::replicate::{self, Compare, SyncOptions};
use stratus::Config;

const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// An Azurite process that is killed when dropped.
struct Azurite {
    child: Child,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn emulators() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/emulators")
}

fn start_azurite(port: u16, data: &std::path::Path) -> Azurite {
    let bin = emulators().join("azurite/node_modules/.bin/azurite-blob");
    let child = Azurite {
        child: Command::new(bin)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(data)
            .args(["--silent", "--skipApiVersionCheck"])
            .env_remove("AWS_CA_BUNDLE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start azurite"),
    }; // killed and waited for on drop, also if it never listens
    for _ in 0..150 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("azurite did not listen on {port} within 30 s");
}

/// Create the container (Azurite may have kept it on disk; that is fine).
fn create_container(port: u16) {
    let python = emulators().join("venv/bin/python");
    let conn = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={KEY};\
         BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    );
    let script = "import sys\n\
from azure.storage.blob import BlobServiceClient\n\
from azure.core.exceptions import ResourceExistsError\n\
try:\n    BlobServiceClient.from_connection_string(sys.argv[1]).create_container('kill')\n\
except ResourceExistsError:\n    pass\n";
    let status = Command::new(python)
        .args(["-c", script, &conn])
        .env_remove("AWS_CA_BUNDLE")
        .status()
        .expect("run python");
    assert!(status.success(), "creating the container failed");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_member_killed_and_restarted() {
    let Some(moto) = Backend::Moto.store_toml(&unique_prefix("kill")) else {
        return;
    };
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("azurite");
    std::fs::create_dir_all(&data).unwrap();
    let mut azurite = Some(start_azurite(port, &data));
    create_container(port);

    let config = format!(
        "[stores.safe]\nprovider = \"replicated\"\nmembers = [\"s3\", \"azure\", \"local\"]\n\
         write = {{ quorum = 2 }}\n\
         [stores.s3]\n{moto}\n\
         [stores.azure]\nprovider = \"azure\"\ncontainer = \"kill\"\naccount = \"devstoreaccount1\"\n\
         access_key = \"{KEY}\"\nendpoint = \"http://127.0.0.1:{port}/devstoreaccount1\"\n\
         allow_http = true\nretry = {{ max_retries = 1, retry_timeout = \"2s\", init_backoff = \"50ms\" }}\n\
         [stores.local]\nprovider = \"local\"\nroot = \"local\"\ncreate_root = true\n"
    );
    let config = Config::from_toml(&config, "kill.toml", dir.path()).unwrap();
    let safe = config.open_replicated("safe").unwrap();

    let mut acknowledged = Vec::new();
    for i in 0..300u32 {
        if i == 100 {
            drop(azurite.take()); // SIGKILL, mid-way through the writes
        }
        if i == 200 {
            azurite = Some(start_azurite(port, &data));
            create_container(port);
        }
        let key = Path::from(format!("w/{i:04}"));
        let body = format!("write {i}");
        if safe.put(&key, body.clone().into()).await.is_ok() {
            acknowledged.push((key, body));
        }
    }
    // s3 and local never failed, so every write met the quorum; the ones azure missed
    // while it was down are recorded.
    assert_eq!(acknowledged.len(), 300);
    // Writes acknowledged at the quorum may still run on a member: they end first.
    safe.flush().await;
    let missed = safe.missed();
    assert!(
        missed.len() >= 100 && missed.iter().all(|(_, _, m)| m == &["azure"]),
        "{} recorded",
        missed.len()
    );

    let report = replicate::repair(&safe, &SyncOptions::default())
        .await
        .unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert!(report.copied >= 100, "{report:?}");
    for (name, member) in safe.members() {
        for (key, body) in &acknowledged {
            let got = member
                .get(key)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got.bytes().await.unwrap(), body.as_str(), "{name} {key}");
        }
    }
    let members: Vec<_> = safe.members().map(|(_, s)| s.clone()).collect();
    for other in &members[1..] {
        let v = replicate::verify(
            &*members[0],
            &**other,
            &SyncOptions::default().with_compare(Compare::Content),
        )
        .await
        .unwrap();
        assert!(v.is_identical(), "{v:?}");
    }
    drop(azurite);
}
