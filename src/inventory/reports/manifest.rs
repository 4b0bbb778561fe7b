//! The three providers' manifests, read into one [`Plan`]: which data files, in which
//! format, with which checks.

use super::{excerpt, Fail};
use chrono::{DateTime, TimeZone, Utc};
use md5::{Digest, Md5};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::de::IgnoredAny;
use serde::Deserialize;

/// What a manifest says to read.
#[derive(Debug)]
pub(crate) struct Plan {
    /// `s3-inventory`, `azure-blob-inventory` or `gcs-storage-insights`.
    pub kind: &'static str,
    pub format: Format,
    pub files: Vec<DataFile>,
    pub taken: Option<DateTime<Utc>>,
    pub source_bucket: Option<String>,
    /// Rows the manifest says the files hold (GCS `records_processed`, Azure
    /// `summary.objectCount`).
    pub expected_rows: Option<u64>,
    /// Keys longer than [`KEY_BYTES`](super::KEY_BYTES) bytes are accepted up to this
    /// many characters: Azure bounds a blob name at 1,024 characters, and its rows start
    /// with the container's name (at most 63) and a `/`. `None` for S3 and GCS (1,024
    /// bytes).
    pub key_chars: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// CSV, gzipped or not (told by the bytes, not the name).
    Csv {
        /// Whether the first line names the columns (Azure, GCS); else `columns` does (S3).
        header: bool,
        columns: Vec<String>,
        /// S3 Inventory URL-encodes keys in CSV.
        url_encoded_keys: bool,
    },
    Parquet,
}

impl Format {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Format::Csv { .. } => "csv",
            Format::Parquet => "parquet",
        }
    }
}

/// One data file and what the manifest says of it.
#[derive(Clone, Debug)]
pub(crate) struct DataFile {
    pub path: Path,
    pub size: Option<u64>,
    pub md5: Option<[u8; 16]>,
}

/// Manifests are small (a line per data file); past this something is wrong.
const MANIFEST_LIMIT: u64 = 64 << 20;

/// Read and check the manifest at `key`, and the files it lists.
pub(crate) async fn plan(store: &dyn ObjectStore, key: &Path) -> Result<Plan, Fail> {
    let fail = |message: String| Fail::at(key, message);
    let got = store
        .get(key)
        .await
        .map_err(|e| fail(format!("cannot read the manifest: {e}")))?;
    if got.meta.size > MANIFEST_LIMIT {
        return Err(fail(format!(
            "{} bytes is too large for a manifest (limit {MANIFEST_LIMIT})",
            got.meta.size
        )));
    }
    let bytes = got
        .bytes()
        .await
        .map_err(|e| fail(format!("cannot read the manifest: {e}")))?;
    serde_path_to_error::deserialize::<_, Strings>(&mut serde_json::Deserializer::from_slice(
        &bytes,
    ))
    .map_err(|e| {
        fail(format!(
            "not a JSON manifest: at `{}`: {}",
            e.path(),
            e.inner()
        ))
    })?;
    let which: Probe =
        serde_json::from_slice(&bytes).map_err(|e| fail(format!("not a JSON manifest: {e}")))?;
    if which.file_format.is_some() && which.files.is_some() {
        let plan = s3(key, &bytes).map_err(fail)?;
        check_s3_checksum(store, key, &bytes).await?;
        Ok(plan)
    } else if which.report_shards_file_names.is_some() {
        gcs(key, &bytes).map_err(fail)
    } else if which.files.is_some() && (which.rule_definition.is_some() || which.summary.is_some())
    {
        let plan = azure(key, &bytes).map_err(fail)?;
        check_azure_complete(store, key).await?;
        Ok(plan)
    } else {
        Err(fail(
            "not an inventory manifest: expected an S3 Inventory manifest.json (fileFormat, \
             files), an Azure Blob Inventory *-manifest.json (files, summary, ruleDefinition) \
             or a GCS Storage Insights manifest (report_shards_file_names)"
                .to_string(),
        ))
    }
}

/// The longest string a manifest may hold anywhere: keys are at most a kilobyte, a
/// `fileSchema` a few hundred bytes. Checked in a first pass that keeps nothing: a value
/// of the wrong type is quoted whole by serde's message ("invalid type: string ...",
/// Debug-escaped: 60 MiB of DEL made a 360 MiB message and a 1 GiB peak).
const STRING_LIMIT: usize = SCHEMA_LIMIT;

