//! [`repair`] and [`repair_recorded`]: converge the members of a replicated store, by
//! the same merged listings as [`crate::sync`], and the hand-off of what a member missed.

use super::policy::Missed;
use super::store::ReplicatedStore;
use crate::error::tag;
use crate::sync::{keep, located, rows, DeleteLimit, Row, SyncOptions};
use crate::transfer::{head_if_any, transfer, transfer_absent, Stamp};
use crate::version;
use futures::stream::{self, BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{Error, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, Result};
use std::collections::{BTreeMap, BTreeSet};

/// A key whose members held different versions, and what [`repair`] chose.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RepairConflict {
    /// The key.
    pub location: Path,
    /// The member whose version was kept.
    pub kept: String,
    /// The members that held another version (overwritten).
    pub overwritten: Vec<String>,
}

/// What [`repair`] did (or, in a dry run, would do).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RepairReport {
    /// Keys present and the same on every member.
    pub consistent: u64,
    /// Copies made to members that lacked a key or held another version.
    pub copied: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Deletes applied to members that missed a recorded delete.
    pub deleted: u64,
    /// Objects copied to the backup before a delete or an overwrite (each member's
    /// under `<prefix>/<member>/`).
    pub backed_up: u64,
    /// Keys whose members held different versions (all of them).
    pub conflicted: u64,
    /// The first [`SyncOptions::examples`] of those keys, with what was kept.
    pub conflicts: Vec<RepairConflict>,
    /// Keys that could not be converged (all of them).
    pub failed: u64,
    /// The first [`SyncOptions::examples`] of those keys, with why.
    pub failures: Vec<(Path, crate::Error)>,
    /// Whether nothing was touched.
    pub dry_run: bool,
}

/// Converge every member of `store` to one version of each key.
///
/// For each key (a merge-join of all members' listings):
///
/// - If the record says some members missed a **delete** of it
///   ([`ReplicatedStore::missed`]), it is deleted from the members that still have it.
/// - Otherwise the members that hold it are compared ([`SyncOptions::compare`], between
///   copies: last-modified times are not compared). Members recorded as having missed
///   the last write are never candidates, and their copy is always replaced. Among the
///   candidates, the provably newest version wins ([`crate::version`]; versions not
///   provably ordered: the first member's, the primary first); it is copied to every
///   member that lacks the key or holds another version. Each key where versions
///   differed is reported in [`RepairReport::conflicts`].
/// - When no candidate holds the key, only members recorded as behind do: if some member
///   applied the last write and no longer holds the key (a later delete whose record
///   was lost with a failed journal write, or a loss), nothing is copied or deleted (the
///   older copies may be the last) and the key is reported as failed, its record kept;
///   if every member is behind and some members are absent from the configuration
///   ([`ReplicatedStore::absent_members`]: they hold the write), likewise until they are
///   back; otherwise (the record outlived a clearing that a crash lost) the newest copy
///   wins.
///
/// Each key it acts on is held while it does (in the store's order of writes: the
/// writes of that key called before have ended and been judged, those called after wait),
/// and decided again from each member's copy read under the hold: a write acknowledged
/// while repair runs is never undone. The breaker's hand-off does the same.
///
/// Every member call is under the store's member timeout: a member that hangs fails the
/// keys it is asked about, and the rest goes on.
///
/// A member that did not list a key gets it only through a write that replaces nothing
/// (as in [`sync`](crate::sync::sync)): a member whose listing skipped its own copy keeps it, and the key is
/// reported in [`RepairReport::failures`].
///
/// Recorded keys are forgotten once converged (for the store's members: members absent
/// from the configuration keep what they owe). Without the record (another process
/// without the journal, a restart without one), a missed delete looks like a missed
/// write and the object is restored. With [`Compare::Auto`](crate::version::Compare::Auto) (the default), copies of
/// equal sizes whose ETags are opaque (Azure, GCS, local folders) count as the same:
/// what the record does not name is found by [`Compare::Content`](crate::version::Compare::Content).
///
/// [`SyncOptions::backup`] receives what is deleted or overwritten first;
/// [`DeleteLimit::Count`] bounds the recorded deletes applied.
///
/// It starts once the store's writes running in the background ended
/// ([`ReplicatedStore::flush`]): they would look like differences.
pub async fn repair(store: &ReplicatedStore, options: &SyncOptions) -> crate::Result<RepairReport> {
    // Writes still finishing in the background would look like differences.
    store.flush().await;
    let timed = store.members_under_timeout();
    let members: Vec<(&str, &dyn ObjectStore)> = timed
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_ref()))
        .collect();
    let listed = rows(&members, options.prefix.as_ref(), None, &[]);
    let prefix = options.prefix.as_ref();
    let covers = |key: &Path| prefix.is_none_or(|prefix| key.prefix_matches(prefix));
    converge_rows(store, &members, listed, covers, options).await
}

