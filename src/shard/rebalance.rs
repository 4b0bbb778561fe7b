//! Move objects to their owners after a membership change: [`plan`], then [`execute`].
//!
//! Both work on a [`ShardedStore`] built with the *target* placement and, while objects
//! still sit on their old owners, [`ShardedStore::with_previous`] the old one — the same
//! store the application reads and writes through during the move.
//!
//! [`execute`] documents what each move does and why an interruption loses nothing.

use super::ShardedStore;
use crate::error::tag;
use crate::place::{probe_key, same_place};
use crate::progress::{Progress, ProgressFn};
use crate::transfer::{head_if_any, transfer, transfer_absent, Stamp};
use crate::version::{self, md5_etag, same_bytes, Compare};
use crate::version::{digest, Transferred};
use crate::{Error, Result};
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, UpdateVersion};
use std::collections::{BTreeMap, BTreeSet};
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
            route.bytes = route.bytes.saturating_add(m.size);
        }
        routes
    }

    /// The bytes the moves carry.
    pub fn move_bytes(&self) -> u64 {
        self.moves
            .iter()
            .fold(0u64, |sum, m| sum.saturating_add(m.size))
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
        plan.bytes = plan.bytes.saturating_add(meta.size);
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

/// Which version [`execute`] keeps when an object's owner already holds a *different*
/// version of it (same key, other bytes).
///
/// "Newer" means later by last-modified time at the coarser of the precisions the two
/// stores report (S3 and Azure give whole seconds or milliseconds, local folders and
/// memory nanoseconds): two writes in the same second of a seconds-precision store are
/// not provably ordered, and neither wins. Times from two providers are two clocks; where
/// they may be skewed by more than the time between the writes, choose explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Prefer {
    /// The default: the owner's version wins when it is provably newer (a write through
    /// the sharded store during the rebalance: the old copy is deleted); otherwise both
    /// are kept and the conflict is reported ([`RebalanceReport::conflicts`]).
    #[default]
    Keep,
    /// The provably newer version wins, wherever it is (an older version at the owner is
    /// replaced); times not provably ordered keep both, as `Keep`.
    Newest,
    /// The old member's version wins: the owner's is replaced.
    Source,
    /// The owner's version wins: the old member's is deleted.
    Destination,
}

/// Options of [`execute`]. The default: 8 moves at once, verify content, keep both
/// versions of a conflict, 1,000 examples of conflicts and failures, not a dry run.
#[derive(Clone)]
#[non_exhaustive]
pub struct ExecuteOptions {
    /// Moves in flight at once (at least 1).
    pub concurrency: usize,
    /// How a copy is checked.
    pub verify: Compare,
    /// Which version survives when the owner holds another one.
    pub prefer: Prefer,
    /// Report what would be done, touching nothing.
    pub dry_run: bool,
    /// Conflicts and failures kept in the report as examples (all are counted).
    pub examples: usize,
    /// Called after each finished move.
    pub progress: Option<ProgressFn>,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            verify: Compare::Content,
            prefer: Prefer::Keep,
            dry_run: false,
            examples: 1000,
            progress: None,
        }
    }
}

impl std::fmt::Debug for ExecuteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecuteOptions")
            .field("concurrency", &self.concurrency)
            .field("verify", &self.verify)
            .field("prefer", &self.prefer)
            .field("dry_run", &self.dry_run)
            .field("examples", &self.examples)
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
    pub fn with_verify(mut self, verify: Compare) -> Self {
        self.verify = verify;
        self
    }

    /// Set which version survives a conflict.
    pub fn with_prefer(mut self, prefer: Prefer) -> Self {
        self.prefer = prefer;
        self
    }

    /// Keep up to `examples` conflicts and failures in the report (all are counted).
    pub fn with_examples(mut self, examples: usize) -> Self {
        self.examples = examples;
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
pub struct MoveFailure {
    /// The move.
    pub what: Move,
    /// Why, naming the member ([`Error::member`]).
    pub error: Error,
}

/// An object of which another member holds a different version that [`Prefer`] did not
/// choose between: both versions were kept, each where it was.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveConflict {
    /// The move.
    pub what: Move,
    /// The version on the old member (`what.from`).
    pub source: ObjectMeta,
    /// The other version: the owner's, or another old member's when two members the
    /// key does not belong to hold versions whose times do not order them.
    pub destination: ObjectMeta,
    /// The member holding `destination` (`what.to`, or that other member).
    pub other: String,
}

