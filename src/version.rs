//! When two copies of an object hold the same bytes, and when one is provably newer: the
//! one definition [`sync`](crate::replicate::sync), [`verify`](crate::replicate::verify),
//! [`repair`](crate::replicate::repair) and [`execute`](crate::shard::execute) (the
//! rebalance) use before they overwrite or delete anything.
//!
//! # Same bytes
//!
//! Copies with different sizes differ. Copies whose ETags both have the MD5 form (32
//! hex digits: S3 and S3-compatible servers for single-part uploads) are the same exactly
//! when the ETags are equal. Otherwise ETags say nothing (Azure's, GCS's, a local
//! folder's and multipart ETags are opaque, and never equal across providers), and
//! "the same bytes" is decided by reading both bodies and comparing their XXH3-128
//! digests. [`Compare`] chooses how much of this a comparison does: `Content` always
//! reads, `Size` never does, `Auto` stops where the metadata decides.
//!
//! # Provably newer
//!
//! A version is provably newer than another when its last-modified time is later at the
//! *coarser* of the two times' precisions: a time whose fraction is a whole number of
//! milliseconds counts as milliseconds (S3 and Azure report whole seconds or
//! milliseconds; local folders and memory, nanoseconds). Two writes within one second of
//! a store that reports seconds are not provably ordered, and neither wins. Times from
//! two stores are two clocks: where they may be skewed by more than the time between
//! the writes, choose explicitly (`Prefer` in a rebalance, `Compare::Content` in sync).
//!
//! # The source stamp
//!
//! [`sync`](crate::replicate::sync) cannot learn from times alone whether a copy is
//! current: the destination's time is when the copy was made, by the destination's clock,
//! and a source whose clock is behind (or whose files carry restored times) can change
//! after the copy while looking older. So each object sync copies carries the source's
//! version as user metadata, `stratussource` (size, last-modified to the nanosecond and
//! ETag of what was read). A later sync compares that stamp with the source's version as
//! listed now: equal means current, different means changed, whatever the clocks say.
//! Stores that keep no user metadata (object_store's local folders) get no stamp; for
//! them sync falls back to times (the copy must not be provably older than the source),
//! and a same-size change whose time goes backwards is found only by
//! `Compare::Content`.

use futures::StreamExt;
use object_store::path::Path;
use object_store::{Attribute, Attributes, GetOptions, ObjectMeta, ObjectStore, Result};
use xxhash_rust::xxh3::Xxh3;

/// How two copies of a key are compared (by [`sync`](crate::replicate::sync),
/// [`verify`](crate::replicate::verify), [`repair`](crate::replicate::repair), and the
/// rebalance's check of a copy it made:
/// [`ExecuteOptions::verify`](crate::shard::ExecuteOptions::verify)). Sizes are always
/// compared first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compare {
    /// The default: equal sizes; then, when both copies have an MD5-form ETag, equal
    /// ETags. Otherwise, in `sync`, the destination's source stamp (see the module
    /// documentation) must match the source's version, or, without a stamp, the
    /// destination must not be provably older than the source; in `verify` and `repair`
    /// sizes decide; the rebalance reads the copy back.
    #[default]
    Auto,
    /// Equal sizes.
    Size,
    /// Equal sizes and equal ETags (for two stores of one provider: ETags of different
    /// providers never match).
    SizeAndETag,
    /// Equal sizes, and in `sync` the destination not provably older than the source
    /// (no source stamp read: no request per key). A source changed to the same size
    /// after the copy but with an older time (a clock behind, restored times) is
    /// missed; use `Content` or `Auto` where that matters. (`verify` and `repair` read it
    /// as `Size`.)
    SizeAndModified,
    /// Equal bytes: both copies are read and their XXH3-128 digests compared.
    Content,
}

/// The object's ETag if it has the MD5 form (32 hex digits, quotes aside), which S3 and
/// S3-compatible servers give single-part uploads: then equal ETags mean equal bytes.
pub(crate) fn md5_etag(meta: &ObjectMeta) -> Option<&str> {
    let etag = meta.e_tag.as_deref()?.trim_matches('"');
    (etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())).then_some(etag)
}

