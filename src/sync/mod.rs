//! [`sync`] and [`verify`] between any two stores, and what
//! [`repair`](crate::replicate::repair) of a replicated store shares with them: compare
//! stores by merging their listings.
//!
//! All three walk the listings of the stores involved side by side, in key order, one
//! entry per store at a time (a k-way merge-join), so memory does not grow with the
//! number of objects. They need listings in key order, which every store stratus builds
//! gives; an out-of-order listing is reported as an error, never silently mis-compared.
//!
//! `sync` and `verify` can cut a join that proves large into key ranges joined at once
//! ([`SyncOptions::key_ranges`]; the module `ranges` says how): a flat key space is then
//! listed many pages at a time instead of one page per round trip on each side.

mod checkpoint;
pub(crate) mod ranges;

use crate::error::{member_of, tag};
use crate::inventory::{Listed, Unlisted};
use crate::merge::{in_key_order, merge, read_ahead};
use crate::progress::{Progress, ProgressFn};
use crate::transfer::{absent, head_if_any, transfer_absent, transfer_stamped, Stamp};
use crate::version::{self, Compare};
use checkpoint::Checkpoint;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{Error, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// `err`, from one of `stores` (role, store), as a stratus error naming that store: the
/// one its member tag names, or all of them when it has none.
pub(crate) fn located(stores: &[(&str, &dyn ObjectStore)], err: Error) -> crate::Error {
    let name = |(role, store): &(&str, &dyn ObjectStore)| format!("{role} {store}");
    let store = match member_of(&err).and_then(|m| stores.iter().find(|(role, _)| *role == m)) {
        Some(one) => name(one),
        None => stores.iter().map(name).collect::<Vec<_>>().join(", "),
    };
    crate::Error::in_store(store, err)
}

/// One key across several stores: its entry in each (`None`: missing there).
pub(crate) type Row = (Path, Vec<Option<ObjectMeta>>);

/// Merge-join the listings: one row per key, in key order.
/// `listed`, when given, notes per store the local folders it lists (for the files a
/// local store does not list: [`Unlisted`]).
pub(crate) fn rows(
    stores: &[(&str, &dyn ObjectStore)],
    prefix: Option<&Path>,
    after: Option<&Path>,
    listed: &[Listed],
) -> BoxStream<'static, Result<Row>> {
    rows_until(stores, prefix, after, listed, None)
}

/// [`rows`] up to `end` (inclusive, as it is when each key is read): every listing stops
/// at its first key past it, so none reads a page past the end (a key range's join).
pub(crate) fn rows_until(
    stores: &[(&str, &dyn ObjectStore)],
    prefix: Option<&Path>,
    after: Option<&Path>,
    listed: &[Listed],
    end: Option<&ranges::End>,
) -> BoxStream<'static, Result<Row>> {
    let n = stores.len();
    let listings = stores
        .iter()
        .enumerate()
        .map(|(i, (name, store))| {
            let name = name.to_string();
            let tagged = {
                let name = name.clone();
                let listing = match after {
                    Some(after) => store.list_with_offset(prefix, after),
                    None => store.list(prefix),
                };
                let listing = match listed.get(i) {
                    Some(listed) => listed.noting(listing).boxed(),
                    None => listing,
                };
                listing
                    .map(move |item| item.map_err(|e| tag(&name, e)))
                    .boxed()
            };
            // The end applies to entries found in order (each one's next entry read and
            // found greater), so a break in the order just past the end is still seen.
            let checked = in_key_order(name, tagged);
            let bounded = match end.cloned() {
                Some(end) => checked
                    .try_take_while(move |meta| {
                        std::future::ready(Ok(end.admits(meta.location.as_ref())))
                    })
                    .boxed(),
                None => checked,
            };
            // Each store fetches its next page while the join waits on the other's, and
            // reads no further than the end.
            read_ahead(bounded)
        })
        .collect();
    let mut pending: Option<Row> = None;
    let mut merged = merge(listings).fuse();
    stream::poll_fn(move |cx| loop {
        match merged.poll_next_unpin(cx) {
            std::task::Poll::Pending => return std::task::Poll::Pending,
            std::task::Poll::Ready(None) => return std::task::Poll::Ready(pending.take().map(Ok)),
            std::task::Poll::Ready(Some(Err(err))) => {
                return std::task::Poll::Ready(Some(Err(err)))
            }
            std::task::Poll::Ready(Some(Ok(entry))) => match &mut pending {
                Some((key, metas)) if *key == entry.meta.location => {
                    metas[entry.input] = Some(entry.meta);
                }
                _ => {
                    let mut metas = vec![None; n];
                    let key = entry.meta.location.clone();
                    metas[entry.input] = Some(entry.meta);
                    if let Some(done) = pending.replace((key, metas)) {
                        return std::task::Poll::Ready(Some(Ok(done)));
                    }
                }
            },
        }
    })
    .boxed()
}