/// What [`execute`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RebalanceReport {
    /// Objects copied, verified and deleted from their old member (including those whose
    /// version replaced an older one at the owner, by [`Prefer`]).
    pub moved: u64,
    /// Objects whose owner already held the same bytes; only the old copy was deleted.
    pub already_there: u64,
    /// Objects whose owner held a version that [`Prefer`] chose over the old member's
    /// (by default: a provably newer one); the old copy was deleted.
    pub superseded: u64,
    /// Objects no longer on their old member when their move ran (deleted, or moved by
    /// another run, since the plan).
    pub vanished: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Objects whose owner holds another version, neither chosen: both kept (all of
    /// them).
    pub conflicted: u64,
    /// The first [`ExecuteOptions::examples`] of those conflicts, with both versions.
    pub conflicts: Vec<MoveConflict>,
    /// Moves that failed, each leaving its object where it was (all of them).
    pub failed: u64,
    /// The first [`ExecuteOptions::examples`] of those moves, with why.
    pub failures: Vec<MoveFailure>,
    /// Whether this was a dry run (nothing was touched; `moved` counts what would move).
    pub dry_run: bool,
}

enum Outcome {
    Moved(u64),
    AlreadyThere,
    Superseded,
    Vanished,
    MoveConflict(Box<MoveConflict>),
}