/// Whether `a` (in `a_store`) and `b` (in `b_store`) hold the same bytes: equal sizes,
/// then equal ETags when both have the MD5 form, otherwise equal XXH3-128 digests of
/// both bodies, read. Never decided by times or by opaque ETags.
pub(crate) async fn same_bytes(
    (a_store, a): (&dyn ObjectStore, &ObjectMeta),
    (b_store, b): (&dyn ObjectStore, &ObjectMeta),
) -> Result<bool> {
    if a.size != b.size {
        return Ok(false);
    }
    if let (Some(x), Some(y)) = (md5_etag(a), md5_etag(b)) {
        return Ok(x == y);
    }
    Ok(digest(a_store, &a.location).await? == digest(b_store, &b.location).await?)
}

/// Whether `a` was written after `b`, provably: later at the coarser of the precisions
/// their times are given in (see the module documentation).
pub(crate) fn provably_newer(a: &ObjectMeta, b: &ObjectMeta) -> bool {
    fn unit(nanos: u32) -> i128 {
        match nanos {
            0 => 1_000_000_000,
            n if n % 1_000_000 == 0 => 1_000_000,
            n if n % 1_000 == 0 => 1_000,
            _ => 1,
        }
    }
    let (a, b) = (&a.last_modified, &b.last_modified);
    let unit = unit(a.timestamp_subsec_nanos()).max(unit(b.timestamp_subsec_nanos()));
    let ticks = |t: &chrono::DateTime<chrono::Utc>| {
        (i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos()))
            .div_euclid(unit)
    };
    ticks(a) > ticks(b)
}

/// Of `versions` (one per place, `None` where there is none), the one to keep: the
/// first present that no later one is provably newer than, comparing in order (so
/// versions not provably ordered go to the earliest place).
pub(crate) fn newest(versions: &[Option<ObjectMeta>]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, meta) in versions.iter().enumerate() {
        let Some(meta) = meta else { continue };
        match best {
            Some(b) if !provably_newer(meta, versions[b].as_ref().expect("present")) => {}
            _ => best = Some(i),
        }
    }
    best
}

/// The user metadata key of the source stamp.
pub(crate) const STAMP: &str = "stratussource";

/// The source stamp of the version `meta` describes: its size, last-modified time (to
/// the nanosecond) and ETag.
pub(crate) fn stamp(meta: &ObjectMeta) -> String {
    format!(
        "v1 {} {} {}",
        meta.size,
        meta.last_modified.timestamp_nanos_opt().unwrap_or_default(),
        meta.e_tag.as_deref().unwrap_or("-")
    )
}

/// `attributes` with the source stamp of `source` added.
pub(crate) fn stamped(mut attributes: Attributes, source: &ObjectMeta) -> Attributes {
    attributes.insert(Attribute::Metadata(STAMP.into()), stamp(source).into());
    attributes
}

/// The source stamp `store`'s copy at `location` carries, if any (a `head`).
pub(crate) async fn stamp_of(store: &dyn ObjectStore, location: &Path) -> Result<Option<String>> {
    let options = GetOptions {
        head: true,
        ..GetOptions::default()
    };
    let got = store.get_opts(location, options).await?;
    Ok(got
        .attributes
        .get(&Attribute::Metadata(STAMP.into()))
        .map(|value| value.as_ref().to_string()))
}