/// Converge only the keys the store's record names (what members missed, kept by its
/// journal across restarts: [`ReplicatedStore::with_journal`]): one `head` per member and
/// key, no listing. What [`repair`] does for those keys, without comparing the rest: a
/// missed delete is applied, a missed write copied from the newest version among the
/// members that applied it. Keys under [`SyncOptions::prefix`] only, when set. Like
/// [`repair`], it starts once the store's background writes ended.
pub async fn repair_recorded(
    store: &ReplicatedStore,
    options: &SyncOptions,
) -> crate::Result<RepairReport> {
    store.flush().await;
    let keys = store
        .missed_keys()
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| {
            options
                .prefix
                .as_ref()
                .is_none_or(|prefix| key.prefix_matches(prefix))
        });
    repair_keys(store, keys.collect(), options).await
}

/// The hand-off to member `member`, back after its breaker was open: converge the keys
/// it owes ([`repair_recorded`] for those keys).
pub(super) async fn hand_off(
    store: &ReplicatedStore,
    member: usize,
) -> crate::Result<RepairReport> {
    let keys = store.owed_by(member);
    repair_keys(store, keys, &SyncOptions::default()).await
}

/// Converge `keys`: one `head` per member and key, no listing.
async fn repair_keys(
    store: &ReplicatedStore,
    keys: Vec<Path>,
    options: &SyncOptions,
) -> crate::Result<RepairReport> {
    let timed = store.members_under_timeout();
    let members: Vec<(&str, &dyn ObjectStore)> = timed
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_ref()))
        .collect();
    let chosen: BTreeSet<Path> = keys.iter().cloned().collect();
    let heads = stream::iter(keys)
        .map(|key| {
            let members = &members;
            async move {
                let mut metas = Vec::with_capacity(members.len());
                for (name, member) in members {
                    metas.push(head_if_any(*member, &key).await.map_err(|e| tag(name, e))?);
                }
                Ok((key, metas))
            }
        })
        .buffered(options.concurrency.max(1))
        .boxed();
    converge_rows(store, &members, heads, |key| chosen.contains(key), options).await
}