/// Carry out `plan` on `store`, `options.concurrency` moves at a time. Failed moves are
/// reported, not fatal: every other move still runs.
///
/// # Before any move: two names for one place
///
/// For each route (old member, owner) of the plan, a probe object written through the
/// owner must not be visible through the old member. If it is, the two members are one
/// place under two names (one folder or bucket configured twice, two endpoints of one
/// server): the "copy" would be the original, and deleting the original would delete the
/// only copy. Every move on such a route fails, touching nothing.
///
/// # The plan and the store
///
/// A move whose target is not its key's owner in `store` (a plan made for another
/// placement) fails, touching nothing. To roll a rebalance back, build the store with
/// the placements swapped and rebalance again with [`Prefer::Newest`]: what was written
/// during the aborted rebalance is on the members that were its new owners, and is
/// provably newer than the copies left behind (reads serve it meanwhile, see
/// [`ShardedStore`]).
///
/// # Each key
///
/// The moves of one key are carried out together, while the key's lock in `store` is
/// held (writes of the key through `store` wait; see [`ShardedStore`]'s *During a
/// rebalance*). When several old members hold the key (a stray copy an interrupted move
/// left), their versions are first ordered **by their own times**: each one must be the
/// same bytes as the newest or provably older than it ([`crate::version`]), otherwise
/// nothing of the key moves and every version is reported in
/// [`RebalanceReport::conflicts`]. Only the newest is moved (below); once it is at the
/// owner, or the owner's version won over it, the older copies are deleted (counted in
/// [`RebalanceReport::already_there`] or [`RebalanceReport::superseded`]). A copy this
/// run made is never compared as a write of its own.
///
/// # Each move
///
/// The move of `key` from member `A` to its owner `B`. The original is deleted (step 4)
/// only after `B` is proven to hold the same bytes, or a version that wins by
/// [`ExecuteOptions::prefer`]:
///
/// 1. `head` the original on `A` (gone: nothing to do, counted in [`RebalanceReport::vanished`]).
/// 2. If `B` has no `key`, copy `A`'s object to `B`, streaming it, without ever replacing
///    an object: a conditional create up to 16 MiB; above that a multipart upload just
///    after a `head` found nothing. Then verify as [`ExecuteOptions::verify`] says: by
///    default ([`Compare::Content`]) `B`'s object must have the size read from `A` and
///    the XXH3-128 digest of its bytes, read back, must equal that of the bytes read from
///    `A`.
/// 3. If `B` has `key` (before the copy, or because the conditional create was refused):
///    - same bytes (size, then MD5-form ETags when both have one, else digests of both
///      bodies): the copy is there, counted in [`RebalanceReport::already_there`];
///    - otherwise [`Prefer`] decides. By default a provably newer version at `B` (a write
///      through the sharded store, which writes to the new owner) wins, counted in
///      [`RebalanceReport::superseded`]; an older one, or one not provably ordered, keeps
///      both versions, reported in [`RebalanceReport::conflicts`], and nothing is
///      deleted. When `A`'s version wins, it replaces `B`'s with a write conditional on
///      `B`'s ETag (a store without conditional updates, such as a local folder, is
///      checked by a second `head` just before), then is verified as in step 2.
/// 4. Delete `key` from `A`.
///
/// A failure at any step leaves `A`'s copy in place, so no object is lost; the move is
/// reported in [`RebalanceReport::failures`] and the next [`plan`] finds it again.
/// Interrupting a run (dropping the future, killing the process) is safe for the same
/// reason, and running [`plan`] and [`execute`] again finishes what is left.
///
/// # Windows left
///
/// Writes through `store` (or a clone) never interleave with a move of their key. What
/// `store` cannot see remains: a process still using the *old* membership that writes
/// to `A` between step 3's proof and step 4's delete loses that write, and its write to
/// `B` between the check and the end of a multipart copy (above 16 MiB) is overwritten
/// by the older copy (object_store has no conditional delete or conditional multipart
/// upload). Stop writers that use the old membership before rebalancing, and run one
/// rebalance at a time.
pub async fn execute(
    store: &ShardedStore,
    plan: &Plan,
    options: &ExecuteOptions,
) -> RebalanceReport {
    let mut report = RebalanceReport {
        dry_run: options.dry_run,
        ..RebalanceReport::default()
    };
    let total = plan.moves.len() as u64;
    let mut progress = Progress {
        total: Some(total),
        ..Progress::default()
    };
    if options.dry_run {
        report.moved = total;
        report.bytes = plan.move_bytes();
        return report;
    }
    let stores: BTreeMap<&str, &Arc<dyn ObjectStore>> = store.stores().collect();
    let routes = distinct_routes(store, &stores, plan, options.concurrency).await;
    // The moves of one key (several members may hold it) are decided together.
    let mut keys: BTreeMap<(&Path, &str), Vec<&Move>> = BTreeMap::new();
    for what in &plan.moves {
        keys.entry((&what.location, what.to.as_str()))
            .or_default()
            .push(what);
    }
    let mut moves = futures::stream::iter(keys)
        .map(|((key, to), moves)| {
            let stores = &stores;
            let routes = &routes;
            async move {
                // No write of the key through this store while it moves.
                let _alone = store.locks().alone(key).await;
                let mut outcomes = Vec::with_capacity(moves.len());
                let mut movable = Vec::with_capacity(moves.len());
                for what in moves {
                    // A plan made for another placement would move objects off their owner.
                    if store.owner(&what.location) != what.to || what.from == what.to {
                        outcomes.push((what, Err(not_the_owner(store, what))));
                        continue;
                    }
                    match routes.get(&(what.from.as_str(), what.to.as_str())) {
                        Some(Err(why)) => outcomes.push((what, Err(why.error()))),
                        Some(Ok(())) => movable.push(what),
                        None => outcomes.push((what, Err(not_a_member(&what.from, &what.to)))),
                    }
                }
                outcomes.extend(move_key(stores, key, to, movable, options).await);
                futures::stream::iter(outcomes)
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .flatten();
    while let Some((what, outcome)) = moves.next().await {
        progress.done += 1;
        match outcome {
            Ok(Outcome::Moved(bytes)) => {
                report.moved += 1;
                report.bytes = report.bytes.saturating_add(bytes);
                progress.bytes = progress.bytes.saturating_add(bytes);
            }
            Ok(Outcome::AlreadyThere) => report.already_there += 1,
            Ok(Outcome::Superseded) => report.superseded += 1,
            Ok(Outcome::Vanished) => report.vanished += 1,
            Ok(Outcome::MoveConflict(conflict)) => {
                report.conflicted += 1;
                if report.conflicts.len() < options.examples {
                    report.conflicts.push(*conflict);
                }
            }
            Err(error) => {
                progress.failed += 1;
                report.failed += 1;
                if report.failures.len() < options.examples {
                    report.failures.push(MoveFailure {
                        what: what.clone(),
                        error: error.into(),
                    });
                }
            }
        }
        if let Some(callback) = &options.progress {
            callback(progress);
        }
    }
    report
}

/// Why a route's moves cannot run: the error each of them fails with.
#[derive(Debug)]
struct RouteError(String);

impl RouteError {
    fn error(&self) -> object_store::Error {
        object_store::Error::Generic {
            store: "ShardedStore",
            source: self.0.clone().into(),
        }
    }
}

/// Each route of the plan (old member, owner), proven to join two places, or why not.
async fn distinct_routes<'a>(
    store: &ShardedStore,
    stores: &BTreeMap<&str, &Arc<dyn ObjectStore>>,
    plan: &'a Plan,
    concurrency: usize,
) -> BTreeMap<(&'a str, &'a str), std::result::Result<(), RouteError>> {
    let routes: BTreeSet<(&str, &str)> = plan
        .moves
        .iter()
        .map(|m| (m.from.as_str(), m.to.as_str()))
        .collect();
    // Probed `concurrency` at a time, as the moves run: a route is a few requests.
    futures::stream::iter(routes)
        .map(|(from, to)| async move {
            let (Some(a), Some(b)) = (stores.get(from), stores.get(to)) else {
                return ((from, to), Ok(())); // each move names the missing member
            };
            // A probe the store never shows: a key `to` neither owns nor owned, so that
            // a listing or a read through the store, running meanwhile, never sees it.
            let probe = (0..256)
                .map(|_| probe_key())
                .find(|key| !store.shows_from(key, to))
                .unwrap_or_else(probe_key);
            let verdict = match same_place(a, b, &probe).await {
                Ok(false) => Ok(()),
                Ok(true) => Err(RouteError(format!(
                    "members {from:?} and {to:?} are one place (an object written through \
                     {to:?} is visible through {from:?}): moving between them would delete \
                     the only copy, so nothing on this route was touched; give each member \
                     its own bucket, container or folder"
                ))),
                Err(err) => Err(RouteError(format!(
                    "cannot prove that members {from:?} and {to:?} are two places (a probe \
                     object written to {to:?} failed: {err}), so nothing on this route was \
                     touched"
                ))),
            };
            ((from, to), verdict)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

/// A move whose target is not the key's owner in the store it runs on.
fn not_the_owner(store: &ShardedStore, what: &Move) -> object_store::Error {
    object_store::Error::Generic {
        store: "ShardedStore",
        source: format!(
            "the plan moves {} from {:?} to {:?}, but its owner here is {:?}: the plan was \
             made for another placement; nothing was touched (plan again with this store)",
            what.location,
            what.from,
            what.to,
            store.owner(&what.location)
        )
        .into(),
    }
}

fn not_a_member(from: &str, to: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "ShardedStore",
        source: format!("the plan names members {from:?} -> {to:?}, which the store does not have")
            .into(),
    }
}

/// A version of the key on one old member, as found by a `head`.
struct Held<'a> {
    what: &'a Move,
    store: &'a Arc<dyn ObjectStore>,
    meta: ObjectMeta,
}

/// What happened to each of `moves` (every move of `key` to owner `to`).
type Outcomes<'a> = Vec<(&'a Move, object_store::Result<Outcome>)>;

/// Move `key` from the members of `moves` to its owner `to`, all decided at once (see
/// [`execute`]): the versions on the old members are ordered by their own times first,
/// and only the newest is copied; a copy this run made never counts as a newer write.
async fn move_key<'a>(
    stores: &'a BTreeMap<&str, &Arc<dyn ObjectStore>>,
    key: &Path,
    to: &str,
    moves: Vec<&'a Move>,
    options: &ExecuteOptions,
) -> Outcomes<'a> {
    let mut outcomes: Outcomes<'a> = Vec::with_capacity(moves.len());
    let Some(owner) = stores.get(to).copied() else {
        return moves
            .into_iter()
            .map(|what| (what, Err(not_a_member(&what.from, &what.to))))
            .collect();
    };
    // 1. The originals, as they are now.
    let mut held: Vec<Held<'a>> = Vec::with_capacity(moves.len());
    for what in moves {
        let Some(store) = stores.get(what.from.as_str()).copied() else {
            outcomes.push((what, Err(not_a_member(&what.from, &what.to))));
            continue;
        };
        match head_if_any(store.as_ref(), key).await {
            Ok(Some(meta)) => held.push(Held { what, store, meta }),
            Ok(None) => outcomes.push((what, Ok(Outcome::Vanished))),
            Err(err) => outcomes.push((what, Err(tag(&what.from, err)))),
        }
    }
    if held.is_empty() {
        return outcomes;
    }
    // 2. The newest of them, by their own times: each other version must be the same
    //    bytes or provably older, else nothing moves.
    let newest = (0..held.len())
        .max_by(|&a, &b| held[a].meta.last_modified.cmp(&held[b].meta.last_modified))
        .expect("one at least");
    let mut older = Vec::with_capacity(held.len());
    for (i, other) in held.iter().enumerate().filter(|(i, _)| *i != newest) {
        let candidate = &held[newest];
        let same = same_bytes(
            (candidate.store.as_ref(), &candidate.meta),
            (other.store.as_ref(), &other.meta),
        )
        .await;
        match same {
            Ok(true) => older.push((i, Outcome::AlreadyThere)),
            Ok(false) if version::provably_newer(&candidate.meta, &other.meta) => {
                older.push((i, Outcome::Superseded))
            }
            Ok(false) => {
                return conflicts(outcomes, held, newest);
            }
            Err(err) => {
                let err = tag(&format!("{} -> {}", other.what.from, to), err);
                return fail_all(outcomes, held, &err);
            }
        }
    }
    // 3. The newest goes to the owner, or loses to the owner's version, or both stay.
    let candidate = &held[newest];
    let moved = move_one(owner, candidate, options).await;
    let keep_others = !matches!(
        moved,
        Ok(Outcome::Moved(_) | Outcome::AlreadyThere | Outcome::Superseded)
    );
    // 4. The other old members' versions: copies of the newest, or older ones. Deleted
    //    only once the owner holds the newest or a version that won over it.
    let mut rest = Vec::with_capacity(older.len());
    for (i, outcome) in older {
        let other = &held[i];
        let result = match &moved {
            _ if keep_others => match &moved {
                Ok(Outcome::MoveConflict(conflict)) => {
                    Ok(Outcome::MoveConflict(Box::new(MoveConflict {
                        what: other.what.clone(),
                        source: other.meta.clone(),
                        destination: conflict.destination.clone(),
                        other: conflict.other.clone(),
                    })))
                }
                Ok(_) => Ok(Outcome::Vanished),
                Err(err) => Err(tag(
                    &other.what.from,
                    object_store::Error::Generic {
                        store: "ShardedStore",
                        source: format!(
                            "kept: the newest version of the key (on {}) did not move: {err}",
                            candidate.what.from
                        )
                        .into(),
                    },
                )),
            },
            _ => delete_original(other.store, other.what)
                .await
                .map(|()| outcome),
        };
        rest.push((other.what, result));
    }
    outcomes.push((candidate.what, moved));
    outcomes.extend(rest);
    outcomes
}

