//! [`ShardedStore`]: one logical store spread over named member stores by a placement.

use super::placement::Placement;
use crate::composite::{delete_in_batches, fmt_members, onto_itself, tagged_listings};
use crate::error::tag;
use crate::merge::{list_after, merge, Listed};
use crate::transfer::{head_if_any, transfer};
use crate::version;
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, Error, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    RenameOptions, RenameTargetMode, Result,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// One logical store spread over several member stores: each key lives on the member a
/// [`Placement`] names, so any process finds it with no lookup table.
///
/// # Where each operation goes
///
/// - **put, multipart upload, get, head, get_ranges** go to the key's owner.
/// - **delete** and **delete_stream** go to the owner; `delete_stream` groups its input
///   into batches of up to 1,000 paths and sends each member its share of a batch as one
///   `delete_stream` call, all members at once. Results come back in input order.
/// - **list** and **list_with_offset** merge every member's listing (a k-way merge that
///   holds one pending entry per member). The result is in key order when every member
///   lists in key order: every store stratus builds does (local folders through a sorted
///   walk); a raw object_store `LocalFileSystem` does not. Only objects on their owner are listed: a
///   stray copy on another member (left by a process with other members, or by an
///   interrupted rebalance) is not part of the logical store; [`super::plan`] finds and
///   moves such copies.
/// - **list_with_delimiter** asks every member at once and merges: objects as for `list`,
///   common prefixes de-duplicated and sorted. A prefix that holds only stray objects is
///   still reported.
/// - **copy** and **rename** between two keys with the same owner are the member's own
///   (server-side, atomic where the member's are). Between owners, the body is streamed
///   from one member to the other:
///   - `copy` writes the destination with one atomic put when the object is at most
///     16 MiB and with a multipart upload above that, so a reader of the destination
///     never sees part of an object;
///   - `copy_if_not_exists` (`CopyMode::Create`) writes the destination with
///     `PutMode::Create`, which is atomic on the destination member. Because object_store
///     has no conditional multipart upload, the object is buffered in memory (as the
///     chunks read), up to 64 MiB (larger: `NotSupported`), and the destination member must support
///     conditional puts (S3 needs `aws_conditional_put`, the default in object_store
///     0.14; the local store and GCS, Azure and memory support them);
///   - `rename` is that copy followed by a delete of the source. It is not atomic: if the
///     delete fails, the error is returned and both keys exist.
/// - Errors keep object_store's kinds (`NotFound`, `AlreadyExists`, `Precondition`...)
///   and name the member in their source ([`crate::member_of`]).
///
/// # During a rebalance
///
/// Built [`with_previous`](Self::with_previous) membership, the store serves the logical
/// store while objects move from their previous owners to their new ones
/// ([`super::execute`] run on this same store value, or a clone of it):
///
/// - each move of a key runs alone: writes, deletes, copies and renames of that key
///   through this store wait for it, and it waits for them (keys share 1,024 locks by
///   hash, so a write may also wait for the move of another key of its lock); a delete
///   of a key that has a previous owner, a conditional update of one, and a copy or
///   rename across members also run alone on their keys (each touches two members);
/// - reads serve, of the new owner's and the previous owner's versions, the provably
///   newer when both hold the key (a rebalance rolled back leaves what was written
///   meanwhile on the member that is the previous owner now), else whichever holds it (a
///   `head` on each first); when the one chosen answers `NotFound`, the other, then the
///   first again: an object being moved is found on one of them;
/// - writes go to the new owner; `PutMode::Create` first checks the previous owner (and
///   fails with `AlreadyExists` if the object is there); `PutMode::Update` goes where the
///   version reads serve is (above). An object's
///   e-tag is its member's: once it moved, an update naming the e-tag read before the
///   move is refused with `Precondition` although the version is the same; read again
///   and retry;
/// - deletes go to the previous owner first, then to the new owner only where that
///   succeeded (`NotFound` counts): a failed delete is returned, and leaves both copies
///   as they were, never the older one alone;
/// - listings show each key once, as reads choose it: the provably newer of the owner's
///   and the previous owner's entries, else whichever was listed (a key in the middle of
///   its move is listed from whichever member the listing found it on); a stray copy on
///   any other member is not listed.
///
/// All of this holds within one process. A process that still uses the *old*
/// membership, or another process running the rebalance, is not seen: stop writers that
/// use the old membership before rebalancing (see [`super::execute`] for what remains).
///
/// Copies and renames during a rebalance always stream through the sharded store, so
/// they see the logical store; a copy or rename of a key onto itself changes nothing.
#[derive(Clone)]
pub struct ShardedStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Every member store: those of the placement, then any only the previous one names.
    stores: Vec<(String, Arc<dyn ObjectStore>)>,
    current: Routing,
    previous: Option<Routing>,
    /// Keys' locks, by hash: writes share them, a move of a key holds its own alone.
    locks: KeyLocks,
}