/// Options shared by [`sync`], [`verify`] and [`repair`](crate::replicate::repair).
#[derive(Clone)]
#[non_exhaustive]
pub struct SyncOptions {
    /// How copies are compared.
    pub compare: Compare,
    /// `sync` only: delete from the destination what the source lacks.
    pub delete: bool,
    /// Report what would be done, touching nothing.
    pub dry_run: bool,
    /// Copies and deletes in flight at once (at least 1).
    pub concurrency: usize,
    /// Only keys under this prefix.
    pub prefix: Option<Path>,
    /// Examples kept per kind of finding in reports (the counts are always complete).
    pub examples: usize,
    /// Called after each key is handled: keys handled (`done`), bytes copied, keys
    /// that failed.
    pub progress: Option<ProgressFn>,
    /// `sync` and `verify`: a file recording the last key handled, every
    /// `checkpoint_every` keys; a run that finds one of the same run resumes after its
    /// key (and its report covers the keys after it); a completed run removes it.
    pub checkpoint: Option<PathBuf>,
    /// Keys between checkpoint writes.
    pub checkpoint_every: u64,
    /// `sync` with `delete`, and `repair`: how much may be deleted without being told
    /// (see [`DeleteLimit`]). Checked before anything is copied or deleted.
    pub max_delete: DeleteLimit,
    /// `sync` and `repair`: where every object they would delete or overwrite is copied
    /// first (see [`Backup`]); none by default.
    pub backup: Option<Backup>,
    /// `sync` and `verify`: cut a join that proves large (a block of keys that every
    /// store listed, and more to come) into up to `concurrency` (at most 32) key ranges
    /// listed and joined at once, each with the checks of a whole join (key order, a
    /// delete only after the source is asked). Off by default, and always with a
    /// checkpoint (which records one position in key order).
    ///
    /// It needs every store to list in byte order from an offset too, as S3, GCS, Azure
    /// and the in-memory store do: a piece stops at its end, so a key a store lists out
    /// of order past a piece's end is in no piece and no order check sees it (a whole
    /// join would fail on it). Stores listed folder by folder (SeaweedFS without its
    /// flavor) are covered: cuts come only from keys every listing has read in order,
    /// as a scan's do. For stores of a config file,
    /// [`Config::key_ranges`](crate::Config::key_ranges) of both says whether to turn it
    /// on (the command does so). With it, `verify`'s examples are the first found, not
    /// the first in key order, and memory holds up to a page per store and piece (a
    /// join reads each listing a page ahead).
    pub key_ranges: bool,
    /// Keys joined before the join is cut (one page of S3's and GCS's listings: 1,000).
    pub range_block: usize,
    /// With `key_ranges`: every store is known to begin a listing at the offset asked on
    /// the server (S3's `start-after`, GCS's `startOffset`:
    /// [`Config::offsets_on_server`](crate::Config::offsets_on_server)), so the pieces of
    /// the join's first cut list at once. Off (the default), one piece lists first and
    /// the others wait until it shows the servers begin there (a server that ignores
    /// offsets would have every piece list from the first key).
    pub offsets_on_server: bool,
}

/// How much [`sync`] with `delete` (and [`repair`](crate::replicate::repair)) may delete before it refuses, with
/// [`crate::Error::DeleteLimit`], having deleted nothing.
///
/// A sync from an empty or mistyped source (a typo in a folder's `root`, a bucket
/// emptied by mistake) would otherwise delete the whole destination, correctly by its
/// own rules. So by default `sync` first lists both stores (keys only: one listing more
/// than a sync without `delete`), counts what it would delete, and refuses when that is
/// more than half of what the destination holds, or when the source lists nothing while
/// the destination holds something. While it runs, deletes past the allowance counted
/// then fail (the source or destination changed meanwhile). `repair` deletes only what
/// the record says members missed (acknowledged deletes, never inferred from a
/// listing): only a `Count` limit applies to it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum DeleteLimit {
    /// The default: at most half of what the destination holds, and nothing when the
    /// source lists nothing.
    #[default]
    Half,
    /// At most this many objects (`--max-delete N`).
    Count(u64),
    /// At most this fraction (0 to 1) of what the destination holds (`--max-delete P%`).
    Fraction(f64),
    /// No limit (`--force`).
    Unlimited,
}