/// Converge `store` key by key over `rows` (each key with its entry on every member),
/// forgetting the recorded keys that converged. `covers` says which keys the rows cover
/// (a key they cover but do not hold is on no member): records of other keys are left
/// alone.
async fn converge_rows(
    store: &ReplicatedStore,
    members: &[(&str, &dyn ObjectStore)],
    rows: BoxStream<'_, Result<Row>>,
    covers: impl Fn(&Path) -> bool,
    options: &SyncOptions,
) -> crate::Result<RepairReport> {
    let mut report = RepairReport {
        dry_run: options.dry_run,
        ..Default::default()
    };
    // Recorded deletes of covered keys no member lists any more need nothing; covered
    // recorded keys are otherwise met in the rows below. Each with the write that
    // recorded it: a record a later write replaced meanwhile is not forgotten below.
    let recorded: BTreeMap<Path, u64> = store
        .missed_keys()
        .into_iter()
        .filter(|(key, _)| covers(key))
        .collect();
    // Only recorded deletes are applied: a count limit applies to them (see
    // `DeleteLimit`), checked before anything is touched.
    if let DeleteLimit::Count(limit) = options.max_delete {
        let deletes = recorded
            .keys()
            .filter(|key| {
                store
                    .missed_at(key)
                    .is_some_and(|o| o.what == Missed::Delete)
            })
            .count() as u64;
        if deletes > limit {
            return Err(crate::Error::DeleteLimit {
                destination: store.to_string(),
                deletes,
                held: 0,
                listed: 0,
                limit: options.max_delete.to_string(),
            });
        }
    }
    if let Some(backup) = &options.backup {
        for (name, member) in members {
            backup.for_member(name).check(*member).await?;
        }
    }
    // Recorded keys that failed to converge keep their record (bounded by the record).
    let mut unconverged = BTreeSet::new();
    // Recorded keys the rows held (the others are on no member).
    let mut met = BTreeSet::new();
    let mut handled = 0u64;
    let work = rows
        .map(|row| async move {
            let (key, metas) = row?;
            let outcome = converge(store, members, key.clone(), metas, options).await;
            Ok::<_, Error>((key, outcome))
        })
        .buffered(options.concurrency.max(1));
    futures::pin_mut!(work);
    while let Some(item) = work.next().await {
        let (key, outcome) = item.map_err(|e| located(members, e))?;
        if recorded.contains_key(&key) {
            met.insert(key);
        }
        handled += 1;
        match outcome {
            Converged::Consistent => report.consistent += 1,
            Converged::Repaired {
                copies,
                bytes,
                deletes,
                backed_up,
                conflict,
            } => {
                report.backed_up += backed_up;
                report.copied += copies;
                report.bytes = report.bytes.saturating_add(bytes);
                report.deleted += deletes;
                if let Some(conflict) = conflict {
                    report.conflicted += 1;
                    keep(&mut report.conflicts, options.examples, conflict);
                }
            }
            Converged::Failed(key, err) => {
                report.failed += 1;
                if recorded.contains_key(&key) {
                    unconverged.insert(key.clone());
                }
                keep(
                    &mut report.failures,
                    options.examples,
                    (key, located(members, err)),
                );
            }
        }
        options.report(handled, report.bytes, report.failed);
    }
    // A recorded write no member holds: the members that applied it are out of the
    // configuration (or lost it). Not converged: the record stays.
    // A recorded write no member holds, every member recorded as behind on it: the
    // members that applied it are out of the configuration. The record stays.
    let absent = !store.absent_members().is_empty();
    for key in recorded.keys().filter(|k| !met.contains(*k)) {
        let waiting = store
            .missed_at(key)
            .is_some_and(|o| o.what == Missed::Write && o.behind().len() == members.len());
        if absent && waiting {
            unconverged.insert(key.clone());
            report.failed += 1;
            let err = Error::Generic {
                store: "stratus",
                source: format!(
                    "no member holds the last write to {key} (those that applied it are \
                     not in the configuration): the record stays until they are back"
                )
                .into(),
            };
            keep(
                &mut report.failures,
                options.examples,
                (key.clone(), located(members, err)),
            );
        }
    }
    if !options.dry_run {
        for (key, write) in recorded.iter().filter(|(k, _)| !unconverged.contains(*k)) {
            store
                .forget(key, *write)
                .map_err(|e| crate::Error::in_store(store, e))?;
        }
    }
    Ok(report)
}

enum Converged {
    Consistent,
    Repaired {
        copies: u64,
        bytes: u64,
        deletes: u64,
        backed_up: u64,
        conflict: Option<RepairConflict>,
    },
    Failed(Path, Error),
}

