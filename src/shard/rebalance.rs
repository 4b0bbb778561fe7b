//! Move objects to their owners after a membership change: [`plan`], then [`execute`].
//!
//! Both work on a [`ShardedStore`] built with the *target* placement and, while objects
//! still sit on their old owners, [`ShardedStore::with_previous`] the old one — the same
//! store the application reads and writes through during the move.
//!
//! [`execute`] documents what each move does and why an interruption loses nothing.

use super::ShardedStore;
use crate::member::tag;
use crate::transfer::{digest, transfer, MULTIPART_THRESHOLD};
use crate::{Error, Result};
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One object to move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The object's key.
    pub location: Path,
    /// The member it is on.
    pub from: String,
    /// The member that owns it.
    pub to: String,
    /// Its size when listed.
    pub size: u64,
}

/// What must move to put every object on its owner.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The moves, in the order the members' listings delivered them.
    pub moves: Vec<Move>,
    /// Objects listed on all members.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Moves and bytes along one route (source member, target member).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Route {
    /// Objects to move.
    pub moves: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl Plan {
    /// Moves and bytes per (source, target) member, sorted by names.
    pub fn routes(&self) -> BTreeMap<(String, String), Route> {
        let mut routes: BTreeMap<(String, String), Route> = BTreeMap::new();
        for m in &self.moves {
            let route = routes.entry((m.from.clone(), m.to.clone())).or_default();
            route.moves += 1;
            route.bytes += m.size;
        }
        routes
    }

    /// The bytes the moves carry.
    pub fn move_bytes(&self) -> u64 {
        self.moves.iter().map(|m| m.size).sum()
    }
}

/// List every member of `store` (members of the previous placement too), all at once, and
/// plan a move for each object that is not on its owner.
///
/// The plan holds one [`Move`] per misplaced object (about 100 bytes plus the key), not
/// the listing.
pub async fn plan(store: &ShardedStore) -> Result<Plan> {
    // Every member is listed at once; entries come in as they arrive.
    let listings = store.stores().enumerate().map(|(index, (name, member))| {
        member
            .list(None)
            .map(move |meta| (index, name, meta))
            .boxed()
    });
    let mut listings = futures::stream::select_all(listings);
    let mut plan = Plan::default();
    while let Some((index, name, meta)) = listings.next().await {
        let meta = meta.map_err(|source| Error::Listing {
            store: name.to_owned(),
            prefix: String::new(),
            source: Box::new(source),
        })?;
        plan.objects += 1;
        plan.bytes += meta.size;
        let (owner, owner_name) = store.owner_entry(&meta.location);
        if owner != index {
            plan.moves.push(Move {
                to: owner_name.to_owned(),
                from: name.to_owned(),
                location: meta.location,
                size: meta.size,
            });
        }
    }
    Ok(plan)
}

/// How [`execute`] checks a copy before deleting the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Verify {
    /// The copy's size (from a `head`) must equal the bytes read.
    Size,
    /// Read the copy back: its size and XXH3-128 digest must equal the bytes read.
    #[default]
    Content,
}

/// Progress of [`execute`], after each finished move.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Moves finished (moved, already in place, or failed).
    pub done: u64,
    /// Moves in the plan.
    pub total: u64,
    /// Bytes of the finished moves.
    pub bytes: u64,
    /// Moves that failed so far.
    pub failed: u64,
}

/// Options of [`execute`]. The default: 8 moves at once, verify content, not a dry run.
#[derive(Clone)]
#[non_exhaustive]
pub struct ExecuteOptions {
    /// Moves in flight at once (at least 1).
    pub concurrency: usize,
    /// How a copy is checked.
    pub verify: Verify,
    /// Report what would be done, touching nothing.
    pub dry_run: bool,
    /// Called after each finished move.
    pub progress: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            verify: Verify::Content,
            dry_run: false,
            progress: None,
        }
    }
}

impl std::fmt::Debug for ExecuteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecuteOptions")
            .field("concurrency", &self.concurrency)
            .field("verify", &self.verify)
            .field("dry_run", &self.dry_run)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl ExecuteOptions {
    /// Set `concurrency` (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Set how copies are verified.
    pub fn with_verify(mut self, verify: Verify) -> Self {
        self.verify = verify;
        self
    }

    /// Only report what would be done.
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Call `progress` after each finished move.
    pub fn with_progress(mut self, progress: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }
}

/// A move that failed; the object is still on `from`.
#[derive(Debug)]
pub struct Failure {
    /// The move.
    pub what: Move,
    /// Why, naming the member.
    pub error: object_store::Error,
}

/// What [`execute`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Report {
    /// Objects copied, verified and deleted from their old member.
    pub moved: u64,
    /// Objects whose owner already had them; only the old copy was deleted.
    pub already_there: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Moves that failed, each leaving its object where it was.
    pub failures: Vec<Failure>,
    /// Whether this was a dry run (nothing was touched; `moved` counts what would move).
    pub dry_run: bool,
}

enum Outcome {
    Moved(u64),
    AlreadyThere,
}

