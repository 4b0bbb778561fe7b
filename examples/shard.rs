//! A sharded store: one store over several, each key placed on one member by weighted
//! rendezvous hashing; after a membership change, `rebalance` moves what must move.
//! `stratus shard locate|plan|rebalance` (cli/) does this for a store of a config file.
//!
//! ```text
//! cargo run --example shard          # in a temporary folder
//! ```

use stratus::object_store::{path::Path, ObjectStoreExt};
use stratus::shard::{self, ExecuteOptions};
use stratus::Config;

/// Four local folders; `objects` is sharded over three of them.
const MEMBERS: &str = r#"
[stores.east]
provider = "local"
root = "east"
create_root = true
[stores.west]
provider = "local"
root = "west"
create_root = true
[stores.north]
provider = "local"
root = "north"
create_root = true
[stores.south]
provider = "local"
root = "south"
create_root = true
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let sharded = "[stores.objects]\nprovider = \"sharded\"\n";
    let before = format!("{MEMBERS}{sharded}members = [\"east\", \"west\", \"north\"]\n");
    let store = Config::from_toml(&before, "before.toml", dir.path())?.open("objects")?;
    for i in 0..2000u32 {
        let key = Path::from(format!("logs/{:02}/{i:05}.log", i % 24));
        store
            .put(&key, vec![b'x'; 100 + i as usize % 4000].into())
            .await?;
    }
    println!("wrote 2,000 objects to {store}");

    // Add `south` with weight 2: `previous` is the old membership, until rebalanced.
    let after = format!(
        "{MEMBERS}{sharded}members = [\"east\", \"west\", \"north\", {{ store = \"south\", weight = 2 }}]\n\
         previous = [\"east\", \"west\", \"north\"]\n"
    );
    let store = Config::from_toml(&after, "after.toml", dir.path())?.open_sharded("objects")?;
    let key = Path::from("logs/05/00029.log");
    println!("{key} is now owned by {}", store.owner(&key));
    // Reads find every object during the move: at its owner, else at its previous one.
    assert!(store.head(&key).await.is_ok());

    let plan = shard::plan(&store).await?;
    for ((from, to), route) in plan.routes() {
        println!("  {from} -> {to}: {} objects", route.moves);
    }
    let report = shard::execute(&store, &plan, &ExecuteOptions::default()).await;
    println!("moved {} objects, {} failed", report.moved, report.failed);
    println!("left to move: {}", shard::plan(&store).await?.moves.len());
    Ok(())
}