impl DeleteLimit {
    /// How many deletes are allowed when the destination holds `held` objects and the
    /// source `listed`; `None`: no limit.
    pub(crate) fn allowance(self, held: u64, listed: u64) -> Option<u64> {
        match self {
            DeleteLimit::Half if listed == 0 => Some(0),
            DeleteLimit::Half => Some(held / 2),
            DeleteLimit::Count(n) => Some(n),
            DeleteLimit::Fraction(f) => Some((held as f64 * f.clamp(0.0, 1.0)).floor() as u64),
            DeleteLimit::Unlimited => None,
        }
    }
}

impl std::fmt::Display for DeleteLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeleteLimit::Half => write!(
                f,
                "half of what the destination holds, nothing from an empty source"
            ),
            DeleteLimit::Count(n) => write!(f, "{n} objects"),
            DeleteLimit::Fraction(x) => {
                write!(f, "{:.1}% of what the destination holds", x * 100.0)
            }
            DeleteLimit::Unlimited => write!(f, "no limit"),
        }
    }
}

/// Where [`sync`] and [`repair`](crate::replicate::repair) put what they delete or overwrite, first: the object
/// is copied to `store` under `prefix` with the same key (a conditional create), and
/// only once it is there is it deleted or overwritten. So a mistaken sync can be undone
/// by syncing the backup back.
///
/// A backup that already holds another version of a key is never overwritten: that
/// key fails (nothing deleted or overwritten) and the report says so; use a new prefix
/// per run (a date) to keep every run's backups. The backup must be a place of its own:
/// neither the destination nor the source, nor inside them. `sync` refuses a backup
/// that a probe object shows to be the destination's own keys; for stores of a config
/// file, [`Config::check_distinct`](crate::Config::check_distinct) over the three
/// proves the rest (the command does).
#[derive(Clone)]
pub struct Backup {
    store: Arc<dyn ObjectStore>,
    prefix: Option<Path>,
}

impl Backup {
    /// Back up into `store`, under the same keys.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            prefix: None,
        }
    }

    /// Back up under `prefix` in the store.
    pub fn with_prefix(mut self, prefix: Path) -> Self {
        self.prefix = Some(prefix).filter(|p| !p.as_ref().is_empty());
        self
    }

    /// The backup of member `name` of a replicated store (`repair`): under
    /// `<prefix>/<name>/`, since members may hold different versions of one key.
    pub(crate) fn for_member(&self, name: &str) -> Backup {
        let prefix = match &self.prefix {
            Some(prefix) => prefix.parts().chain(Path::from(name).parts()).collect(),
            None => Path::from(name),
        };
        Backup {
            store: Arc::clone(&self.store),
            prefix: Some(prefix),
        }
    }

    /// Where `key` is backed up.
    fn key(&self, key: &Path) -> Path {
        match &self.prefix {
            Some(prefix) => prefix.parts().chain(key.parts()).collect(),
            None => key.clone(),
        }
    }

    /// Copy `key` of `from` into the backup, unless the backup holds the same bytes
    /// already; refused if it holds another version. Whether the object was there to
    /// back up (a key gone meanwhile needs no backup).
    pub(crate) async fn keep(&self, from: &dyn ObjectStore, key: &Path) -> Result<bool> {
        let to = self.key(key);
        let tag_backup = |err| tag("backup", err);
        let Some(original) = head_if_any(from, key).await? else {
            return Ok(false);
        };
        let copied = crate::transfer::transfer_absent(
            from,
            key,
            self.store.as_ref(),
            &to,
            original.size,
            Stamp::No,
        )
        .await;
        match copied {
            Ok(copied) => {
                let kept = self.store.head(&to).await.map_err(tag_backup)?;
                if kept.size != copied.size {
                    return Err(tag_backup(generic_error(format!(
                        "the backup of {key} holds {} bytes, {} were copied; nothing was \
                         deleted or overwritten",
                        kept.size, copied.size
                    ))));
                }
                Ok(true)
            }
            Err(Error::AlreadyExists { .. }) => {
                let kept = self.store.head(&to).await.map_err(tag_backup)?;
                let same = version::same_bytes((from, &original), (self.store.as_ref(), &kept))
                    .await
                    .map_err(tag_backup)?;
                if same {
                    return Ok(true);
                }
                Err(tag_backup(generic_error(format!(
                    "the backup already holds another version of {key} (at {to}); nothing \
                     was deleted or overwritten: choose a new backup prefix"
                ))))
            }
            Err(err) => Err(tag_backup(err)),
        }
    }

    /// Refuse a backup whose keys are `dst`'s own: a probe object written to the backup
    /// is found in `dst` under the same key.
    pub(crate) async fn check(&self, dst: &dyn ObjectStore) -> crate::Result<()> {
        let probe = self.key(&Path::from(format!(
            ".stratus-backup-probe-{:016x}",
            xxhash_rust::xxh3::xxh3_64(format!("{:?}", std::time::SystemTime::now()).as_bytes())
        )));
        let options = object_store::PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        self.store
            .put_opts(&probe, "stratus backup probe".into(), options)
            .await
            .map_err(|e| crate::Error::in_store("backup", e))?;
        let seen = head_if_any(dst, &probe).await;
        let _ = self.store.delete(&probe).await;
        match seen {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err(crate::Error::composition(
                "backup",
                "the backup is the destination itself (an object written to the backup is \
                 found in the destination): it would delete what it backs up; give the \
                 backup a place of its own",
            )),
            Err(e) => Err(crate::Error::in_store("destination", e)),
        }
    }
}

