//! Objects and bytes by file-name extension ("what kind of files fill the bucket"), in
//! bounded memory.

use super::histogram::Counts;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The distinct extensions an [`Extensions`] keeps; the objects of others are summed in
/// [`Extensions::other`]. Real buckets hold tens; hashed or dated names with dots in them
/// (`part.2026-12-07`, `x.1a2b3c`) could make many more.
pub const EXTENSION_LIMIT: usize = 1_000;

/// The longest extension, in bytes: a longer tail after the last dot (`x.0123456789abcdef0`)
/// is no extension.
pub const EXTENSION_MAX_BYTES: usize = 16;

/// Objects and bytes per extension: the text after the last `.` of a key's last segment,
/// ASCII letters and digits only, at most [`EXTENSION_MAX_BYTES`] of them, lowercased
/// (`photo.JPG` and `photo.jpg` are both `jpg`; `a.tar.gz` is `gz`). A name without one
/// (`README`, `.bashrc`, `x.`, `x.tmp~`, `x.日本`) counts in [`Extensions::none`]. The first
/// [`EXTENSION_LIMIT`] distinct extensions met are kept; later ones count in
/// [`Extensions::other`], so two reports merge exactly when they hold no more than that
/// together, as those of a bucket's real extensions do.
///
/// JSON: `{"kept": {"jpg": {"objects": 3, "bytes": 4500}, ...}, "none": {...}, "other":
/// {...}}`. A report read back is checked: each kept name an extension, at most
/// [`EXTENSION_LIMIT`] of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Stored", try_from = "Stored")]
pub struct Extensions {
    /// By extension, packed ([`pack`]): one integer compare a step, no allocation
    /// an object (a map of strings cost 50 ns an object).
    kept: BTreeMap<u128, Counts>,
    none: Counts,
    other: Counts,
}

/// [`Extensions`] as JSON holds it.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(deserialize_with = "kept_names")]
    kept: BTreeMap<String, Counts>,
    none: Counts,
    other: Counts,
}

impl From<Extensions> for Stored {
    fn from(e: Extensions) -> Self {
        Stored {
            kept: e.kept.into_iter().map(|(k, c)| (unpack(k), c)).collect(),
            none: e.none,
            other: e.other,
        }
    }
}

/// The `kept` map of a report read back, refused at its entry past [`EXTENSION_LIMIT`]
/// (before a hostile file's names are all held) and at a name given twice (which would
/// otherwise drop the first one's objects).
fn kept_names<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, Counts>, D::Error> {
    struct Kept;
    impl<'de> serde::de::Visitor<'de> for Kept {
        type Value = BTreeMap<String, Counts>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a map of at most {EXTENSION_LIMIT} extensions to counts")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            use serde::de::Error;
            let mut kept = BTreeMap::new();
            while let Some((name, counts)) = map.next_entry::<String, Counts>()? {
                if kept.len() == EXTENSION_LIMIT {
                    return Err(A::Error::custom(format!(
                        "more than the {EXTENSION_LIMIT} extensions a report keeps"
                    )));
                }
                if kept.contains_key(&name) {
                    return Err(A::Error::custom(format!(
                        "the extension {} given twice",
                        crate::text::excerpt(&name, 32)
                    )));
                }
                kept.insert(name, counts);
            }
            Ok(kept)
        }
    }
    deserializer.deserialize_map(Kept)
}

impl TryFrom<Stored> for Extensions {
    type Error = String;

    fn try_from(stored: Stored) -> Result<Self, String> {
        // At most the limit, each once: `kept_names`.
        let mut kept = BTreeMap::new();
        for (name, counts) in stored.kept {
            let packed = packed_name(&name).ok_or_else(|| {
                format!(
                    "{} is not an extension (ASCII letters and digits, lowercase, at \
                         most {EXTENSION_MAX_BYTES})",
                    crate::text::excerpt(&name, 32)
                )
            })?;
            kept.insert(packed, counts);
        }
        Ok(Extensions {
            kept,
            none: stored.none,
            other: stored.other,
        })
    }
}

impl Extensions {
    /// Count an object named `key` of `size` bytes.
    pub(crate) fn add(&mut self, key: &str, size: u64) {
        let mut buffer = [0u8; EXTENSION_MAX_BYTES];
        if extension(key, &mut buffer).is_none() {
            return self.none.add(size);
        }
        let packed = pack(&buffer);
        if let Some(counts) = self.kept.get_mut(&packed) {
            return counts.add(size);
        }
        self.keep(packed, Counts::default().plus(size));
    }

