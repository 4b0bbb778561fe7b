//! Inventory a store: open it from a config file, scan it, print the report's summary.
//! The `stratus inventory` command (cli/) does the same with every option and format.
//!
//! ```text
//! cargo run --example inventory                     # the bundled sample tree
//! cargo run --example inventory -- stores.toml      # the default store of another file
//! ```

use stratus::inventory::{scan, ScanOptions};
use stratus::text::{human_bytes, terminal, thousands};

#[tokio::main]
async fn main() -> stratus::Result<()> {
    let file = std::env::args().nth(1);
    let file = file.as_deref().unwrap_or("fixtures/stores/local.toml");
    let store = stratus::Config::load(file)?.open_default()?;

    // Two levels of prefixes, the five largest objects; listings run in parallel and the
    // report's memory stays bounded however many objects there are.
    let options = ScanOptions::default().with_depth(2).with_top(5);
    let report = scan(store.as_ref(), None, &options).await?;

    println!("{store}");
    println!(
        "  {} objects, {} ({} empty)",
        thousands(report.objects),
        human_bytes(report.bytes),
        thousands(report.zero_byte_objects)
    );
    if let (Some(oldest), Some(newest)) = (report.oldest, report.newest) {
        println!(
            "  modified {} .. {}",
            oldest.date_naive(),
            newest.date_naive()
        );
    }
    println!("top-level prefixes:");
    for entry in report.prefixes.entries().iter().filter(|e| e.depth == 1) {
        println!(
            "  {:>10}  {:>6} objects  {}/",
            human_bytes(entry.bytes),
            thousands(entry.objects),
            // Keys come from outside: made safe before they reach a terminal.
            terminal(&entry.prefix)
        );
    }
    println!("largest objects:");
    for object in report.top.largest() {
        println!(
            "  {:>10}  {}",
            human_bytes(object.size),
            terminal(&object.key)
        );
    }
    if let Some(unlisted) = &report.unlisted {
        println!("warning: {}", unlisted.describe());
    }
    Ok(())
}