impl std::fmt::Debug for Backup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backup")
            .field("store", &self.store.to_string())
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn generic_error(message: String) -> Error {
    Error::Generic {
        store: "stratus",
        source: message.into(),
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            compare: Compare::default(),
            delete: false,
            dry_run: false,
            concurrency: 16,
            prefix: None,
            examples: 20,
            progress: None,
            checkpoint: None,
            checkpoint_every: 1000,
            max_delete: DeleteLimit::default(),
            backup: None,
            key_ranges: false,
            range_block: ranges::DEFAULT_BLOCK,
            offsets_on_server: false,
        }
    }
}

impl std::fmt::Debug for SyncOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOptions")
            .field("compare", &self.compare)
            .field("delete", &self.delete)
            .field("dry_run", &self.dry_run)
            .field("concurrency", &self.concurrency)
            .field("prefix", &self.prefix)
            .field("max_delete", &self.max_delete)
            .field("backup", &self.backup)
            .field("key_ranges", &self.key_ranges)
            .field("range_block", &self.range_block)
            .field("offsets_on_server", &self.offsets_on_server)
            .finish_non_exhaustive()
    }
}

impl SyncOptions {
    /// Set `key_ranges`.
    pub fn with_key_ranges(mut self, key_ranges: bool) -> Self {
        self.key_ranges = key_ranges;
        self
    }
    /// Set `offsets_on_server`.
    pub fn with_offsets_on_server(mut self, on_server: bool) -> Self {
        self.offsets_on_server = on_server;
        self
    }
    /// Set `range_block` (at least 2).
    pub fn with_range_block(mut self, block: usize) -> Self {
        self.range_block = block.max(2);
        self
    }
    /// The merge-join of `stores` under the prefix, after `after`: cut into key ranges
    /// when `key_ranges` is on and there is no checkpoint (whose position is one key).
    fn join<'a>(
        &self,
        stores: &[(&'static str, &'a dyn ObjectStore)],
        after: Option<&Path>,
        listed: &[Listed],
    ) -> BoxStream<'a, Result<Row>> {
        if self.key_ranges && self.checkpoint.is_none() && after.is_none() {
            let pieces = self.concurrency.min(ranges::PIECES_MAX);
            ranges::ranged_rows(
                stores,
                self.prefix.as_ref(),
                listed,
                pieces,
                self.range_block,
                self.offsets_on_server,
            )
        } else {
            rows(stores, self.prefix.as_ref(), after, listed)
        }
    }
    /// Set how copies are compared.
    pub fn with_compare(mut self, compare: Compare) -> Self {
        self.compare = compare;
        self
    }
    /// Delete from the destination what the source lacks (`sync`).
    pub fn with_delete(mut self, delete: bool) -> Self {
        self.delete = delete;
        self
    }
    /// Touch nothing; report what would be done.
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
    /// Set the number of operations in flight (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }
    /// Only keys under `prefix`.
    pub fn with_prefix(mut self, prefix: Path) -> Self {
        self.prefix = Some(prefix);
        self
    }
    /// Set how much may be deleted (see [`DeleteLimit`]).
    pub fn with_max_delete(mut self, limit: DeleteLimit) -> Self {
        self.max_delete = limit;
        self
    }
    /// Copy what is deleted or overwritten to `backup` first (see [`Backup`]).
    pub fn with_backup(mut self, backup: Backup) -> Self {
        self.backup = Some(backup);
        self
    }
    /// Hand the progress callback, if any, where the operation is.
    pub(crate) fn report(&self, done: u64, bytes: u64, failed: u64) {
        if let Some(progress) = &self.progress {
            progress(Progress {
                done,
                bytes,
                failed,
                ..Progress::default()
            });
        }
    }

    /// Record progress in the checkpoint file `path`, every `every` keys, and resume
    /// from it (see the `checkpoint` field).
    pub fn with_checkpoint(mut self, path: impl Into<PathBuf>, every: u64) -> Self {
        self.checkpoint = Some(path.into());
        self.checkpoint_every = every.max(1);
        self
    }

    /// The checkpoint of a run of `kind` between `a` and `b`, if one is set, and the key
    /// an earlier run of the same kind left to resume after.
    fn checkpoint(
        &self,
        kind: &str,
        a: &dyn ObjectStore,
        b: &dyn ObjectStore,
    ) -> crate::Result<(Option<Checkpoint>, Option<Path>)> {
        let Some(path) = self.checkpoint.clone() else {
            return Ok((None, None));
        };
        let prefix = self
            .prefix
            .as_ref()
            .map_or(String::new(), |p| p.to_string());
        let run = format!("{kind} {a} -> {b} prefix `{prefix}`");
        let checkpoint = Checkpoint::new(path, run, self.checkpoint_every);
        let after = checkpoint.resume()?;
        Ok((Some(checkpoint), after))
    }

    /// Call `progress` after each key is handled.
    pub fn with_progress(mut self, progress: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }
}