/// Locks over keys by hash (a fixed number, whatever the number of keys): writes take
/// their keys' locks shared, a move takes its key's alone, so that a move and a write of
/// one key never interleave.
pub(crate) struct KeyLocks(Box<[RwLock<()>]>);

impl KeyLocks {
    const COUNT: usize = 1024;

    fn new() -> Self {
        Self((0..Self::COUNT).map(|_| RwLock::new(())).collect())
    }

    fn index(key: &Path) -> usize {
        (xxhash_rust::xxh3::xxh3_64(key.as_ref().as_bytes()) % Self::COUNT as u64) as usize
    }

    /// Shared locks on `keys`, taken in one order (so two writers never wait on each
    /// other across a move), but for those this task holds alone already (the writes of
    /// a copy across members, see [`Self::alone_while`]).
    pub(crate) async fn write(&self, keys: &[&Path]) -> Vec<RwLockReadGuard<'_, ()>> {
        let held = self.held();
        let indexes: BTreeSet<usize> = keys.iter().map(|key| Self::index(key)).collect();
        let mut guards = Vec::with_capacity(indexes.len());
        for i in indexes {
            if !held.as_ref().is_some_and(|held| held.contains(&i)) {
                guards.push(self.0[i].read().await);
            }
        }
        guards
    }

    /// The lock of `key`, alone (for a move).
    pub(crate) async fn alone(&self, key: &Path) -> RwLockWriteGuard<'_, ()> {
        self.0[Self::index(key)].write().await
    }

    /// Run `work` holding the locks of `keys` alone (taken in one order, but those the
    /// task holds already): no write of those keys through the store, and no move, runs
    /// meanwhile, but `work`'s own writes through the store.
    async fn alone_while<T>(&self, keys: &[&Path], work: impl Future<Output = T>) -> T {
        let held = self.held();
        let mut indexes: BTreeSet<usize> = keys.iter().map(|key| Self::index(key)).collect();
        let mut guards = Vec::with_capacity(indexes.len());
        for &i in &indexes {
            if !held.as_ref().is_some_and(|held| held.contains(&i)) {
                guards.push(self.0[i].write().await);
            }
        }
        indexes.extend(held.iter().flat_map(|held| held.iter().copied()));
        let answer = HELD.scope((self.id(), Arc::new(indexes)), work).await;
        drop(guards);
        answer
    }

    /// The locks of this set the running task holds alone.
    fn held(&self) -> Option<Arc<BTreeSet<usize>>> {
        HELD.try_with(|held| (held.0 == self.id()).then(|| Arc::clone(&held.1)))
            .ok()
            .flatten()
    }

    /// This set of locks, among others (a sharded store may hold another).
    fn id(&self) -> usize {
        self.0.as_ptr() as usize
    }
}

tokio::task_local! {
    /// The locks the running task holds alone (their set's id, and which), so that its
    /// own writes through the store do not wait for them.
    static HELD: (usize, Arc<BTreeSet<usize>>);
}

