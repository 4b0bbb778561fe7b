//! Review 9: adversarial tests of 363752f's fixes to `Scan::explore`, `Scan::checked`,
//! `Scan::is_child`, `Scan::only_folder` and `Scan::discover` (src/inventory/mod.rs).
//! Each test says FINDING (fails on 201fd21, and why) or HELD UP (passes; what it
//! tried). The findings are fixed: a delimiter listing is refused, naming what is wrong,
//! unless each folder is one segment below the node and listed once, and each object is
//! directly in the node and listed once (or anywhere below it when the listing gives no
//! folder: a server that ignores the delimiter).

mod common;
mod scan_probe;

use chrono::Utc;
use object_store::path::Path;
use object_store::*;
use scan_probe::*;
use stratus::inventory::{scan, Report};

/// A delimiter listing with `folders` and `objects` (keys; sizes and times from `by_key`).
fn listing(folders: &[&str], objects: &[&str]) -> ListResult {
    ListResult {
        common_prefixes: folders.iter().map(|f| Path::from(*f)).collect(),
        objects: objects
            .iter()
            .map(|k| {
                by_key(ObjectMeta {
                    location: Path::from(*k),
                    last_modified: Utc::now(),
                    size: 0,
                    e_tag: None,
                    version: None,
                })
            })
            .collect(),
        extensions: Default::default(),
    }
}

/// Runs `store` at concurrency 2..8 (and as parts 2..5 merged) against the sequential
/// scan; every disagreement (wrong report, or no answer) as text.
async fn disagreements(store: &Probe, prefix: Option<&Path>, depths: &[usize]) -> Vec<String> {
    let plain = scan(store, prefix, &options(1, 1000)).await.unwrap();
    let mut wrong = Vec::new();
    for &depth in depths {
        for concurrency in [2, 4, 8] {
            let o = options(concurrency, 1000).with_discovery_depth(depth);
            match within(10, store, prefix, &o).await {
                Some(Ok(r)) if r != plain => wrong.push(format!(
                    "depth {depth} concurrency {concurrency}: {} objects, plain {}",
                    r.objects, plain.objects
                )),
                None => wrong.push(format!("depth {depth} concurrency {concurrency}: hang")),
                _ => {}
            }
        }
        for parts in [2, 5] {
            let mut merged: Option<Report> = None;
            let mut failed = false;
            for k in 1..=parts {
                let o = options(3, 1000)
                    .with_discovery_depth(depth)
                    .with_part(k, parts);
                match within(10, store, prefix, &o).await {
                    Some(Ok(part)) => match merged.as_mut() {
                        None => merged = Some(part),
                        Some(m) => m.merge(part).unwrap(),
                    },
                    Some(Err(_)) => failed = true,
                    None => {
                        wrong.push(format!("depth {depth} parts {parts}: hang"));
                        failed = true;
                    }
                }
            }
            if !failed {
                let mut merged = merged.unwrap();
                merged.parts.take();
                merged.finish();
                if merged != plain {
                    wrong.push(format!(
                        "depth {depth} parts {parts}: {} objects, plain {}",
                        merged.objects, plain.objects
                    ));
                }
            }
        }
    }
    wrong
}

/// 1,500 keys in each of `a/b/`, `a/c/` (in subfolders `x`, `y`), and `n` directly in `a`.
fn two_folders(direct: usize) -> Vec<String> {
    let mut keys = Vec::new();
    for f in ["b", "c"] {
        for i in 0..1500 {
            keys.push(format!(
                "a/{f}/{}/k{i:04}",
                if i % 2 == 0 { "x" } else { "y" }
            ));
        }
    }
    keys.extend((0..direct).map(|i| format!("a/d{i}")));
    keys.sort();
    keys
}