/// Every version of the key is kept: the old members' versions conflict with the
/// newest one (`held[newest]`), which conflicts with them.
fn conflicts<'a>(mut outcomes: Outcomes<'a>, held: Vec<Held<'a>>, newest: usize) -> Outcomes<'a> {
    let (newest_meta, newest_member) = (held[newest].meta.clone(), held[newest].what.from.clone());
    let (second_meta, second_member) = held
        .iter()
        .enumerate()
        .find(|(i, _)| *i != newest)
        .map(|(_, h)| (h.meta.clone(), h.what.from.clone()))
        .expect("two versions at least");
    for (i, h) in held.into_iter().enumerate() {
        let (destination, other) = if i == newest {
            (second_meta.clone(), second_member.clone())
        } else {
            (newest_meta.clone(), newest_member.clone())
        };
        outcomes.push((
            h.what,
            Ok(Outcome::MoveConflict(Box::new(MoveConflict {
                what: h.what.clone(),
                source: h.meta,
                destination,
                other,
            }))),
        ));
    }
    outcomes
}

/// Every move of the key fails with `err`, touching nothing.
fn fail_all<'a>(
    mut outcomes: Outcomes<'a>,
    held: Vec<Held<'a>>,
    err: &object_store::Error,
) -> Outcomes<'a> {
    for h in held {
        let failed = object_store::Error::Generic {
            store: "ShardedStore",
            source: err.to_string().into(),
        };
        outcomes.push((h.what, Err(failed)));
    }
    outcomes
}