/// A placement and, for each of its members, the index of its store.
struct Routing {
    placement: Arc<dyn Placement>,
    store_of: Vec<usize>,
}

impl Routing {
    fn new(placement: Arc<dyn Placement>, index: &HashMap<&str, usize>) -> crate::Result<Self> {
        let store_of = placement
            .members()
            .iter()
            .map(|member| {
                index.get(member.name()).copied().ok_or_else(|| {
                    config_error(format!(
                        "member {:?} of the placement has no store",
                        member.name()
                    ))
                })
            })
            .collect::<crate::Result<_>>()?;
        Ok(Self {
            placement,
            store_of,
        })
    }

    #[inline]
    fn owner(&self, location: &Path) -> usize {
        self.store_of[self.placement.locate(location.as_ref().as_bytes())]
    }
}

fn config_error(message: String) -> crate::Error {
    crate::Error::composition("sharded store", message)
}

impl ShardedStore {
    /// A sharded store over `stores` (member name, store), placed by `placement`. Every
    /// member of the placement needs a store, and every store must be a member.
    pub fn new(
        placement: impl Placement + 'static,
        stores: impl IntoIterator<Item = (String, Arc<dyn ObjectStore>)>,
    ) -> crate::Result<Self> {
        Self::from_parts(Arc::new(placement), None, stores.into_iter().collect())
    }

    /// The same store in the middle of a rebalance from the `previous` placement: reads
    /// fall back to an object's previous owner, deletes reach both owners (see the type's
    /// documentation). `stores` are the stores of members that only `previous` names.
    pub fn with_previous(
        self,
        previous: impl Placement + 'static,
        stores: impl IntoIterator<Item = (String, Arc<dyn ObjectStore>)>,
    ) -> crate::Result<Self> {
        let mut all = self.inner.stores.clone();
        all.extend(stores);
        Self::from_parts(
            self.inner.current.placement.clone(),
            Some(Arc::new(previous)),
            all,
        )
    }

    fn from_parts(
        placement: Arc<dyn Placement>,
        previous: Option<Arc<dyn Placement>>,
        stores: Vec<(String, Arc<dyn ObjectStore>)>,
    ) -> crate::Result<Self> {
        let mut index = HashMap::with_capacity(stores.len());
        for (i, (name, _)) in stores.iter().enumerate() {
            if index.insert(name.as_str(), i).is_some() {
                return Err(config_error(format!("two stores are named {name:?}")));
            }
        }
        if let Some((a, b)) = crate::place::first_shared_store(&stores) {
            return Err(config_error(format!(
                "members {a:?} and {b:?} are one store: a move between them would delete \
                 the only copy of what it moves; give each member its own store"
            )));
        }
        let current = Routing::new(placement, &index)?;
        let previous = previous
            .map(|placement| Routing::new(placement, &index))
            .transpose()?;
        let mut used = vec![false; stores.len()];
        for routing in std::iter::once(&current).chain(&previous) {
            for &store in &routing.store_of {
                used[store] = true;
            }
        }
        if let Some(unused) = used.iter().position(|used| !used) {
            return Err(config_error(format!(
                "store {:?} is not a member of the placement",
                stores[unused].0
            )));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                stores,
                current,
                previous,
                locks: KeyLocks::new(),
            }),
        })
    }

    /// The placement.
    pub fn placement(&self) -> &dyn Placement {
        self.inner.current.placement.as_ref()
    }

    /// The previous placement, while rebalancing.
    pub fn previous(&self) -> Option<&dyn Placement> {
        self.inner.previous.as_ref().map(|r| r.placement.as_ref())
    }

    /// Every member store by name: the placement's, then those only the previous
    /// placement names.
    pub fn stores(&self) -> impl Iterator<Item = (&str, &Arc<dyn ObjectStore>)> {
        self.inner.stores.iter().map(|(n, s)| (n.as_str(), s))
    }

    /// The name of the member that owns `location`.
    pub fn owner(&self, location: &Path) -> &str {
        &self.inner.stores[self.inner.current.owner(location)].0
    }

    /// The index in [`Self::stores`] of `location`'s owner, and its name.
    pub(crate) fn owner_entry(&self, location: &Path) -> (usize, &str) {
        let index = self.inner.current.owner(location);
        (index, &self.inner.stores[index].0)
    }

    /// Whether reads and listings through the store could show `key` from member
    /// `member` (its owner, or its previous owner during a rebalance).
    pub(crate) fn shows_from(&self, key: &Path, member: &str) -> bool {
        let inner = &self.inner;
        let owner = inner.current.owner(key);
        let previous = inner.previous_owner(key, owner);
        std::iter::once(owner)
            .chain(previous)
            .any(|i| inner.stores[i].0 == member)
    }

    /// The locks writes and moves take on keys.
    pub(crate) fn locks(&self) -> &KeyLocks {
        &self.inner.locks
    }
}