    /// Keep `counts` under the new extension `packed`, or count them in `other` past the
    /// limit.
    fn keep(&mut self, packed: u128, counts: Counts) {
        match self.kept.len() < EXTENSION_LIMIT {
            true => {
                self.kept.insert(packed, counts);
            }
            false => self.other.merge(counts),
        }
    }

    /// Add `other`'s counts (kept extensions stay kept while fewer than the limit).
    pub(crate) fn merge(&mut self, other: Extensions) {
        for (packed, counts) in other.kept {
            match self.kept.get_mut(&packed) {
                Some(mine) => mine.merge(counts),
                None => self.keep(packed, counts),
            }
        }
        self.none.merge(other.none);
        self.other.merge(other.other);
    }

    /// The extensions kept, most bytes first (ties: most objects, then the name).
    pub fn by_bytes(&self) -> Vec<(String, Counts)> {
        let mut rows: Vec<(String, Counts)> =
            self.kept.iter().map(|(e, c)| (unpack(*e), *c)).collect();
        rows.sort_by(|a, b| {
            (b.1.bytes, b.1.objects)
                .cmp(&(a.1.bytes, a.1.objects))
                .then(a.0.cmp(&b.0))
        });
        rows
    }

    /// The counts of one extension (lowercase), if kept.
    pub fn get(&self, extension: &str) -> Option<Counts> {
        self.kept.get(&packed_name(extension)?).copied()
    }

    /// Objects whose name has no extension.
    pub fn none(&self) -> Counts {
        self.none
    }

    /// Objects of extensions past the first [`EXTENSION_LIMIT`].
    pub fn other(&self) -> Counts {
        self.other
    }
}

/// An extension's bytes, zero-padded, as one number: the same order as the names' (no
/// extension holds a zero byte, and a shorter name's padding sorts before any letter).
fn pack(buffer: &[u8; EXTENSION_MAX_BYTES]) -> u128 {
    u128::from_be_bytes(*buffer)
}

/// `name` packed, if it is an extension as [`extension`] gives them (lowercase).
fn packed_name(name: &str) -> Option<u128> {
    let mut buffer = [0u8; EXTENSION_MAX_BYTES];
    let valid = extension(&format!("x.{name}"), &mut buffer) == Some(name);
    valid.then(|| pack(&buffer))
}

/// [`pack`] undone.
fn unpack(packed: u128) -> String {
    let bytes = packed.to_be_bytes();
    let len = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    // Packed from ASCII letters and digits.
    String::from_utf8_lossy(&bytes[..len]).into_owned()
}

