//! A replicated store: every write goes to all members (here, returning once two have
//! it), reads fall back to another member. `verify` compares two stores, `repair`
//! converges the members, `sync` copies one store to another.
//! `stratus sync|verify|repair|status` (cli/) does this for stores of a config file.
//!
//! ```text
//! cargo run --example replicate      # in a temporary folder
//! ```

use stratus::object_store::{path::Path, ObjectStoreExt};
use stratus::replicate::{self, SyncOptions};
use stratus::Config;

const STORES: &str = r#"
[stores.primary]
provider = "local"
root = "primary"
create_root = true
[stores.backup]
provider = "local"
root = "backup"
create_root = true
[stores.safe]
provider = "replicated"
members = ["primary", "backup"]
write = { quorum = 1 }
[stores.archive]
provider = "local"
root = "archive"
create_root = true
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let config = Config::from_toml(STORES, "stores.toml", dir.path())?;
    let safe = config.open_replicated("safe")?;
    for i in 0..100u32 {
        let key = Path::from(format!("docs/{:02}/{i:04}.txt", i % 10));
        safe.put(&key, vec![b'a' + (i % 26) as u8; 50 + i as usize].into())
            .await?;
    }
    // Quorum writes return once one member has them; the other finishes meanwhile.
    safe.flush().await;
    println!("wrote 100 objects through {safe}");

    // Behind its back, 10 objects go missing from the backup.
    let backup = config.open("backup")?;
    for i in 0..10u32 {
        backup
            .delete(&Path::from(format!("docs/{:02}/{i:04}.txt", i % 10)))
            .await?;
    }
    let primary = config.open("primary")?;
    let options = SyncOptions::default();
    let diff = replicate::verify(primary.as_ref(), backup.as_ref(), &options).await?;
    println!(
        "verify: {} same, {} missing on backup",
        diff.same, diff.missing_in_b
    );

    // A read still finds them (falling back to primary); repair puts them back.
    assert!(safe.head(&Path::from("docs/00/0000.txt")).await.is_ok());
    let repaired = replicate::repair(&safe, &options).await?;
    println!(
        "repair: {} copied, {} consistent",
        repaired.copied, repaired.consistent
    );

    // A one-way sync to a third store (with `with_delete(true)`, a mirror).
    let archive = config.open("archive")?;
    let synced = replicate::sync(&safe, archive.as_ref(), &options).await?;
    println!(
        "sync to archive: {} copied, {} failed",
        synced.copied, synced.failed
    );
    Ok(())
}