/// Any JSON value whose strings (keys too) are at most [`STRING_LIMIT`] bytes.
struct Strings;

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(Strings)
    }
}

impl<'de> serde::de::Visitor<'de> for Strings {
    type Value = Strings;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "JSON of strings of at most {STRING_LIMIT} bytes")
    }
    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Strings, E> {
        if text.len() > STRING_LIMIT {
            return Err(E::custom(format!(
                "a string of {} bytes (the limit is {STRING_LIMIT})",
                text.len()
            )));
        }
        Ok(Strings)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Strings, E> {
        Ok(Strings)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Strings, E> {
        Ok(Strings)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Strings, E> {
        Ok(Strings)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Strings, E> {
        Ok(Strings)
    }
    fn visit_unit<E>(self) -> Result<Strings, E> {
        Ok(Strings)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Strings, A::Error> {
        while seq.next_element::<Strings>()?.is_some() {}
        Ok(Strings)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Strings, A::Error> {
        while map.next_entry::<Strings, Strings>()?.is_some() {}
        Ok(Strings)
    }
}

/// Which provider wrote a manifest, from the top-level fields it has: a pass over the
/// bytes that keeps nothing (the typed parse that follows is the only one that does).
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "fileFormat")]
    file_format: Option<IgnoredAny>,
    files: Option<IgnoredAny>,
    report_shards_file_names: Option<IgnoredAny>,
    #[serde(rename = "ruleDefinition")]
    rule_definition: Option<IgnoredAny>,
    summary: Option<IgnoredAny>,
}

/// The most data files a manifest may list. Real ones list a few to a few thousand (S3
/// writes files of up to several GB); past this, the list alone would hold more memory
/// than reading the files does.
pub(crate) const MANIFEST_FILES_LIMIT: usize = 100_000;

/// A list of at most [`MANIFEST_FILES_LIMIT`] entries, refused while it is parsed (not
/// after the whole list is in memory).
fn bounded<'de, D, T>(de: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Bounded<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Bounded<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a list of at most {MANIFEST_FILES_LIMIT} entries")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element()? {
                if out.len() == MANIFEST_FILES_LIMIT {
                    return Err(serde::de::Error::custom(format!(
                        "more than {MANIFEST_FILES_LIMIT} files listed (the limit)"
                    )));
                }
                out.push(item);
            }
            Ok(out)
        }
    }
    de.deserialize_seq(Bounded(std::marker::PhantomData))
}

/// A `fileSchema` of at most [`SCHEMA_LIMIT`] bytes, refused before it is copied.
fn schema<'de, D: serde::Deserializer<'de>>(de: D) -> Result<String, D::Error> {
    struct Schema;
    impl serde::de::Visitor<'_> for Schema {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a list of columns of at most {SCHEMA_LIMIT} bytes")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<String, E> {
            if text.len() > SCHEMA_LIMIT {
                return Err(E::custom(format!(
                    "{} bytes (the limit is {SCHEMA_LIMIT}; S3 Inventory writes a few \
                     hundred)",
                    text.len()
                )));
            }
            Ok(text.to_string())
        }
    }
    de.deserialize_str(Schema)
}

fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T, String> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        format!(
            "not a valid {what} manifest: at `{}`: {}",
            e.path(),
            e.inner()
        )
    })
}

fn hex16(text: &str) -> Option<[u8; 16]> {
    let text = text.trim();
    if text.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The folder a key is in (`a/b/manifest.json` -> `a/b`).
fn folder(key: &Path) -> String {
    let key = key.as_ref();
    key.rfind('/')
        .map_or(String::new(), |i| key[..i].to_string())
}

/// The key `name` in the folder of `key`, every segment kept as it is (text through
/// `Path::from` would percent-encode a folder named `café`).
fn beside(key: &Path, name: &str) -> Path {
    let text = match folder(key) {
        folder if folder.is_empty() => name.to_string(),
        folder => format!("{folder}/{name}"),
    };
    Path::parse(text).expect("the folder of a valid key and a segment made of one")
}

fn parse_path(raw: &str, manifest: &Path) -> Result<Path, String> {
    Path::parse(raw).map_err(|e| {
        format!(
            "the manifest {manifest} lists {}, which is not a valid object key: {e}",
            excerpt(raw, 200)
        )
    })
}

// ---- S3 Inventory ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3Manifest {
    source_bucket: Option<String>,
    file_format: String,
    #[serde(default, deserialize_with = "schema")]
    file_schema: String,
    #[serde(deserialize_with = "bounded")]
    files: Vec<S3File>,
    /// Milliseconds since the epoch, as a string.
    creation_timestamp: Option<String>,
}