/// FINDING (double count). A delimiter listing that names the node itself *beside* its
/// real folders (`a` -> `a/b`, `a/c`, `a`): `checked` accepts the node ("listed again"),
/// so `a` goes to the frontier with `a/b` and `a/c`, and is split again into `a/b`, `a/c`,
/// `a` ... : each level lists `a/b` and `a/c` once more, and the objects directly in `a`
/// are counted at every level. Expected: the plain report, or an error. Observed: 6,006
/// objects at depth 2 and 9,009 at depth 3 (plain 3,003), concurrency 2..8 and parts alike.
#[tokio::test]
async fn the_node_beside_its_folders_is_not_counted_twice() {
    let inner = filled(&two_folders(3)).await;
    let store = Probe::new(inner).delimiter(|prefix, mut level| {
        if prefix == Some("a") {
            level.common_prefixes.push(Path::from("a"));
        }
        level
    });
    let wrong = disagreements(&store, None, &[2, 3]).await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// FINDING (double count). The root's delimiter listing naming the empty path beside the
/// real folders (`None` -> `a`, ``): every folder is "inside" the root, so `""` is
/// explored (listing the whole bucket) beside `a`. Observed: 6,000 objects (plain 3,000)
/// at depth 1..3, concurrency 2..8 and parts 2, 5.
#[tokio::test]
async fn the_empty_path_beside_the_roots_folders_is_not_counted_twice() {
    let inner = filled(&two_folders(0)).await;
    let store = Probe::new(inner).delimiter(|prefix, mut level| {
        if prefix.is_none() {
            level.common_prefixes.push(Path::from(""));
        }
        level
    });
    let wrong = disagreements(&store, None, &[1, 2, 3]).await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// FINDING (double count). A folder two levels down beside the folder holding it
/// (`a` -> `a/b`, `a/c`, `a/b/x`): accepted as "deeper", `a/b/x` is listed on its own and
/// again inside `a/b`. Observed: 3,750 objects (plain 3,000) at depth 2 and 3.
#[tokio::test]
async fn a_deeper_folder_beside_its_parent_is_not_counted_twice() {
    let inner = filled(&two_folders(0)).await;
    let store = Probe::new(inner).delimiter(|prefix, mut level| {
        if prefix == Some("a") {
            level.common_prefixes.push(Path::from("a/b/x"));
        }
        level
    });
    let wrong = disagreements(&store, None, &[1, 2, 3]).await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// FINDING (keys outside the prefix counted). `checked` looks at the folders only: a
/// delimiter listing of the scanned prefix `a/b` holding an *object* outside it (`a/z/k`,
/// `zz`) beside its honest folders has those objects counted. Observed: 1,502 objects
/// (plain 1,500) at depth 1 and 2, concurrency 2..8 and parts.
#[tokio::test]
async fn objects_outside_the_node_are_not_counted() {
    let mut keys: Vec<String> = (0..1500)
        .map(|i| format!("a/b/{}/k{i:04}", if i % 2 == 0 { "x" } else { "y" }))
        .collect();
    keys.push("a/z/k".into());
    keys.push("zz".into());
    let inner = filled(&keys).await;
    let store = Probe::new(inner).delimiter(|prefix, mut level| {
        if prefix == Some("a/b") {
            level.objects.extend(listing(&[], &["a/z/k", "zz"]).objects);
        }
        level
    });
    let prefix = Path::from("a/b");
    let wrong = disagreements(&store, Some(&prefix), &[1, 2]).await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// FINDING (double count). Objects deep beside the folders holding them (`a` -> objects
/// `a/b/x/k0000` and the folder `a/b`): the object is counted while exploring `a` and
/// again when `a/b` is listed. Observed: 3,001 (plain 3,000) at depth 2.
#[tokio::test]
async fn objects_deep_inside_a_folder_listed_are_not_counted_twice() {
    let inner = filled(&two_folders(0)).await;
    let store = Probe::new(inner).delimiter(|prefix, mut level| {
        if prefix == Some("a") {
            level.objects.extend(listing(&[], &["a/b/x/k0000"]).objects);
        }
        level
    });
    let wrong = disagreements(&store, None, &[1, 2]).await;
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// HELD UP. Mixed valid and invalid folders (`a` -> `a/b`, `a/c` and a sibling `b~ é`,
/// the empty path for a non-root node, `ab` and `a~/b` sharing its first bytes, or `a b/x`): the scan fails,
/// at concurrency 2..8 and as parts 2..5, and the error names the folder; never a hang.
#[tokio::test]
async fn a_folder_outside_among_valid_ones_fails_naming_it() {
    let inner = filled(&two_folders(2)).await;
    for bad in ["b~ é", "a b/x", "", "ab", "a~/b"] {
        let path = Path::parse(bad).unwrap_or_else(|_| Path::from(bad));
        let name = path.to_string();
        let store = Probe::new(inner.clone()).delimiter(move |prefix, mut level| {
            if prefix == Some("a") {
                level.common_prefixes.insert(1, path.clone());
            }
            level
        });
        let mut all = vec![options(1, 1000).with_discovery_depth(2)];
        for c in [2, 8] {
            all.push(options(c, 1000).with_discovery_depth(2));
        }
        for n in [2, 5] {
            for k in 1..=n {
                all.push(options(3, 1000).with_part(k, n).with_discovery_depth(2));
            }
        }
        for o in all.iter().skip(1) {
            match within(10, &store, None, o).await {
                Some(Err(e)) => {
                    let text = e.to_string();
                    assert!(
                        text.contains("not one segment below the prefix")
                            && text.contains(&format!("`{name}`")),
                        "{bad:?}: {text}"
                    );
                }
                other => panic!("{bad:?}: {:?}", other.map(|r| r.map(|r| r.objects))),
            }
        }
    }
}

/// HELD UP. Chains of 0..5 lone folders (unicode, spaces, `~`) above 1,001..2,600 keys,
/// discovery depth 0..4, concurrency 2..8, target partitions 1..3, parts 2..5 merged,
/// with and without a prefix: the report is the sequential one and the delimiter
/// listings asked along the chain are at most `discovery_depth` per scan (the chain is
/// one path).
#[tokio::test]
async fn chains_spend_at_most_the_discovery_depth() {
    let segs = ["dätä", "a b", "~x", "日本", "z"];
    for len in 0..=5 {
        let keys = chained(&keys(0, 1001 + 320 * len, len as u64 + 7), &segs[..len]);
        let store = Probe::new(filled(&keys).await);
        let mut prefixes = vec![None];
        if len > 0 {
            prefixes.push(Some(Path::from(segs[0])));
        }
        for prefix in prefixes {
            let plain = scan(&store, prefix.as_ref(), &options(1, 1000))
                .await
                .unwrap();
            for depth in 0..=4 {
                for (concurrency, target) in [(2, None), (4, Some(1)), (8, Some(3))] {
                    store.forget();
                    let mut o = options(concurrency, 1000).with_discovery_depth(depth);
                    if let Some(t) = target {
                        o = o.with_target_partitions(t);
                    }
                    let r = within(10, &store, prefix.as_ref(), &o).await;
                    assert!(
                        matches!(&r, Some(Ok(r)) if *r == plain),
                        "len {len} depth {depth}"
                    );
                    let asked = store.calls("delimiter").len();
                    assert!(
                        asked <= depth,
                        "len {len} depth {depth}: {asked} delimiter listings"
                    );
                }
                for n in 2..=5 {
                    let mut merged: Option<Report> = None;
                    for k in 1..=n {
                        store.forget();
                        let o = options(3, 1000).with_discovery_depth(depth).with_part(k, n);
                        let part = scan(&store, prefix.as_ref(), &o).await.unwrap();
                        assert!(store.calls("delimiter").len() <= depth);
                        match merged.as_mut() {
                            None => merged = Some(part),
                            Some(m) => m.merge(part).unwrap(),
                        }
                    }
                    let mut merged = merged.unwrap();
                    assert!(merged.parts.take().unwrap().is_complete());
                    merged.finish();
                    assert_eq!(merged, plain, "len {len} depth {depth} parts {n}");
                }
            }
        }
    }
}

/// HELD UP. A node answered as itself (a lone folder equal to it, `a` -> `a`, repeatedly,
/// and the root -> `""` -> `""`...): bounded by the depth, delimiter listings at most
/// `discovery_depth`, and exact (at depth 0, when no delimiter listing is asked) or
/// refused naming the folder (since the findings' fix: a folder must be one segment
/// below the node).
#[tokio::test]
async fn a_node_answered_as_itself_is_bounded_by_the_depth() {
    let keys = chained(&keys(2, 2400, 5), &["a"]);
    let inner = filled(&keys).await;
    for asked in [Some("a"), None] {
        let store = Probe::new(inner.clone()).delimiter(move |prefix, level| {
            if prefix == asked || (asked.is_none() && prefix == Some("")) {
                only(asked.unwrap_or(""))
            } else {
                level
            }
        });
        let plain = scan(&store, None, &options(1, 1000)).await.unwrap();
        for depth in 0..=4 {
            store.forget();
            let o = options(4, 1000).with_discovery_depth(depth);
            let r = within(10, &store, None, &o).await;
            match r {
                Some(Ok(r)) => assert_eq!(r, plain, "{asked:?} depth {depth}"),
                Some(Err(e)) => assert!(
                    depth > 0 && e.to_string().contains("not one segment below the prefix"),
                    "{asked:?} depth {depth}: {e}"
                ),
                None => panic!("{asked:?} depth {depth}: no answer"),
            }
            assert!(
                store.calls("delimiter").len() <= depth,
                "{:?}",
                store.calls("delimiter")
            );
        }
    }
}