/// Move `source` (the newest version on an old member) to `to`, its owner.
async fn move_one(
    to: &Arc<dyn ObjectStore>,
    source: &Held<'_>,
    options: &ExecuteOptions,
) -> object_store::Result<Outcome> {
    let (what, from, source) = (source.what, source.store, &source.meta);
    let key = &what.location;
    let route = || format!("{} -> {}", what.from, what.to);
    // A copy where the owner has none; it never replaces an object.
    let destination = match head_if_any(to.as_ref(), key)
        .await
        .map_err(|e| tag(&what.to, e))?
    {
        Some(destination) => destination,
        None => match transfer_absent(from.as_ref(), key, to.as_ref(), key, source.size, Stamp::No)
            .await
        {
            Ok(copied) => {
                verify_copy(to.as_ref(), what, source, copied, options.verify).await?;
                delete_original(from, what).await?;
                return Ok(Outcome::Moved(copied.size));
            }
            // The owner got a version meanwhile: compare it, as below.
            Err(object_store::Error::AlreadyExists { .. }) => {
                match head_if_any(to.as_ref(), key)
                    .await
                    .map_err(|e| tag(&what.to, e))?
                {
                    Some(destination) => destination,
                    None => return Err(tag(&route(), raced(key))),
                }
            }
            Err(err) => return Err(tag(&route(), err)),
        },
    };
    // The owner holds a version: the same bytes, or one version wins, or both stay.
    let same = same_bytes((from.as_ref(), source), (to.as_ref(), &destination))
        .await
        .map_err(|e| tag(&route(), e))?;
    if same {
        delete_original(from, what).await?;
        return Ok(Outcome::AlreadyThere);
    }
    match winner(options.prefer, source, &destination) {
        Some(Side::Destination) => {
            delete_original(from, what).await?;
            Ok(Outcome::Superseded)
        }
        Some(Side::Source) => {
            let copied = replace(from.as_ref(), to.as_ref(), &destination)
                .await
                .map_err(|e| tag(&route(), e))?;
            verify_copy(to.as_ref(), what, source, copied, options.verify).await?;
            delete_original(from, what).await?;
            Ok(Outcome::Moved(copied.size))
        }
        None => Ok(Outcome::MoveConflict(Box::new(MoveConflict {
            what: what.clone(),
            source: source.clone(),
            destination,
            other: what.to.clone(),
        }))),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Source,
    Destination,
}

/// Which version `prefer` keeps, if any.
fn winner(prefer: Prefer, source: &ObjectMeta, destination: &ObjectMeta) -> Option<Side> {
    let newer = || {
        if version::provably_newer(destination, source) {
            Some(Side::Destination)
        } else if version::provably_newer(source, destination) {
            Some(Side::Source)
        } else {
            None
        }
    };
    match prefer {
        Prefer::Keep => newer().filter(|side| *side == Side::Destination),
        Prefer::Newest => newer(),
        Prefer::Source => Some(Side::Source),
        Prefer::Destination => Some(Side::Destination),
    }
}

fn raced(key: &Path) -> object_store::Error {
    object_store::Error::Generic {
        store: "ShardedStore",
        source: format!(
            "{key} appeared at the owner and disappeared again during the move; the original \
             is kept (run the rebalance again)"
        )
        .into(),
    }
}

/// Replace `destination` (the owner's version) with the object at the same key in
/// `from`, only if the owner's version is still the one compared: a write conditional on
/// its ETag, or, where the store has no conditional update, after a second `head` finds
/// it unchanged.
async fn replace(
    from: &dyn ObjectStore,
    to: &dyn ObjectStore,
    destination: &ObjectMeta,
) -> object_store::Result<Transferred> {
    let key = &destination.location;
    let changed = || object_store::Error::Precondition {
        path: key.to_string(),
        source: "the owner's version changed while the move ran; nothing was overwritten \
                 (run the rebalance again)"
            .into(),
    };
    if destination.e_tag.is_some() {
        let expected = UpdateVersion {
            e_tag: destination.e_tag.clone(),
            version: destination.version.clone(),
        };
        match transfer(from, key, to, key, PutMode::Update(expected)).await {
            Err(object_store::Error::NotImplemented { .. }) => {}
            Err(object_store::Error::Precondition { .. }) => return Err(changed()),
            other => return other,
        }
    }
    match head_if_any(to, key).await? {
        Some(now)
            if now.size == destination.size
                && now.e_tag == destination.e_tag
                && now.last_modified == destination.last_modified =>
        {
            transfer(from, key, to, key, PutMode::Overwrite).await
        }
        _ => Err(changed()),
    }
}

/// Check the copy at the owner against what was read from the original.
/// Check the copy at the owner against what was read from the original (`source`, as
/// its `head` found it), as `verify` says (see [`Compare`]; `Auto` reads the copy back
/// unless both have MD5-form ETags).
async fn verify_copy(
    to: &dyn ObjectStore,
    what: &Move,
    source: &ObjectMeta,
    copied: Transferred,
    verify: Compare,
) -> object_store::Result<()> {
    let key = &what.location;
    let by_content = || async {
        digest(to, key)
            .await
            .map(|d| (d.size, d.digest == copied.digest))
    };
    // The copy's size and whether the rest of the comparison holds.
    let (size, digest_matches) = match verify {
        Compare::Size | Compare::SizeAndModified => {
            to.head(key).await.map(|meta| (meta.size, true))
        }
        Compare::SizeAndETag => to.head(key).await.map(|meta| {
            (
                meta.size,
                meta.e_tag.is_some() && meta.e_tag == source.e_tag,
            )
        }),
        Compare::Auto => match to.head(key).await {
            Ok(meta) => match (md5_etag(source), md5_etag(&meta)) {
                (Some(x), Some(y)) => Ok((meta.size, x == y)),
                _ => by_content().await,
            },
            Err(err) => Err(err),
        },
        Compare::Content => by_content().await,
    }
    .map_err(|err| tag(&what.to, err))?;
    if size == copied.size && digest_matches {
        return Ok(());
    }
    Err(tag(
        &what.to,
        object_store::Error::Generic {
            store: "ShardedStore",
            source: format!(
                "the copy of {key} does not match the original ({} bytes read, {size} bytes \
                 in the copy{}); the original is kept",
                copied.size,
                if size == copied.size {
                    ", digests differ"
                } else {
                    ""
                }
            )
            .into(),
        },
    ))
}

async fn delete_original(from: &Arc<dyn ObjectStore>, what: &Move) -> object_store::Result<()> {
    match from.delete(&what.location).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(err) => Err(tag(&what.from, err)),
    }
}

/// Plan and execute in one call, returning both.
pub async fn rebalance(
    store: &ShardedStore,
    options: &ExecuteOptions,
) -> Result<(Plan, RebalanceReport)> {
    let plan = plan(store).await?;
    let report = execute(store, &plan, options).await;
    Ok((plan, report))
}