#[derive(Deserialize)]
struct S3File {
    key: String,
    size: Option<u64>,
    #[serde(rename = "MD5checksum")]
    md5: Option<String>,
}

/// The longest `fileSchema` read: S3 Inventory's has at most a few dozen fields, a few
/// hundred bytes. Split, each of its bytes could become a column name of its own.
pub(crate) const SCHEMA_LIMIT: usize = 64 << 10;

fn s3(key: &Path, bytes: &[u8]) -> Result<Plan, String> {
    let manifest: S3Manifest = parse(bytes, "S3 Inventory")?;
    let format = match manifest.file_format.to_ascii_lowercase().as_str() {
        "csv" => Format::Csv {
            header: false,
            columns: manifest
                .file_schema
                .split(',')
                .map(|c| c.trim().to_string())
                .collect(),
            url_encoded_keys: true,
        },
        "parquet" => Format::Parquet,
        "orc" => {
            return Err(
                "ORC inventory reports are not supported: configure the S3 Inventory \
                 as CSV or Parquet (stratus reads both)"
                    .to_string(),
            )
        }
        other => {
            return Err(format!(
                "unknown fileFormat {}: expected CSV or Parquet",
                excerpt(other, 64)
            ))
        }
    };
    let files = manifest
        .files
        .into_iter()
        .map(|f| {
            let md5 = match &f.md5 {
                Some(text) => Some(hex16(text).ok_or_else(|| {
                    format!(
                        "file {}: MD5checksum {} is not 32 hex digits",
                        excerpt(&f.key, 200),
                        excerpt(text, 64)
                    )
                })?),
                None => None,
            };
            Ok(DataFile {
                path: parse_path(&f.key, key)?,
                size: f.size,
                md5,
            })
        })
        .collect::<Result<_, String>>()?;
    let taken = match manifest.creation_timestamp {
        Some(ms) => Some(
            ms.parse::<i64>()
                .ok()
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
                .ok_or_else(|| {
                    format!(
                        "creationTimestamp {} is not milliseconds since 1970",
                        excerpt(&ms, 64)
                    )
                })?,
        ),
        None => None,
    };
    Ok(Plan {
        kind: "s3-inventory",
        format,
        files,
        taken,
        source_bucket: manifest.source_bucket,
        expected_rows: None,
        key_chars: None,
    })
}

/// S3 writes `manifest.checksum` (the manifest's MD5, hex) next to `manifest.json`; when it
/// is there, it must match.
async fn check_s3_checksum(store: &dyn ObjectStore, key: &Path, bytes: &[u8]) -> Result<(), Fail> {
    let checksum = beside(key, "manifest.checksum");
    let text = match store.get(&checksum).await {
        // An MD5 in hex, perhaps with a newline: anything much longer is not one.
        Ok(got) if got.meta.size > 1024 => {
            return Err(Fail::at(
                &checksum,
                format!(
                    "{} bytes is too large for a manifest checksum (an MD5 in hex)",
                    got.meta.size
                ),
            ))
        }
        Ok(got) => got.bytes().await,
        Err(object_store::Error::NotFound { .. }) => return Ok(()),
        Err(e) => Err(e),
    }
    .map_err(|e| Fail::at(&checksum, format!("cannot read the manifest checksum: {e}")))?;
    let expected = hex16(&String::from_utf8_lossy(&text));
    let actual: [u8; 16] = Md5::digest(bytes).into();
    if expected != Some(actual) {
        return Err(Fail::at(
            key,
            format!(
                "the manifest does not match {checksum}: its MD5 is {}, the checksum file says {}",
                hex(&actual),
                excerpt(String::from_utf8_lossy(&text).trim(), 64)
            ),
        ));
    }
    Ok(())
}