/// Carry out `plan` on `store`, `options.concurrency` moves at a time. Failed moves are
/// reported, not fatal: every other move still runs.
///
/// # Each move
///
/// The move of `key` from member `A` to its owner `B`:
///
/// 1. If `B` already has `key`, `B`'s copy wins: it is either a copy made by an earlier,
///    interrupted run (writes are atomic, so it is complete) or a newer write through the
///    sharded store, which sends writes to the new owner. Go to step 3.
/// 2. Copy `A`'s object to `B`, streaming it, with `PutMode::Create` (objects up to
///    16 MiB), so that a write to `B` that lands first is never overwritten. Larger
///    objects use a multipart upload, which cannot be conditional: `B` is checked just
///    before, and a write to `B` between that check and the end of the upload would be
///    overwritten by the older copy. Then verify: `B`'s object must have the size read
///    from `A`, and with [`Verify::Content`] (the default) the XXH3-128 digest of `B`'s
///    bytes, read back, must equal that of the bytes read from `A`.
/// 3. Delete `key` from `A`.
///
/// A failure at any step leaves `A`'s copy in place, so no object is lost; the move is
/// reported in [`Report::failures`] and the next [`plan`] finds it again. Interrupting a
/// run (dropping the future, killing the process) is safe for the same reason, and
/// running [`plan`] and [`execute`] again finishes what is left.
pub async fn execute(store: &ShardedStore, plan: &Plan, options: &ExecuteOptions) -> Report {
    let mut report = Report {
        dry_run: options.dry_run,
        ..Report::default()
    };
    let mut progress = Progress {
        total: plan.moves.len() as u64,
        ..Progress::default()
    };
    if options.dry_run {
        report.moved = progress.total;
        report.bytes = plan.move_bytes();
        return report;
    }
    let stores: BTreeMap<&str, &Arc<dyn ObjectStore>> = store.stores().collect();
    let mut moves = futures::stream::iter(&plan.moves)
        .map(|what| {
            let stores = &stores;
            async move { (what, move_one(stores, what, options.verify).await) }
        })
        .buffer_unordered(options.concurrency.max(1));
    while let Some((what, outcome)) = moves.next().await {
        progress.done += 1;
        match outcome {
            Ok(Outcome::Moved(bytes)) => {
                report.moved += 1;
                report.bytes += bytes;
                progress.bytes += bytes;
            }
            Ok(Outcome::AlreadyThere) => report.already_there += 1,
            Err(error) => {
                progress.failed += 1;
                report.failures.push(Failure {
                    what: what.clone(),
                    error,
                });
            }
        }
        if let Some(callback) = &options.progress {
            callback(progress);
        }
    }
    report
}

async fn move_one(
    stores: &BTreeMap<&str, &Arc<dyn ObjectStore>>,
    what: &Move,
    verify: Verify,
) -> object_store::Result<Outcome> {
    let member = |name: &str| {
        stores
            .get(name)
            .copied()
            .ok_or_else(|| object_store::Error::Generic {
                store: "ShardedStore",
                source: format!("the plan names member {name:?}, which the store does not have")
                    .into(),
            })
    };
    let (from, to) = (member(&what.from)?, member(&what.to)?);
    let key = &what.location;
    let present = match to.head(key).await {
        Ok(_) => true,
        Err(object_store::Error::NotFound { .. }) => false,
        Err(err) => return Err(tag(&what.to, err)),
    };
    let outcome = if present {
        Outcome::AlreadyThere
    } else {
        let mode = if what.size > MULTIPART_THRESHOLD {
            PutMode::Overwrite
        } else {
            PutMode::Create
        };
        let copied = match transfer(from.as_ref(), key, to.as_ref(), key, mode).await {
            Ok(copied) => copied,
            // A write to the new owner got there first: it wins, as in step 1.
            Err(object_store::Error::AlreadyExists { .. }) => {
                return delete_original(from, what)
                    .await
                    .map(|()| Outcome::AlreadyThere)
            }
            Err(err) => return Err(tag(&format!("{} -> {}", what.from, what.to), err)),
        };
        // The copy's size and, when verifying content, whether its digest matches.
        let (size, digest_matches) = match verify {
            Verify::Size => to.head(key).await.map(|meta| (meta.size, true)),
            Verify::Content => digest(to.as_ref(), key)
                .await
                .map(|d| (d.size, d.digest == copied.digest)),
        }
        .map_err(|err| tag(&what.to, err))?;
        if size != copied.size || !digest_matches {
            return Err(tag(
                &what.to,
                object_store::Error::Generic {
                    store: "ShardedStore",
                    source: format!(
                        "the copy of {key} does not match the original ({} bytes read, {} \
                         bytes in the copy{}); the original is kept",
                        copied.size,
                        size,
                        if size == copied.size {
                            ", digests differ"
                        } else {
                            ""
                        }
                    )
                    .into(),
                },
            ));
        }
        Outcome::Moved(copied.size)
    };
    delete_original(from, what).await?;
    Ok(outcome)
}

async fn delete_original(from: &Arc<dyn ObjectStore>, what: &Move) -> object_store::Result<()> {
    match from.delete(&what.location).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(err) => Err(tag(&what.from, err)),
    }
}

/// Plan and execute in one call, returning both.
pub async fn rebalance(store: &ShardedStore, options: &ExecuteOptions) -> Result<(Plan, Report)> {
    let plan = plan(store).await?;
    let report = execute(store, &plan, options).await;
    Ok((plan, report))
}