/// What [`sync`] did (or, in a dry run, would do).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct SyncReport {
    /// Objects copied (missing or different in the destination).
    pub copied: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Objects already the same.
    pub skipped: u64,
    /// Objects deleted from the destination.
    pub deleted: u64,
    /// Objects copied to the backup before they were deleted or overwritten.
    pub backed_up: u64,
    /// Keys whose copy or delete failed (all of them).
    pub failed: u64,
    /// The first [`SyncOptions::examples`] of those keys, with why (memory stays bounded
    /// however many fail).
    pub failures: Vec<(Path, crate::Error)>,
    /// Whether nothing was touched.
    pub dry_run: bool,
    /// Files of a local source that the store does not list (object_store's `NAME#N`,
    /// names no key can hold), so not copied: `None` when there are none.
    pub unlisted_source: Option<Unlisted>,
    /// The same at a local destination (never deleted nor overwritten: not seen).
    pub unlisted_destination: Option<Unlisted>,
}

/// Keep `item` in `list` if it holds fewer than `limit` (reports keep examples, and count
/// everything).
pub(crate) fn keep<T>(list: &mut Vec<T>, limit: usize, item: T) {
    if list.len() < limit {
        list.push(item);
    }
}

enum Action {
    Skip,
    Copy(u64),
    Delete,
}