impl Inner {
    fn store(&self, index: usize) -> (&str, &Arc<dyn ObjectStore>) {
        let (name, store) = &self.stores[index];
        (name, store)
    }

    /// The member that holds both `from` and `to`, when one does and no rebalance is
    /// under way (then a copy or rename is the member's own).
    fn one_member(&self, from: &Path, to: &Path) -> Option<(&str, &Arc<dyn ObjectStore>)> {
        let owner = self.current.owner(from);
        (self.previous.is_none() && owner == self.current.owner(to)).then(|| self.store(owner))
    }

    /// The previous owner of `location`, if it differs from the current one.
    fn previous_owner(&self, location: &Path, owner: usize) -> Option<usize> {
        let previous = self.previous.as_ref()?.owner(location);
        (previous != owner).then_some(previous)
    }

    /// Of the entries listed for one key (one per member that listed it), the one the
    /// logical listing shows: the owner's, else the previous owner's (during a
    /// rebalance, the key not moved yet, or moved after the owner's listing passed it);
    /// none when only stray copies were listed.
    fn choose(&self, group: Vec<Listed>) -> Option<Listed> {
        let key = &group.first()?.meta.location;
        let owner = self.current.owner(key);
        let previous = self.previous_owner(key, owner);
        let (mut current, mut old) = (None, None);
        for entry in group {
            if entry.input == owner {
                current = Some(entry);
            } else if Some(entry.input) == previous {
                old = Some(entry);
            }
        }
        match (current, old) {
            // Both hold it: the provably newer version (see `Self::newer_holder`).
            (Some(current), Some(old)) if version::provably_newer(&old.meta, &current.meta) => {
                Some(old)
            }
            (Some(current), _) => Some(current),
            (None, old) => old,
        }
    }

    fn list_merged(
        self: &Arc<Self>,
        listings: Vec<BoxStream<'static, Result<ObjectMeta>>>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        // Entries of one key come out of the merge together: grouped, then chosen.
        struct State {
            inner: Arc<Inner>,
            merged: BoxStream<'static, Result<Listed>>,
            next: Option<Listed>,
            done: bool,
        }
        let state = State {
            inner: Arc::clone(self),
            merged: merge(listings),
            next: None,
            done: false,
        };
        stream::unfold(state, |mut s| async move {
            loop {
                if s.done && s.next.is_none() {
                    return None;
                }
                let mut group: Vec<Listed> = s.next.take().into_iter().collect();
                while !s.done {
                    match s.merged.next().await {
                        Some(Ok(entry)) => {
                            if group
                                .first()
                                .is_none_or(|first| first.meta.location == entry.meta.location)
                            {
                                group.push(entry);
                            } else {
                                s.next = Some(entry);
                                break;
                            }
                        }
                        Some(Err(err)) => {
                            // The group may lack the entry of the member that failed: the
                            // listing ends here, with the error.
                            s.done = true;
                            s.next = None;
                            return Some((Err(err), s));
                        }
                        None => s.done = true,
                    }
                }
                if let Some(entry) = s.inner.choose(group) {
                    return Some((Ok(entry.meta), s));
                }
            }
        })
        .boxed()
    }