// ---- Azure Blob Inventory ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AzureManifest {
    #[serde(deserialize_with = "bounded")]
    files: Vec<AzureFile>,
    summary: Option<AzureSummary>,
    rule_definition: Option<AzureRule>,
    inventory_start_time: Option<DateTime<Utc>>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct AzureFile {
    blob: String,
    size: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AzureSummary {
    object_count: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AzureRule {
    format: Option<String>,
}

fn azure(key: &Path, bytes: &[u8]) -> Result<Plan, String> {
    let manifest: AzureManifest = parse(bytes, "Azure Blob Inventory")?;
    if let Some(status) = &manifest.status {
        if !status.eq_ignore_ascii_case("succeeded") {
            return Err(format!(
                "the inventory run's status is {}, not Succeeded: its files are incomplete",
                excerpt(status, 64)
            ));
        }
    }
    let format_name = manifest
        .rule_definition
        .and_then(|r| r.format)
        .or_else(|| manifest.files.first().and_then(|f| extension(&f.blob)))
        .unwrap_or_default();
    let format = match format_name.to_ascii_lowercase().as_str() {
        "csv" => Format::Csv {
            header: true,
            columns: Vec::new(),
            url_encoded_keys: false,
        },
        "parquet" => Format::Parquet,
        other => {
            return Err(format!(
                "unknown inventory format {} (ruleDefinition.format): expected csv or parquet",
                excerpt(other, 64)
            ))
        }
    };
    let files = manifest
        .files
        .iter()
        .map(|f| {
            Ok(DataFile {
                path: parse_path(&f.blob, key)?,
                size: f.size,
                md5: None,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Plan {
        kind: "azure-blob-inventory",
        format,
        files,
        taken: manifest.inventory_start_time,
        // Azure names the account's endpoint and the destination, not the source: the
        // rows' names start with their container.
        source_bucket: None,
        expected_rows: manifest.summary.and_then(|s| s.object_count),
        key_chars: Some(63 + 1 + 1024),
    })
}

fn extension(name: &str) -> Option<String> {
    name.rsplit_once('.').map(|(_, ext)| ext.to_string())
}

/// Azure writes `<rule>-manifest.checksum` when a run is complete; without it the run is
/// still being written or failed.
async fn check_azure_complete(store: &dyn ObjectStore, key: &Path) -> Result<(), Fail> {
    let Some(stem) = key
        .filename()
        .and_then(|f| f.strip_suffix("-manifest.json"))
    else {
        return Err(Fail::at(
            key,
            "an Azure Blob Inventory manifest is named <rule>-manifest.json".to_string(),
        ));
    };
    let checksum = beside(key, &format!("{stem}-manifest.checksum"));
    match store.head(&checksum).await {
        Ok(_) => Ok(()),
        Err(object_store::Error::NotFound { .. }) => Err(Fail::at(
            key,
            format!(
                "the inventory run is not complete: {checksum} is missing (Azure writes it \
                 last); read a completed run"
            ),
        )),
        Err(e) => Err(Fail::at(&checksum, format!("cannot check for it: {e}"))),
    }
}

// ---- GCS Storage Insights ----

#[derive(Deserialize)]
struct GcsManifest {
    #[serde(deserialize_with = "bounded")]
    report_shards_file_names: Vec<String>,
    records_processed: Option<u64>,
    snapshot_time: Option<DateTime<Utc>>,
}

fn gcs(key: &Path, bytes: &[u8]) -> Result<Plan, String> {
    let manifest: GcsManifest = parse(bytes, "GCS Storage Insights")?;
    let folder = folder(key);
    let mut format = None;
    let mut files = Vec::new();
    for name in &manifest.report_shards_file_names {
        let this = match extension(name)
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Format::Csv {
                header: true,
                columns: Vec::new(),
                url_encoded_keys: false,
            },
            Some("parquet") => Format::Parquet,
            _ => {
                return Err(format!(
                    "shard {}: expected a .csv or .parquet file",
                    excerpt(name, 200)
                ))
            }
        };
        if format.as_ref().is_some_and(|f| *f != this) {
            return Err("the shards mix CSV and Parquet".to_string());
        }
        format = Some(this);
        // Shard names are relative to the manifest's folder.
        let full = if folder.is_empty() || name.contains('/') {
            name.clone()
        } else {
            format!("{folder}/{name}")
        };
        files.push(DataFile {
            path: parse_path(&full, key)?,
            size: None,
            md5: None,
        });
    }
    Ok(Plan {
        kind: "gcs-storage-insights",
        format: format.unwrap_or(Format::Parquet),
        files,
        taken: manifest.snapshot_time,
        source_bucket: None,
        expected_rows: manifest.records_processed,
        key_chars: None,
    })
}