/// Make `dst` hold what `src` holds: copy what is missing or different in `dst`
/// (streamed; multipart above 16 MiB) and, with `delete`, delete what `src` lacks.
/// Running it again after an interruption does only what is left. A listing error ends
/// it (returned as `Err`); a failed copy or delete is reported and the rest goes on.
///
/// Nothing is deleted or overwritten on a listing's word alone. An entry reaches the
/// merge-join only once the next entry of its listing is read and found in key order. A
/// key the source did not list is deleted from the destination only after a `head` of
/// the source finds nothing; if it finds the key, the source's listing was out of order,
/// and `sync` ends with that error (every delete already made was proven the same way).
/// A key the destination did not list is written there without replacing anything it
/// holds: a conditional create up to 16 MiB, a `head` that finds nothing above; a refusal
/// is reported in [`SyncReport::failures`] as `AlreadyExists`.
///
/// `src` and `dst` must be two places. One place under two names is harmless (every key
/// is the same on both sides), but a bucket and a prefix of it see each other's objects
/// under other keys, and `delete` would remove objects of `src`. `sync` cannot tell
/// which stores it was given: for stores of a config file, call
/// [`Config::check_distinct`](crate::Config::check_distinct) first (the replicate example
/// does).
pub async fn sync(
    src: &dyn ObjectStore,
    dst: &dyn ObjectStore,
    options: &SyncOptions,
) -> crate::Result<SyncReport> {
    let stores = [("source", src), ("destination", dst)];
    let mut report = SyncReport {
        dry_run: options.dry_run,
        ..Default::default()
    };
    let (checkpoint, after) = options.checkpoint("sync", src, dst)?;
    if let Some(backup) = &options.backup {
        backup.check(dst).await?;
    }
    // Deletes are counted before anything is touched, and stay within that count.
    let allowance = match options.delete {
        true => delete_allowance(src, dst, options, after.as_ref()).await?,
        false => None,
    };
    let deleting = AtomicU64::new(0);
    let backed_up = AtomicU64::new(0);
    let mut handled = 0u64;
    let listed = [Listed::default(), Listed::default()];
    let actions = options
        .join(&stores, after.as_ref(), &listed)
        .map(|row| {
            let (deleting, backed_up) = (&deleting, &backed_up);
            async move {
                let (key, metas) = row?;
                let action = decide(src, dst, &metas, options).await?;
                if matches!(action, Action::Delete) && !options.dry_run {
                    // Fatal when it fails: a listing out of order is not to be trusted.
                    ensure_absent(src, &key).await?;
                }
                let over = matches!(action, Action::Delete)
                    && allowance.is_some_and(|n| deleting.fetch_add(1, Ordering::Relaxed) >= n);
                let result = match options.dry_run {
                    _ if over => Err(past_allowance(&key, options.max_delete)),
                    true => Ok(()),
                    false => {
                        let listed = metas[1].is_some();
                        apply(src, dst, &key, &action, listed, options, backed_up).await
                    }
                };
                Ok::<_, Error>((key, action, result))
            }
        })
        .buffered(options.concurrency.max(1));
    futures::pin_mut!(actions);
    while let Some(item) = actions.next().await {
        let (key, action, result) = item.map_err(|e| located(&stores, e))?;
        handled += 1;
        match (action, result) {
            (_, Err(err)) => {
                report.failed += 1;
                let err = located(&stores, err);
                keep(&mut report.failures, options.examples, (key.clone(), err));
            }
            (Action::Skip, Ok(())) => report.skipped += 1,
            (Action::Copy(size), Ok(())) => {
                report.copied += 1;
                report.bytes = report.bytes.saturating_add(size);
            }
            (Action::Delete, Ok(())) => report.deleted += 1,
        }
        // The checkpoint stops before the first failed key: a resumed run retries it.
        if let Some(checkpoint) = checkpoint.as_ref().filter(|_| report.failed == 0) {
            checkpoint.handled(&key, handled)?;
        }
        options.report(handled, report.bytes, report.failed);
    }
    if let Some(checkpoint) = checkpoint.as_ref().filter(|_| report.failed == 0) {
        checkpoint.finish()?;
    }
    report.backed_up = backed_up.load(Ordering::Relaxed);
    report.unlisted_source = listed[0].census(options.prefix.as_ref()).await;
    report.unlisted_destination = listed[1].census(options.prefix.as_ref()).await;
    Ok(report)
}