    /// Run `op` on `location`'s owner and, when it is not found there during a
    /// rebalance, on its previous owner, then on the owner again (a move may have
    /// copied it there and deleted it from the previous owner in between).
    async fn read<T, F, Fut>(&self, location: &Path, op: F) -> Result<T>
    where
        F: Fn(Arc<dyn ObjectStore>) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let owner = self.current.owner(location);
        let Some(previous) = self.previous_owner(location, owner) else {
            let (name, store) = self.store(owner);
            return op(Arc::clone(store)).await.map_err(|err| tag(name, err));
        };
        let first = self.newer_holder(location, owner, previous).await?;
        let second = if first == owner { previous } else { owner };
        let (name, store) = self.store(first);
        match op(Arc::clone(store)).await {
            // Moved, or deleted, in between: the other owner, then this one again.
            Err(Error::NotFound { .. }) => {
                let (other_name, other) = self.store(second);
                match op(Arc::clone(other)).await {
                    Err(Error::NotFound { .. }) => {
                        op(Arc::clone(store)).await.map_err(|err| tag(name, err))
                    }
                    answer => answer.map_err(|err| tag(other_name, err)),
                }
            }
            answer => answer.map_err(|err| tag(name, err)),
        }
    }

    /// During a rebalance, of a key's owner and previous owner, the one whose version the
    /// store serves: the provably newer when both hold the key (a rebalance rolled back
    /// leaves the version written meanwhile on the member that is the previous owner
    /// now), else whichever holds it, the owner first (a `head` on each).
    async fn newer_holder(&self, location: &Path, owner: usize, previous: usize) -> Result<usize> {
        let ((owner_name, current), (old_name, old)) = (self.store(owner), self.store(previous));
        let (current, old) = futures::join!(
            head_if_any(current.as_ref(), location),
            head_if_any(old.as_ref(), location)
        );
        let current = current.map_err(|err| tag(owner_name, err))?;
        let old = old.map_err(|err| tag(old_name, err))?;
        Ok(match (current, old) {
            (Some(current), Some(old)) if version::provably_newer(&old, &current) => previous,
            (None, Some(_)) => previous,
            _ => owner,
        })
    }

    /// Delete a batch, each member its share at once; results in input order.
    async fn delete_batch(&self, batch: Vec<Result<Path>>) -> Vec<Result<Path>> {
        let keys: Vec<Path> = batch
            .iter()
            .filter_map(|item| item.as_ref().ok())
            .cloned()
            .collect();
        let keys: Vec<&Path> = keys.iter().collect();
        let moving = keys
            .iter()
            .any(|key| self.previous_owner(key, self.current.owner(key)).is_some());
        if moving {
            // Two members each: no write of a key between its two deletes.
            return self
                .locks
                .alone_while(&keys, self.delete_locked(batch))
                .await;
        }
        let _locks = self.locks.write(&keys).await;
        self.delete_locked(batch).await
    }

    /// [`Self::delete_batch`], the keys' locks held.
    async fn delete_locked(&self, batch: Vec<Result<Path>>) -> Vec<Result<Path>> {
        let mut results: Vec<Option<Result<Path>>> = Vec::with_capacity(batch.len());
        // For each store: the batch positions it deletes (as previous owner, as owner).
        let mut previous: Vec<Vec<(usize, Path)>> = vec![Vec::new(); self.stores.len()];
        let mut owners: Vec<(usize, usize, Path)> = Vec::new();
        for (position, item) in batch.into_iter().enumerate() {
            match item {
                Ok(path) => {
                    let owner = self.current.owner(&path);
                    if let Some(old) = self.previous_owner(&path, owner) {
                        previous[old].push((position, path.clone()));
                    }
                    owners.push((owner, position, path));
                    results.push(None);
                }
                Err(err) => results.push(Some(Err(err))),
            }
        }
        // Previous owners first: once the new owner's delete succeeds, the object must
        // not reappear from the old one. Where the old one fails, the new owner's copy
        // is left as it is (deleting it would leave the older version alone), and the
        // failure is the item's result.
        for (position, result) in self.delete_groups(previous).await {
            match result {
                Ok(_) | Err(Error::NotFound { .. }) => {}
                Err(err) => results[position] = Some(Err(err)),
            }
        }
        let mut current: Vec<Vec<(usize, Path)>> = vec![Vec::new(); self.stores.len()];
        for (owner, position, path) in owners {
            if results[position].is_none() {
                current[owner].push((position, path));
            }
        }
        for (position, result) in self.delete_groups(current).await {
            results[position].get_or_insert(result);
        }
        results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| {
                    Err(Error::Generic {
                        store: "ShardedStore",
                        source: "a member's delete_stream returned fewer results than paths".into(),
                    })
                })
            })
            .collect()
    }

    /// Send each store its group with one `delete_stream`, all stores at once, and pair
    /// each result with its batch position (a store answers in the order it was asked).
    async fn delete_groups(&self, groups: Vec<Vec<(usize, Path)>>) -> Vec<(usize, Result<Path>)> {
        let sends = groups
            .into_iter()
            .enumerate()
            .filter(|(_, group)| !group.is_empty())
            .map(|(index, group)| async move {
                let (name, store) = self.store(index);
                let (positions, paths): (Vec<usize>, Vec<Path>) = group.into_iter().unzip();
                let results: Vec<_> = store
                    .delete_stream(stream::iter(paths.into_iter().map(Ok)).boxed())
                    .map(|result| result.map_err(|err| tag(name, err)))
                    .collect()
                    .await;
                positions.into_iter().zip(results).collect::<Vec<_>>()
            });
        futures::future::join_all(sends)
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

impl fmt::Debug for ShardedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stores: Vec<_> = self.inner.stores.iter().map(|(n, s)| (n, s)).collect();
        f.debug_struct("ShardedStore")
            .field("placement", &self.inner.current.placement)
            .field(
                "previous",
                &self.inner.previous.as_ref().map(|r| &r.placement),
            )
            .field("stores", &stores)
            .finish()
    }
}