/// The extension of `key` (see [`Extensions`]), lowercased into `buffer` (the rest of
/// which is left zero).
fn extension<'b>(key: &str, buffer: &'b mut [u8; EXTENSION_MAX_BYTES]) -> Option<&'b str> {
    let name = key.rfind('/').map_or(key, |slash| &key[slash + 1..]);
    let dot = name.rfind('.')?;
    let tail = &name.as_bytes()[dot + 1..];
    if dot == 0 || tail.is_empty() || tail.len() > EXTENSION_MAX_BYTES {
        return None;
    }
    if !tail.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let out = &mut buffer[..tail.len()];
    out.copy_from_slice(tail);
    out.make_ascii_lowercase();
    // ASCII letters and digits: UTF-8.
    std::str::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn of(key: &str) -> Option<String> {
        extension(key, &mut [0; EXTENSION_MAX_BYTES]).map(str::to_string)
    }

    #[test]
    fn the_extension_is_the_last_segments_tail_after_its_last_dot() {
        for (key, expected) in [
            ("photo.jpg", Some("jpg")),
            ("a/b/photo.JPG", Some("jpg")),
            ("backup.tar.gz", Some("gz")),
            ("dir.d/README", None),
            (".bashrc", None),
            ("a/.hidden", None),
            ("x.", None),
            ("x.tmp~", None),
            ("x.日本", None),
            ("x.mp4 ", None),
            ("part-00001.c000.snappy.parquet", Some("parquet")),
            ("x.0123456789abcdef", Some("0123456789abcdef")),
            ("x.0123456789abcdef0", None),
            ("", None),
            ("a/", None),
        ] {
            assert_eq!(of(key).as_deref(), expected, "{key:?}");
        }
    }

    #[test]
    fn extensions_past_the_limit_count_as_other() {
        let mut e = Extensions::default();
        for i in 0..EXTENSION_LIMIT + 5 {
            e.add(&format!("f.e{i}"), 2);
        }
        e.add("f.e0", 3);
        assert_eq!(e.kept.len(), EXTENSION_LIMIT);
        assert_eq!(
            e.other(),
            Counts {
                objects: 5,
                bytes: 10
            }
        );
        assert_eq!(
            e.get("e0"),
            Some(Counts {
                objects: 2,
                bytes: 5
            })
        );
    }

    /// A scan counts them (sequential or in parallel, the same), the table and the page
    /// show them, and a scan told not to leaves them out.
    #[tokio::test]
    async fn a_scan_counts_extensions_and_shows_them() {
        use object_store::{memory::InMemory, path::Path, ObjectStoreExt};
        let store = InMemory::new();
        for (i, key) in ["a/x.jpg", "a/y.JPG", "b/z.tar.gz", "b/README", "c/d/e.jpg"]
            .iter()
            .enumerate()
        {
            let body = vec![0u8; 10 * (i + 1)];
            store.put(&Path::from(*key), body.into()).await.unwrap();
        }
        let options = crate::inventory::ScanOptions::default();
        for concurrency in [1, 4] {
            let report = crate::inventory::scan(
                &store,
                None,
                &options.clone().with_concurrency(concurrency),
            )
            .await
            .unwrap();
            let e = report.extensions.as_ref().unwrap();
            let c = |objects, bytes| Counts { objects, bytes };
            assert_eq!(
                e.by_bytes(),
                [("jpg".to_string(), c(3, 80)), ("gz".to_string(), c(1, 30))]
            );
            // JSON and back: the same.
            let json = serde_json::to_string(e).unwrap();
            assert!(json.contains(r#""jpg":{"objects":3,"bytes":80}"#), "{json}");
            assert_eq!(&serde_json::from_str::<Extensions>(&json).unwrap(), e);
            assert_eq!(e.none(), c(1, 40));
            let table = crate::inventory::table::render(&report, "t");
            assert!(table.contains("By extension:"), "{table}");
            assert!(table.contains("(no extension)"), "{table}");
        }
        let off = crate::inventory::scan(&store, None, &options.with_extensions(false))
            .await
            .unwrap();
        assert!(off.extensions.is_none());
        assert!(!crate::inventory::table::render(&off, "t").contains("By extension"));
    }

    /// A report read back keeps only extensions, at most the limit: a hostile or broken
    /// file is refused, not kept as text the table would print.
    #[test]
    fn a_report_read_back_holds_only_extensions() {
        let read = |kept: &str| {
            serde_json::from_str::<Extensions>(&format!(
                r#"{{"kept": {{{kept}}}, "none": {{"objects": 0, "bytes": 0}}, "other": {{"objects": 0, "bytes": 0}}}}"#
            ))
        };
        let counts = r#"{"objects": 1, "bytes": 2}"#;
        assert!(read(&format!(r#""gz": {counts}"#)).is_ok());
        for bad in ["JPG", "", "a.b", "\\u001b[31m", "0123456789abcdef0", "日本"] {
            let err = read(&format!(r#""{bad}": {counts}"#))
                .unwrap_err()
                .to_string();
            assert!(err.contains("is not an extension"), "{bad}: {err}");
            assert!(!err.contains('\u{1b}'), "{err}");
        }
        let many: Vec<String> = (0..=EXTENSION_LIMIT)
            .map(|i| format!(r#""e{i}": {counts}"#))
            .collect();
        let err = read(&many.join(",")).unwrap_err().to_string();
        assert!(err.contains("more than the 1000"), "{err}");
    }

    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "a.jpg", "b/c.JPG", "d.png", "e", ".f", "g.tar.gz", "h.", "i/j.Gz", "k.日本", "l.mp4",
        ])
        .prop_map(String::from)
    }

    proptest! {
        /// Split anyhow and merged in any order, the parts give what one pass gives
        /// (under the limit), and every object is counted once.
        #[test]
        fn parts_merge_into_one_pass(
            objects in prop::collection::vec((key(), 0u64..1000), 0..60),
            cuts in prop::collection::vec(0usize..60, 0..5),
            reversed in any::<bool>(),
        ) {
            let mut one = Extensions::default();
            for (key, size) in &objects {
                one.add(key, *size);
            }
            let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c.min(objects.len())).collect();
            bounds.push(0);
            bounds.push(objects.len());
            bounds.sort_unstable();
            let mut parts: Vec<Extensions> = bounds
                .windows(2)
                .map(|w| {
                    let mut part = Extensions::default();
                    for (key, size) in &objects[w[0]..w[1]] {
                        part.add(key, *size);
                    }
                    part
                })
                .collect();
            if reversed {
                parts.reverse();
            }
            let mut merged = Extensions::default();
            for part in parts {
                merged.merge(part);
            }
            prop_assert_eq!(&merged, &one);
            let counted: u64 = one.kept.values().map(|c| c.objects).sum::<u64>()
                + one.none.objects
                + one.other.objects;
            prop_assert_eq!(counted, objects.len() as u64);
        }
    }
}