/// How many objects `sync` may delete (`None`: no limit), from a listing of both stores
/// (keys only) that counts what it would delete; refused when that is past the limit.
async fn delete_allowance(
    src: &dyn ObjectStore,
    dst: &dyn ObjectStore,
    options: &SyncOptions,
    after: Option<&Path>,
) -> crate::Result<Option<u64>> {
    if options.max_delete == DeleteLimit::Unlimited {
        return Ok(None);
    }
    let stores = [("source", src), ("destination", dst)];
    let (mut listed, mut held, mut deletes) = (0u64, 0u64, 0u64);
    let mut listing = options.join(&stores, after, &[]);
    while let Some(row) = listing.next().await {
        let (_, metas) = row.map_err(|e| located(&stores, e))?;
        listed += u64::from(metas[0].is_some());
        held += u64::from(metas[1].is_some());
        deletes += u64::from(metas[0].is_none() && metas[1].is_some());
    }
    let allowance = options.max_delete.allowance(held, listed);
    if allowance.is_some_and(|n| deletes > n) {
        return Err(crate::Error::DeleteLimit {
            destination: dst.to_string(),
            deletes,
            held,
            listed,
            limit: options.max_delete.to_string(),
        });
    }
    Ok(allowance)
}

/// A delete past the allowance counted before the sync began.
fn past_allowance(key: &Path, limit: DeleteLimit) -> Error {
    generic_error(format!(
        "not deleted: {key} is past the deletes counted before the sync began (limit: \
         {limit}); the source or the destination changed meanwhile"
    ))
}

/// What sync does with one key, given its entries in the source and the destination.
async fn decide(
    src: &dyn ObjectStore,
    dst: &dyn ObjectStore,
    metas: &[Option<ObjectMeta>],
    options: &SyncOptions,
) -> Result<Action> {
    Ok(match (&metas[0], &metas[1]) {
        (Some(s), None) => Action::Copy(s.size),
        (Some(s), Some(d)) => {
            if options.compare.same((src, s), (dst, d), true).await? {
                Action::Skip
            } else {
                Action::Copy(s.size)
            }
        }
        (None, Some(_)) if options.delete => Action::Delete,
        _ => Action::Skip,
    })
}

/// A listing's word is not enough to delete: the source must lack `key` when asked
/// directly. If it has it, its listing skipped it (out of order), and nothing read from
/// it can be trusted: an error, which ends the sync.
async fn ensure_absent(src: &dyn ObjectStore, key: &Path) -> Result<()> {
    if absent(src, key).await.map_err(|e| tag("source", e))? {
        return Ok(());
    }
    Err(tag(
        "source",
        Error::Generic {
            store: "stratus",
            source: format!(
                "the listing is not in key order: {key} exists but was not listed where key \
                 order puts it; nothing was deleted for it (comparing stores needs key order)"
            )
            .into(),
        },
    ))
}

/// Carry out a copy or a delete of `key` (`listed`: whether the destination listed it),
/// backing up first what it deletes or overwrites when the options have a backup.
async fn apply(
    src: &dyn ObjectStore,
    dst: &dyn ObjectStore,
    key: &Path,
    action: &Action,
    listed: bool,
    options: &SyncOptions,
    backed_up: &AtomicU64,
) -> Result<()> {
    let replaces =
        matches!(action, Action::Delete) || (matches!(action, Action::Copy(_)) && listed);
    if let (true, Some(backup)) = (replaces, &options.backup) {
        if backup.keep(dst, key).await? {
            backed_up.fetch_add(1, Ordering::Relaxed);
        }
    }
    match action {
        Action::Skip => Ok(()),
        // The destination listed a copy: overwriting it is what sync is for.
        Action::Copy(_) if listed => {
            transfer_stamped(src, key, dst, key, PutMode::Overwrite, Stamp::Source)
                .await
                .map(drop)
        }
        // The destination listed none: never overwrite one it failed to list.
        Action::Copy(size) => transfer_absent(src, key, dst, key, *size, Stamp::Source)
            .await
            .map(drop),
        // `ensure_absent` proved the source lacks it.
        Action::Delete => match dst.delete(key).await {
            Err(Error::NotFound { .. }) => Ok(()),
            other => other,
        },
    }
}

/// A difference [`verify`] found.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Difference {
    /// In `b` only.
    MissingInA(ObjectMeta),
    /// In `a` only.
    MissingInB(ObjectMeta),
    /// In both, not the same by the comparison.
    Differs(ObjectMeta, ObjectMeta),
}

/// What [`verify`] found: complete counts, and up to `examples` keys of each kind.
#[derive(Debug, Default, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Keys in both and the same.
    pub same: u64,
    /// Keys only in `b`.
    pub missing_in_a: u64,
    /// Keys only in `a`.
    pub missing_in_b: u64,
    /// Keys in both that differ.
    pub differing: u64,
    /// The first differences found, up to `examples` of each kind.
    pub examples: Vec<Difference>,
    /// Files of `a`, a local store, that it does not list (object_store's `NAME#N`,
    /// names no key can hold), so not compared: `None` when there are none.
    pub unlisted_a: Option<Unlisted>,
    /// The same for `b`.
    pub unlisted_b: Option<Unlisted>,
}