/// What [`converge`] does with a key, decided from each member's entry for it.
enum KeyPlan {
    /// Nothing to do.
    Consistent,
    /// A recorded delete: delete it from every member holding it.
    Delete,
    /// Copy the winner's version to the targets (replacing those listed as
    /// `overwritten`).
    Copy {
        winner: usize,
        targets: Vec<usize>,
        overwritten: Vec<String>,
    },
    /// Not converged; the record stays.
    Failed(Error),
}

/// Converge one key across the members, holding the key (no write of it runs meanwhile,
/// and every one called before has ended) once the entries `listed` show something to
/// do: what is done is decided again from each member's entry read under the hold, so a
/// write acknowledged since the listing is never undone.
async fn converge(
    store: &ReplicatedStore,
    members: &[(&str, &dyn ObjectStore)],
    key: Path,
    listed: Vec<Option<ObjectMeta>>,
    options: &SyncOptions,
) -> Converged {
    if matches!(
        plan_key(store, members, &key, &listed, options).await,
        KeyPlan::Consistent
    ) {
        return Converged::Consistent;
    }
    let _hold = store.hold(&key).await;
    let mut metas = Vec::with_capacity(members.len());
    for (name, member) in members {
        match head_if_any(*member, &key).await {
            Ok(meta) => metas.push(meta),
            Err(err) => return Converged::Failed(key, tag(name, err)),
        }
    }
    match plan_key(store, members, &key, &metas, options).await {
        KeyPlan::Consistent => Converged::Consistent,
        KeyPlan::Failed(err) => Converged::Failed(key, err),
        KeyPlan::Delete => delete_everywhere(members, key, &metas, options).await,
        KeyPlan::Copy {
            winner,
            targets,
            overwritten,
        } => copy_winner(members, key, &metas, winner, targets, overwritten, options).await,
    }
}

/// What to do with `key`, given each member's entry for it (see [`repair`]).
async fn plan_key(
    store: &ReplicatedStore,
    members: &[(&str, &dyn ObjectStore)],
    key: &Path,
    metas: &[Option<ObjectMeta>],
    options: &SyncOptions,
) -> KeyPlan {
    let stale = match store.missed_at(key) {
        Some(owed) if owed.what == Missed::Delete => {
            return match metas.iter().any(Option::is_some) {
                true => KeyPlan::Delete,
                false => KeyPlan::Consistent,
            }
        }
        Some(owed) => owed.behind(),
        None => BTreeSet::new(),
    };
    let failed = |why: String| {
        KeyPlan::Failed(Error::Generic {
            store: "stratus",
            source: why.into(),
        })
    };
    let winner = match winner(metas, &stale) {
        Some(winner) => winner,
        None if stale.is_empty() => return KeyPlan::Consistent, // on no member
        // Members that applied the key's last write hold it no more (a later delete
        // whose record was lost with a failed journal write, or a loss): the members
        // recorded as behind hold an older version. Deleting it could delete the last
        // copy of anything, copying it would bring an old version back: both kept as
        // they are, the record too.
        None if stale.len() < members.len() => {
            return failed(format!(
                "the members that applied the last write to {key} no longer hold it, and \
                 the others hold an older version: nothing was copied or deleted, the \
                 record stays (delete or restore it, then repair)"
            ))
        }
        // Every member is behind: the write is on members absent from the configuration
        // (copying what these hold would spread an old version as the current one: the
        // record stays until they are back), or, with none absent, the record outlived a
        // clearing a crash lost: the newest version held wins.
        None => match store.absent_members().is_empty() {
            true => match version::newest(metas) {
                Some(winner) => winner,
                None => return KeyPlan::Consistent,
            },
            false => {
                return failed(format!(
                    "no member holds the last write to {key} (the members that applied it \
                     are not in the configuration): nothing was copied, the record stays \
                     until they are back"
                ))
            }
        },
    };
    let best = metas[winner].as_ref().expect("a holder");
    // The members to copy to: those without the key, and those holding another version
    // (or one recorded stale), which the winner overwrites.
    let mut targets = Vec::new();
    let mut overwritten = Vec::new();
    for (i, meta) in metas.iter().enumerate().filter(|(i, _)| *i != winner) {
        let Some(meta) = meta else {
            targets.push(i);
            continue;
        };
        let same = !stale.contains(&i)
            && match options
                .compare
                .same((members[winner].1, best), (members[i].1, meta), false)
                .await
            {
                Ok(same) => same,
                Err(err) => return KeyPlan::Failed(err),
            };
        if !same {
            targets.push(i);
            overwritten.push(members[i].0.to_string());
        }
    }
    match targets.is_empty() {
        true => KeyPlan::Consistent,
        false => KeyPlan::Copy {
            winner,
            targets,
            overwritten,
        },
    }
}