impl fmt::Display for ShardedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_members(f, "ShardedStore", &self.inner.stores)
    }
}

impl Inner {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let owner = self.current.owner(location);
        let moving = self.previous_owner(location, owner).is_some();
        if moving && matches!(opts.mode, PutMode::Update(_)) {
            // Decided on one member, written to it: no other write of the key between.
            let update = self.put_locked(location, payload, opts);
            return self.locks.alone_while(&[location], update).await;
        }
        let _locks = self.locks.write(&[location]).await;
        self.put_locked(location, payload, opts).await
    }

    /// [`Self::put_opts`], the key's lock held.
    async fn put_locked(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let owner = self.current.owner(location);
        let mut target = owner;
        if let Some(previous) = self.previous_owner(location, owner) {
            let (name, store) = self.store(previous);
            match &opts.mode {
                PutMode::Create => match store.head(location).await {
                    Ok(_) => {
                        return Err(Error::AlreadyExists {
                            path: location.to_string(),
                            source: format!(
                                "the object is on its previous owner {name:?} (rebalance \
                                 under way)"
                            )
                            .into(),
                        })
                    }
                    Err(Error::NotFound { .. }) => {}
                    Err(err) => return Err(tag(name, err)),
                },
                // Decided where the object is: the new owner once it has it.
                // Decided where the version reads serve is.
                PutMode::Update(_) => target = self.newer_holder(location, owner, previous).await?,
                _ => {}
            }
        }
        let (name, store) = self.store(target);
        store
            .put_opts(location, payload, opts)
            .await
            .map_err(|err| tag(name, err))
    }

    async fn put_multipart_opts(
        self: &Arc<Self>,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let (name, store) = self.store(self.current.owner(location));
        let upload = store
            .put_multipart_opts(location, opts)
            .await
            .map_err(|err| tag(name, err))?;
        Ok(Box::new(Upload {
            inner: Arc::clone(self),
            location: location.clone(),
            upload,
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.read(location, |store| {
            let options = options.clone();
            async move { store.get_opts(location, options).await }
        })
        .await
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for ShardedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner
            .read(location, |store| async move {
                store.get_ranges(location, ranges).await
            })
            .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let inner = Arc::clone(&self.inner);
        delete_in_batches(locations, move |batch| {
            let inner = Arc::clone(&inner);
            async move { inner.delete_batch(batch).await }
        })
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let listings = tagged_listings(&self.inner.stores, |store| store.list(prefix));
        self.inner.list_merged(listings)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        // Not each member's `list_with_offset` as is: see `list_after` (SeaweedFS).
        let listings = tagged_listings(&self.inner.stores, |store| {
            list_after(store, prefix, offset)
        });
        self.inner.list_merged(listings)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let inner = &self.inner;
        let results = futures::future::join_all(inner.stores.iter().map(|(name, store)| async {
            store
                .list_with_delimiter(prefix)
                .await
                .map_err(|err| tag(name, err))
        }))
        .await;
        let mut prefixes = BTreeSet::new();
        let mut listed: BTreeMap<Path, Vec<Listed>> = BTreeMap::new();
        for (input, result) in results.into_iter().enumerate() {
            let result = result?;
            prefixes.extend(result.common_prefixes);
            for meta in result.objects {
                let group = listed.entry(meta.location.clone()).or_default();
                group.push(Listed { input, meta });
            }
        }
        let objects = listed
            .into_values()
            .filter_map(|group| inner.choose(group))
            .map(|entry| entry.meta)
            .collect();
        Ok(ListResult {
            common_prefixes: prefixes.into_iter().collect(),
            objects,
            extensions: Default::default(),
        })
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        if from == to {
            let conditional = matches!(options.mode, CopyMode::Create);
            return onto_itself(self, from, conditional).await;
        }
        if let Some((name, store)) = self.inner.one_member(from, to) {
            let _locks = self.inner.locks.write(&[from, to]).await;
            return store
                .copy_opts(from, to, options)
                .await
                .map_err(|err| tag(name, err));
        }
        let mode = match options.mode {
            CopyMode::Overwrite => PutMode::Overwrite,
            CopyMode::Create => PutMode::Create,
        };
        // Read from one member, written to another: no write of either key in between.
        let copy = transfer(self, from, self, to, mode);
        let locks = &self.inner.locks;
        locks.alone_while(&[from, to], copy).await.map(drop)
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        if from == to {
            let conditional = matches!(options.target_mode, RenameTargetMode::Create);
            return onto_itself(self, from, conditional).await;
        }
        if let Some((name, store)) = self.inner.one_member(from, to) {
            let _locks = self.inner.locks.write(&[from, to]).await;
            return store
                .rename_opts(from, to, options)
                .await
                .map_err(|err| tag(name, err));
        }
        let mode = match options.target_mode {
            RenameTargetMode::Overwrite => PutMode::Overwrite,
            RenameTargetMode::Create => PutMode::Create,
        };
        let rename = async {
            transfer(self, from, self, to, mode).await?;
            self.delete(from).await
        };
        self.inner.locks.alone_while(&[from, to], rename).await
    }
}

/// A multipart upload to a key's owner, completed under the key's lock (a move of the
/// key never interleaves with the write that completes it).
struct Upload {
    inner: Arc<Inner>,
    location: Path,
    upload: Box<dyn MultipartUpload>,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl MultipartUpload for Upload {
    fn put_part(&mut self, data: PutPayload) -> object_store::UploadPart {
        self.upload.put_part(data)
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let _locks = self.inner.locks.write(&[&self.location]).await;
        self.upload.complete().await
    }

    async fn abort(&mut self) -> Result<()> {
        self.upload.abort().await
    }
}