impl VerifyReport {
    /// Whether the stores hold the same keys, all the same, and no file of either went
    /// uncompared because the store does not list it.
    pub fn is_identical(&self) -> bool {
        self.missing_in_a == 0
            && self.missing_in_b == 0
            && self.differing == 0
            && self.unlisted_a.is_none()
            && self.unlisted_b.is_none()
    }
}

/// Every difference between `a` and `b`, in key order, as a stream (bounded memory): one
/// join whatever `key_ranges` says ([`verify`] uses them).
/// Neither store is the source, so last-modified times are not compared
/// (`SizeAndModified` compares sizes, `Auto` sizes and MD5-form ETags).
pub fn differences<'a>(
    a: &'a dyn ObjectStore,
    b: &'a dyn ObjectStore,
    options: &'a SyncOptions,
) -> BoxStream<'a, crate::Result<Option<Difference>>> {
    keyed_differences(a, b, options, None, &[], false)
        .map(|item| item.map(|(_, difference)| difference))
        .boxed()
}

/// [`differences`] with each key, from after `after`; `ranged`: the join may be cut into
/// key ranges (`options.key_ranges`), which gives the keys out of order.
fn keyed_differences<'a>(
    a: &'a dyn ObjectStore,
    b: &'a dyn ObjectStore,
    options: &'a SyncOptions,
    after: Option<&Path>,
    listed: &[Listed],
    ranged: bool,
) -> BoxStream<'a, crate::Result<(Path, Option<Difference>)>> {
    let stores = [("a", a), ("b", b)];
    let rows = match ranged {
        true => options.join(&stores, after, listed),
        false => rows(&stores, options.prefix.as_ref(), after, listed),
    };
    rows.map(move |row| async move {
        let result = async {
            let (key, mut metas) = row?;
            let difference = match (metas[0].take(), metas[1].take()) {
                (Some(x), None) => Some(Difference::MissingInB(x)),
                (None, Some(y)) => Some(Difference::MissingInA(y)),
                (Some(x), Some(y)) => {
                    let same = options.compare.same((a, &x), (b, &y), false).await?;
                    (!same).then_some(Difference::Differs(x, y))
                }
                (None, None) => None,
            };
            Ok((key, difference))
        };
        result.await.map_err(|e| located(&[("a", a), ("b", b)], e))
    })
    .buffered(options.concurrency.max(1))
    .boxed()
}

/// Compare `a` and `b` key by key (see [`differences`]) and count what differs.
pub async fn verify(
    a: &dyn ObjectStore,
    b: &dyn ObjectStore,
    options: &SyncOptions,
) -> crate::Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let mut kept = [0usize; 3];
    let (checkpoint, after) = options.checkpoint("verify", a, b)?;
    let listed = [Listed::default(), Listed::default()];
    let mut found = keyed_differences(a, b, options, after.as_ref(), &listed, true);
    let mut handled = 0u64;
    while let Some(item) = found.next().await {
        handled += 1;
        let (key, difference) = item?;
        if let Some(checkpoint) = &checkpoint {
            checkpoint.handled(&key, handled)?;
        }
        if let Some(difference) = difference {
            let kind = match &difference {
                Difference::MissingInA(_) => {
                    report.missing_in_a += 1;
                    0
                }
                Difference::MissingInB(_) => {
                    report.missing_in_b += 1;
                    1
                }
                Difference::Differs(..) => {
                    report.differing += 1;
                    2
                }
            };
            if kept[kind] < options.examples {
                report.examples.push(difference);
            }
            kept[kind] += 1;
        } else {
            report.same += 1;
        }
        // Every key, the same ones included (they are most of a healthy verify).
        options.report(handled, 0, 0);
    }
    if let Some(checkpoint) = &checkpoint {
        checkpoint.finish()?;
    }
    drop(found);
    report.unlisted_a = listed[0].census(options.prefix.as_ref()).await;
    report.unlisted_b = listed[1].census(options.prefix.as_ref()).await;
    Ok(report)
}