/// Copy the winner's version of `key` to `targets`, backing up what it replaces.
async fn copy_winner(
    members: &[(&str, &dyn ObjectStore)],
    key: Path,
    metas: &[Option<ObjectMeta>],
    winner: usize,
    targets: Vec<usize>,
    overwritten: Vec<String>,
    options: &SyncOptions,
) -> Converged {
    let best = metas[winner].as_ref().expect("a holder");
    let mut backed_up = 0;
    if !options.dry_run {
        for &i in &targets {
            let (from, to) = (members[winner].1, members[i].1);
            if let (Some(_), Some(backup)) = (&metas[i], &options.backup) {
                match backup.for_member(members[i].0).keep(to, &key).await {
                    Ok(kept) => backed_up += u64::from(kept),
                    Err(err) => return Converged::Failed(key, tag(members[i].0, err)),
                }
            }
            let copied = match &metas[i] {
                // The member holds another version: replace it (it lost to the winner).
                Some(_) => transfer(from, &key, to, &key, PutMode::Overwrite).await,
                // The member holds none: never overwrite a copy its answer did not show.
                None => transfer_absent(from, &key, to, &key, best.size, Stamp::No).await,
            };
            if let Err(err) = copied {
                return Converged::Failed(key, tag(members[i].0, err));
            }
        }
    }
    Converged::Repaired {
        copies: targets.len() as u64,
        bytes: best.size.saturating_mul(targets.len() as u64),
        deletes: 0,
        backed_up,
        conflict: (!overwritten.is_empty()).then(|| RepairConflict {
            location: key.clone(),
            kept: members[winner].0.to_string(),
            overwritten,
        }),
    }
}

/// The version that wins: the provably newest among holders not recorded stale (see
/// [`crate::version`]; versions not provably ordered: the first member's, the primary
/// first); none when every holder is stale.
fn winner(metas: &[Option<ObjectMeta>], stale: &BTreeSet<usize>) -> Option<usize> {
    let fresh: Vec<Option<ObjectMeta>> = metas
        .iter()
        .enumerate()
        .map(|(i, meta)| meta.clone().filter(|_| !stale.contains(&i)))
        .collect();
    version::newest(&fresh)
}

/// A key whose delete some members missed: delete it from every member still holding it.
async fn delete_everywhere(
    members: &[(&str, &dyn ObjectStore)],
    key: Path,
    metas: &[Option<ObjectMeta>],
    options: &SyncOptions,
) -> Converged {
    let holders: Vec<usize> = (0..members.len()).filter(|&i| metas[i].is_some()).collect();
    let mut backed_up = 0;
    if !options.dry_run {
        for &i in &holders {
            if let Some(backup) = &options.backup {
                match backup
                    .for_member(members[i].0)
                    .keep(members[i].1, &key)
                    .await
                {
                    Ok(kept) => backed_up += u64::from(kept),
                    Err(err) => return Converged::Failed(key, tag(members[i].0, err)),
                }
            }
            match members[i].1.delete(&key).await {
                Ok(()) | Err(Error::NotFound { .. }) => {}
                Err(err) => return Converged::Failed(key, tag(members[i].0, err)),
            }
        }
    }
    Converged::Repaired {
        copies: 0,
        bytes: 0,
        deletes: holders.len() as u64,
        backed_up,
        conflict: None,
    }
}