impl Compare {
    /// Whether `b` is a good copy of `a`. With `from_source`, `a` is the source (`sync`):
    /// its stamp on `b`, or times, count; otherwise (`verify`, `repair`) they do not.
    pub(crate) async fn same(
        self,
        (a_store, a): (&dyn ObjectStore, &ObjectMeta),
        (b_store, b): (&dyn ObjectStore, &ObjectMeta),
        from_source: bool,
    ) -> Result<bool> {
        if a.size != b.size {
            return Ok(false);
        }
        let not_older = || !provably_newer(a, b);
        Ok(match self {
            Compare::Auto => match (md5_etag(a), md5_etag(b)) {
                (Some(x), Some(y)) => x == y,
                _ if !from_source => true,
                _ => match stamp_of(b_store, &b.location).await? {
                    Some(stamp) => stamp == self::stamp(a),
                    None => not_older(),
                },
            },
            Compare::Size => true,
            Compare::SizeAndETag => a.e_tag.is_some() && a.e_tag == b.e_tag,
            Compare::SizeAndModified => !from_source || not_older(),
            Compare::Content => {
                digest(a_store, &a.location).await? == digest(b_store, &b.location).await?
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use object_store::memory::InMemory;

    fn meta(size: u64, e_tag: &str, second: i64, nanos: u32) -> ObjectMeta {
        ObjectMeta {
            location: Path::from("k"),
            last_modified: Utc.timestamp_opt(second, nanos).unwrap(),
            size,
            e_tag: (!e_tag.is_empty()).then(|| e_tag.to_string()),
            version: None,
        }
    }

    #[test]
    fn newer_only_at_the_coarser_precision() {
        // Whole seconds against nanoseconds: the same second is not ordered.
        assert!(!provably_newer(&meta(1, "", 10, 5), &meta(1, "", 10, 0)));
        assert!(!provably_newer(&meta(1, "", 10, 0), &meta(1, "", 10, 5)));
        assert!(provably_newer(
            &meta(1, "", 11, 0),
            &meta(1, "", 10, 999_999_999)
        ));
        // Milliseconds: within one, not ordered; one apart, ordered.
        assert!(!provably_newer(
            &meta(1, "", 10, 2_000_100),
            &meta(1, "", 10, 2_000_000)
        ));
        assert!(provably_newer(
            &meta(1, "", 10, 3_000_000),
            &meta(1, "", 10, 2_000_000)
        ));
        // Nanoseconds on both sides: exact.
        assert!(provably_newer(&meta(1, "", 10, 7), &meta(1, "", 10, 6)));
        // The first place wins a tie; a later one only when provably newer.
        let versions = [
            None,
            Some(meta(1, "", 10, 0)),
            Some(meta(1, "", 10, 5)),
            Some(meta(1, "", 9, 0)),
        ];
        assert_eq!(newest(&versions), Some(1));
        let versions = [Some(meta(1, "", 10, 0)), Some(meta(1, "", 12, 0))];
        assert_eq!(newest(&versions), Some(1));
        assert_eq!(newest(&[None, None]), None);
    }

    #[tokio::test]
    async fn auto_compares_md5_etags_then_the_stamp_then_times_from_the_source() {
        let store = InMemory::new();
        let same = |a: ObjectMeta, b: ObjectMeta, from_source| {
            let store = &store;
            async move {
                Compare::Auto
                    .same((store, &a), (store, &b), from_source)
                    .await
                    .unwrap()
            }
        };
        let md5 = "\"9e107d9d372bb6826bd81d3542a419d6\"";
        let other_md5 = "\"e4d909c290d0fb1ca068ffaddf22cbd0\"";
        // MD5-form ETags decide, whatever the times.
        assert!(same(meta(3, md5, 10, 0), meta(3, md5, 5, 0), true).await);
        assert!(!same(meta(3, md5, 5, 0), meta(3, other_md5, 10, 0), true).await);
        assert!(!same(meta(3, md5, 5, 0), meta(3, other_md5, 10, 0), false).await);
        // Opaque ETags, the copy without a stamp: it must not be provably older.
        store
            .put_opts(&Path::from("k"), "abc".into(), Default::default())
            .await
            .unwrap();
        assert!(same(meta(3, "0x8D", 10, 0), meta(3, "abc-3", 10, 0), true).await);
        assert!(!same(meta(3, "0x8D", 11, 0), meta(3, "abc-3", 10, 0), true).await);
        // ...and between two copies only sizes count.
        assert!(same(meta(3, "0x8D", 11, 0), meta(3, "abc-3", 10, 0), false).await);
        assert!(!same(meta(3, "", 1, 0), meta(4, "", 1, 0), false).await);
        // With a stamp, the stamp decides: a source that changed while its time went
        // back is found; an unchanged one is current whatever the times.
        let source = meta(3, "src-1", 100, 0);
        let options = object_store::PutOptions {
            attributes: stamped(Attributes::new(), &source),
            ..Default::default()
        };
        store
            .put_opts(&Path::from("k"), "abc".into(), options)
            .await
            .unwrap();
        assert!(same(source.clone(), meta(3, "copy", 50, 0), true).await);
        assert!(!same(meta(3, "src-2", 40, 0), meta(3, "copy", 50, 0), true).await);
    }
}

/// What a transfer read and wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transferred {
    /// Bytes copied.
    pub size: u64,
    /// XXH3-128 of the bytes copied.
    pub digest: u128,
}

/// Read `location` in `store` and return its size and XXH3-128 digest.
pub(crate) async fn digest(store: &dyn ObjectStore, location: &Path) -> Result<Transferred> {
    let mut body = crate::layer::body(store.get_opts(location, GetOptions::default()).await?);
    let mut hasher = Xxh3::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
    }
    Ok(Transferred {
        size,
        digest: hasher.digest128(),
    })
}
