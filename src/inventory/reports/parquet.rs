//! Parquet data files: only the columns a report needs, a row group at a time, in
//! batches of up to 8,192 rows, whatever physical types the writer chose for them.
//!
//! Decoding expands a column: a dictionary value stands for every row that points at it,
//! a DELTA_BYTE_ARRAY value can repeat the whole of the one before, so 12 KB of Parquet
//! can decode to gigabytes. Nothing the footer says bounds that (the writer wrote it
//! too); the pages do. A row group's column chunks are fetched once and every page header
//! in them is walked and checked ([`pages`]) before the parquet crate decodes those same
//! bytes: a page inflates to at most [`pages::PAGE_LIMIT`], a dictionary value is at most
//! [`VALUE_LIMIT`] (else the file fails, naming row group and column), and the batch is
//! as many rows as keep what the pages can decode to under [`BATCH_BYTES`] (8,192 for
//! real reports). The footer is refused past [`FOOTER_LIMIT`] bytes and
//! [`pages::FOOTER_ELEMENTS`] list elements (walked before it is decoded), and past
//! [`ROWS_PER_BYTE`] rows a byte of the file.

use super::manifest::DataFile;
use super::pages;
use super::{column_names, excerpt, parse_date, Fail, Role, Row, Rows};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use bytes::Buf;
use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::basic::Type as PhysicalType;
use parquet::column::page::{Page, PageReader};
use parquet::errors::ParquetError;
use parquet::file::metadata::{
    ColumnChunkMetaData, PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader,
};
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::serialized_reader::SerializedPageReader;
use std::sync::Arc;

/// Rows decoded at once, at most.
pub(crate) const BATCH: usize = 8192;

/// The decoded text a batch may hold at most, counting each row at the longest value
/// each of its text columns can have.
pub(crate) const BATCH_BYTES: u64 = 16 << 20;

/// The longest value a text column read may have in its dictionary: a key is at most
/// 1,024 bytes (about 4 KiB for Azure), a class, date or flag a few dozen.
pub(crate) const VALUE_LIMIT: u64 = 64 << 10;

/// The most rows a file's footer may declare per byte of the file: a report's rows each
/// hold a distinct key, and no writer packs more than a few in a byte. Past it a file of
/// kilobytes could keep the reader busy for hours.
pub(crate) const ROWS_PER_BYTE: u64 = 16;

/// The largest footer (file metadata) read; a report's is a few KiB. Decoded, a footer
/// takes about ten times its bytes.
pub(crate) const FOOTER_LIMIT: u64 = 4 << 20;

pub(crate) async fn read(
    store: &Arc<dyn ObjectStore>,
    file: &DataFile,
    verify: bool,
    rows: Rows,
) -> Result<Rows, Fail> {
    let fail = |message: String| Fail::at(&file.path, message);
    let meta = store
        .head(&file.path)
        .await
        .map_err(|e| file.unreadable(e))?;
    file.check_size(meta.size)?;
    let checksum = async {
        if !verify || file.md5.is_none() {
            return Ok(());
        }
        let mut body = crate::layer::body(
            store
                .get(&file.path)
                .await
                .map_err(|e| file.unreadable(e))?,
        );
        let mut md5 = Md5::new();
        while let Some(chunk) = body.next().await {
            md5.update(chunk.map_err(|e| fail(format!("reading failed: {e}")))?);
        }
        file.check_md5(md5.finalize().into())
    };
    // The parquet crate's decoders panic on some malformed pages the walk does not
    // look inside (levels, BYTE_STREAM_SPLIT, RLE runs): such a file fails, naming it.
    let decode = async {
        match std::panic::AssertUnwindSafe(decode(store, file, meta.size, rows))
            .catch_unwind()
            .await
        {
            Ok(done) => done,
            Err(panic) => Err(format!(
                "the Parquet decoder failed on a malformed page: {}",
                excerpt(panic_text(panic.as_ref()), 200)
            )),
        }
    };
    let (checked, rows) = futures::join!(checksum, decode);
    checked?;
    rows.map_err(fail)
}

async fn decode(
    store: &Arc<dyn ObjectStore>,
    file: &DataFile,
    size: u64,
    mut rows: Rows,
) -> Result<Rows, String> {
    let mut reader = StoreReader {
        store: Arc::clone(store),
        path: file.path.clone(),
        size,
    };
    // Types from the Parquet schema alone (no embedded Arrow schema): strings read as
    // Utf8, whatever dictionary or view type the writer's Arrow schema had. No page
    // index: its page locations would be another thing the writer says about the pages.
    let options = ArrowReaderOptions::new()
        .with_skip_arrow_metadata(true)
        .with_page_index_policy(PageIndexPolicy::Skip);
    let metadata = ArrowReaderMetadata::load_async(&mut reader, options)
        .await
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
    let fields = metadata.schema().fields().clone();
    let mut wanted = Vec::new();
    let mut roles = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        if let Some(role) = Role::of(field.name()) {
            if !roles.contains(&role) {
                wanted.push(i);
                roles.push(role);
            }
        }
    }
    for role in Role::required() {
        if !roles.contains(&role) {
            let names = column_names(fields.iter().map(|f| f.name().as_str()));
            return Err(format!(
                "no {role:?} column among {names} (a report needs the key or name, the size \
                 and the last-modified time)"
            ));
        }
    }
    let schema = metadata.parquet_schema();
    let mask = ProjectionMask::roots(schema, wanted.iter().copied());
    let leaves: Vec<usize> = (0..schema.num_columns())
        .filter(|&leaf| wanted.contains(&schema.get_column_root_idx(leaf)))
        .collect();
    for &leaf in &leaves {
        let column = schema.column(leaf);
        if column.max_rep_level() > 0 {
            return Err(format!(
                "column `{}` is repeated (a list); a report's columns hold one value a row",
                column.path().string()
            ));
        }
    }
    let declared: u64 = metadata
        .metadata()
        .row_groups()
        .iter()
        .map(|g| u64::try_from(g.num_rows()).unwrap_or(u64::MAX))
        .fold(0, u64::saturating_add);
    if declared > size.saturating_mul(ROWS_PER_BYTE) {
        return Err(format!(
            "its footer declares {declared} rows in {size} bytes (more than {ROWS_PER_BYTE} a \
             byte: no report compresses that far)"
        ));
    }
    let mut first_row = 0u64;
    check_chunks(metadata.metadata(), &leaves, size)?;
    for group in 0..metadata.metadata().num_row_groups() {
        if metadata.metadata().row_group(group).num_rows() == 0 {
            continue;
        }
        let checked =
            Checked::fetch(store, &file.path, metadata.metadata(), group, &leaves).await?;
        let batch = checked.batch_rows(metadata.metadata(), group, &leaves)?;
        let mut batches =
            ParquetRecordBatchStreamBuilder::new_with_metadata(checked, metadata.clone())
                .with_projection(mask.clone())
                .with_row_groups(vec![group])
                .with_batch_size(batch)
                .build()
                .map_err(|e| format!("cannot read: {e}"))?;
        while let Some(batch) = batches
            .try_next()
            .await
            .map_err(|e| format!("cannot decode: {e}"))?
        {
            let columns = Columns::of(&batch, &roles)?;
            for i in 0..batch.num_rows() {
                let at = |message: String| format!("row {}: {message}", first_row + i as u64 + 1);
                let row = Row {
                    key: columns.key.get(i).ok_or_else(|| at("no key".to_string()))?,
                    size: columns.size.as_ref().and_then(|c| c.get(i)),
                    modified: match &columns.modified {
                        Some(c) => c.get(i).map_err(at)?,
                        None => None,
                    },
                    class: columns.class.as_ref().and_then(|c| c.get(i)),
                    latest: columns.latest.as_ref().and_then(|c| c.get(i)),
                    delete_marker: columns.delete_marker.as_ref().and_then(|c| c.get(i)),
                };
                rows.add(row).map_err(at)?;
            }
            first_row += batch.num_rows() as u64;
            rows.batch_done();
        }
    }
    Ok(rows)
}

/// A panic's message, if it has one.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("no message")
}

/// Every chunk read (`leaves` of every row group) lies inside the file and apart from
/// every other: the footer may not point two row groups at one chunk (each would be
/// fetched and walked again) nor give negative places.
fn check_chunks(meta: &ParquetMetaData, leaves: &[usize], size: u64) -> Result<(), String> {
    let mut ranges = Vec::new();
    for (group_at, group) in meta.row_groups().iter().enumerate() {
        for &leaf in leaves {
            let column = group.column(leaf);
            let fail = |what: &str| {
                format!(
                    "row group {group_at}, column `{}`: {what}",
                    column.column_path().string()
                )
            };
            let start = match column.dictionary_page_offset() {
                Some(offset) => offset,
                None => column.data_page_offset(),
            };
            let (Ok(start), Ok(length)) = (
                u64::try_from(start),
                u64::try_from(column.compressed_size()),
            ) else {
                return Err(fail("its footer entry gives a negative place or size"));
            };
            if start.saturating_add(length) > size {
                return Err(fail("its footer entry places it past the file's end"));
            }
            if group.num_rows() > 0 {
                ranges.push((start, start + length));
            }
        }
    }
    ranges.sort_unstable();
    if ranges.windows(2).any(|w| w[1].0 < w[0].1) {
        return Err("two column chunks the footer places overlap".to_string());
    }
    Ok(())
}

/// The column chunks of one row group, fetched once and walked page by page
/// ([`pages::walk`]) before the parquet crate decodes them from these very bytes: it is
/// the reader the decoding stream is given, and it serves nothing else.
struct Checked {
    chunks: Vec<(std::ops::Range<u64>, Bytes)>,
}

impl Checked {
    async fn fetch(
        store: &Arc<dyn ObjectStore>,
        path: &Path,
        meta: &ParquetMetaData,
        group: usize,
        leaves: &[usize],
    ) -> Result<Checked, String> {
        let ranges: Vec<std::ops::Range<u64>> = leaves
            .iter()
            .map(|&leaf| {
                let (start, length) = meta.row_group(group).column(leaf).byte_range();
                start..start.saturating_add(length)
            })
            .collect();
        let bytes = store
            .get_ranges(path, &ranges)
            .await
            .map_err(|e| format!("row group {group}: cannot read its columns: {e}"))?;
        Ok(Checked {
            chunks: ranges.into_iter().zip(bytes).collect(),
        })
    }

    /// Rows per batch for `group`: the most (of 8,192, 4,096, ... 1) whose batches each
    /// decode to at most [`BATCH_BYTES`], by what every page's own header says it can
    /// expand to. Fails on a page past the limits of [`pages`], a dictionary value longer
    /// than [`VALUE_LIMIT`], or a row that alone decodes past [`BATCH_BYTES`].
    fn batch_rows(
        &self,
        meta: &ParquetMetaData,
        group: usize,
        leaves: &[usize],
    ) -> Result<usize, String> {
        let group_meta = meta.row_group(group);
        let rows = u64::try_from(group_meta.num_rows()).unwrap_or(0);
        let mut costs = Vec::with_capacity(leaves.len());
        for (&leaf, (range, bytes)) in leaves.iter().zip(&self.chunks) {
            let column = group_meta.column(leaf);
            let fail = |message: String| {
                format!(
                    "row group {group}, column `{}`: {message}",
                    column.column_path().string()
                )
            };
            costs.push(leaf_costs(column, range.start, bytes, rows).map_err(fail)?);
        }
        let mut batch = BATCH as u64;
        loop {
            let most = most_in_a_batch(&costs, rows, batch);
            if most <= BATCH_BYTES {
                return Ok(batch as usize);
            }
            if batch == 1 {
                return Err(format!(
                    "row group {group}: one row can decode to {most} bytes (the limit is \
                     {BATCH_BYTES})"
                ));
            }
            batch /= 2;
        }
    }
}

/// One data page of a column as rows: the first row it holds (within its row group), how
/// many, and what decoding them costs.
struct PageRows {
    first: u64,
    rows: u64,
    cost: pages::Cost,
}

/// The data pages of one column chunk as [`PageRows`]. Their rows must add up to the
/// row group's `rows`: the parquet crate reads a chunk until its pages end, whatever the
/// footer counts, so rows the footer does not declare would be decoded uncosted.
fn leaf_costs(
    column: &ColumnChunkMetaData,
    start: u64,
    chunk: &Bytes,
    rows: u64,
) -> Result<Vec<PageRows>, String> {
    let fixed = match column.column_type() {
        PhysicalType::BYTE_ARRAY => None,
        PhysicalType::FIXED_LEN_BYTE_ARRAY => {
            let length = u64::try_from(column.column_descr().type_length()).unwrap_or(0);
            if length > VALUE_LIMIT {
                return Err(format!(
                    "values of {length} bytes (the limit is {VALUE_LIMIT})"
                ));
            }
            Some(length)
        }
        _ => Some(12),
    };
    let mut dictionary: Option<u64> = None;
    let mut out = Vec::new();
    let mut first = 0u64;
    pages::walk(chunk, column.compression(), |page| {
        match page.kind {
            pages::Kind::Dictionary => {
                // The decoder makes room for every value the header counts: each takes
                // at least this many bytes of the page (a length, or its width).
                // (booleans: a bit).
                let room = match column.column_type() {
                    // A bit each, decoded to a byte each: count them at a byte.
                    PhysicalType::BOOLEAN => page.inflated,
                    PhysicalType::BYTE_ARRAY | PhysicalType::INT32 | PhysicalType::FLOAT => {
                        page.inflated / 4
                    }
                    PhysicalType::FIXED_LEN_BYTE_ARRAY => page.inflated / fixed.unwrap_or(1).max(1),
                    PhysicalType::INT96 => page.inflated / 12,
                    _ => page.inflated / 8,
                };
                if page.values > room {
                    return Err(format!(
                        "its dictionary page at byte {} counts {} values in {} bytes",
                        page.offset, page.values, page.inflated
                    ));
                }
                let longest = match fixed {
                    Some(length) => length,
                    None => longest_in_dictionary(column, start, chunk, &page, rows)?,
                };
                if longest > VALUE_LIMIT {
                    return Err(format!(
                        "a dictionary value of {longest} bytes (the limit is {VALUE_LIMIT}: \
                         no key, class, date or flag is that long)"
                    ));
                }
                dictionary = Some(dictionary.unwrap_or(0).max(longest));
            }
            pages::Kind::Data => {
                if page.indexes_dictionary() && dictionary.is_none() {
                    return Err(format!(
                        "the page at byte {} indexes a dictionary the chunk has not given",
                        page.offset
                    ));
                }
                let cost = match fixed {
                    Some(length) => pages::Cost {
                        per_row: length,
                        whole: u64::MAX,
                    },
                    None => page.text_cost(dictionary.unwrap_or(0))?,
                };
                if out.len() == PAGES_KEPT {
                    out = coarser(std::mem::take(&mut out));
                }
                out.push(PageRows {
                    first,
                    rows: page.values,
                    cost,
                });
                first = first.saturating_add(page.values);
            }
        }
        Ok(())
    })?;
    if first != rows {
        return Err(format!(
            "its pages hold {first} rows; the footer says the row group has {rows}"
        ));
    }
    Ok(out)
}

/// The most [`PageRows`] kept for one chunk: a writer's chunk holds tens of pages; past
/// this many (a chunk of millions of tiny pages) neighbours are merged.
const PAGES_KEPT: usize = 1 << 16;

/// `pages` with each two neighbours merged into one that costs at least what either
/// did in any batch: the larger cost a row, the sum of the wholes.
fn coarser(pages: Vec<PageRows>) -> Vec<PageRows> {
    pages
        .chunks(2)
        .map(|pair| PageRows {
            first: pair[0].first,
            rows: pair.iter().map(|p| p.rows).fold(0, u64::saturating_add),
            cost: pages::Cost {
                per_row: pair.iter().map(|p| p.cost.per_row).max().unwrap_or(0),
                whole: pair
                    .iter()
                    .map(|p| p.cost.whole)
                    .fold(0, u64::saturating_add),
            },
        })
        .collect()
}

/// The most any batch of `batch` rows of a row group (batches start at its first row)
/// decodes to, over all columns: each page adds what its rows in the batch cost. Only
/// batches holding a page's first or last row, and the one after, need counting: between
/// them every column has one page throughout and every batch costs the same.
fn most_in_a_batch(costs: &[Vec<PageRows>], rows: u64, batch: u64) -> u64 {
    if rows == 0 {
        return 0;
    }
    let last_batch = (rows - 1) / batch;
    let mut counted: Vec<u64> = costs
        .iter()
        .flatten()
        .filter(|p| p.rows > 0)
        .flat_map(|p| {
            let end = (p.first + p.rows - 1) / batch;
            [p.first / batch, end, end + 1]
        })
        .filter(|&b| b <= last_batch)
        .collect();
    counted.sort_unstable();
    counted.dedup();
    let mut totals = vec![0u64; counted.len()];
    for p in costs.iter().flatten().filter(|p| p.rows > 0) {
        let (from, to) = (p.first / batch, (p.first + p.rows - 1) / batch);
        let at = counted.partition_point(|&b| b < from);
        for (b, total) in counted[at..].iter().zip(&mut totals[at..]) {
            if *b > to {
                break;
            }
            let overlap = (p.first + p.rows).min((b + 1) * batch) - p.first.max(b * batch);
            *total = total.saturating_add(p.cost.of(overlap));
        }
    }
    totals.into_iter().max().unwrap_or(0)
}

/// The longest value of a BYTE_ARRAY dictionary page (PLAIN: each value a 4-byte length
/// and its bytes), decoded on its own by the parquet crate (its header already checked).
fn longest_in_dictionary(
    column: &ColumnChunkMetaData,
    start: u64,
    chunk: &Bytes,
    page: &pages::Page,
    rows: u64,
) -> Result<u64, String> {
    if !page.plain_values() {
        return Err(format!(
            "its dictionary page at byte {} has values encoded {} (writers store them PLAIN)",
            page.offset, page.encoding
        ));
    }
    let at = start + page.offset as u64;
    let alone = column
        .clone()
        .into_builder()
        .set_dictionary_page_offset(None)
        .set_data_page_offset(i64::try_from(at).unwrap_or(i64::MAX))
        .set_total_compressed_size(i64::try_from(page.length).unwrap_or(i64::MAX))
        .build()
        .map_err(|e| e.to_string())?;
    let ranged = Arc::new(Ranged {
        start: at,
        bytes: chunk.slice(page.offset..page.offset + page.length),
    });
    let mut reader =
        SerializedPageReader::new(ranged, &alone, usize::try_from(rows).unwrap_or(0), None)
            .map_err(|e| e.to_string())?;
    let buf = match reader
        .get_next_page()
        .map_err(|e| format!("its dictionary page: {e}"))?
    {
        Some(Page::DictionaryPage { buf, .. }) => buf,
        _ => return Err("its dictionary page does not read as one".to_string()),
    };
    let mut longest = 0u64;
    let mut at = 0usize;
    while let Some(prefix) = buf.get(at..at + 4) {
        let length = u32::from_le_bytes(prefix.try_into().expect("4 bytes"));
        longest = longest.max(u64::from(length));
        at = at.saturating_add(4).saturating_add(length as usize);
    }
    Ok(longest)
}

/// The bytes of one range of a file, at their offsets in it (what the page reader takes).
struct Ranged {
    start: u64,
    bytes: Bytes,
}

impl Ranged {
    fn slice(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let from = start
            .checked_sub(self.start)
            .and_then(|s| usize::try_from(s).ok())
            .filter(|&s| s <= self.bytes.len())
            .ok_or_else(|| {
                ParquetError::EOF(format!("offset {start} is outside the range read"))
            })?;
        let to = from.saturating_add(length).min(self.bytes.len());
        Ok(self.bytes.slice(from..to))
    }
}

impl Length for Ranged {
    fn len(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }
}

impl ChunkReader for Ranged {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(self.slice(start, usize::MAX)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let bytes = self.slice(start, length)?;
        if bytes.len() < length {
            return Err(ParquetError::EOF(format!(
                "{length} bytes at {start} are past the range read"
            )));
        }
        Ok(bytes)
    }
}

/// A Parquet file in a store, read by ranges (object_store coalesces nearby ranges).
struct StoreReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

fn parquet_error(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for StoreReader {
    fn get_bytes(
        &mut self,
        range: std::ops::Range<u64>,
    ) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(parquet_error)
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<std::ops::Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(parquet_error)
        }
        .boxed()
    }

    /// The footer, read as the parquet crate would (its length and `PAR1` in the last
    /// eight bytes, the metadata before them), refused past [`FOOTER_LIMIT`] before it is
    /// fetched and walked ([`pages::check_footer`]) before it is decoded. One request when
    /// the footer fits in the last 64 KiB, as nearly every report's does.
    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            if size < 12 {
                return Err(ParquetError::General(format!(
                    "{size} bytes is too short for a Parquet file"
                )));
            }
            let tail = self.get_bytes(size.saturating_sub(64 << 10)..size).await?;
            let end = &tail[tail.len() - 8..];
            if &end[4..] != b"PAR1" {
                return Err(ParquetError::General(
                    "it does not end in PAR1 (an encrypted footer ends in PARE: not read)".into(),
                ));
            }
            let length = u64::from(u32::from_le_bytes([end[0], end[1], end[2], end[3]]));
            if length > FOOTER_LIMIT {
                return Err(ParquetError::General(format!(
                    "a footer of {length} bytes (the limit is {FOOTER_LIMIT})"
                )));
            }
            if length + 12 > size {
                return Err(ParquetError::General(format!(
                    "a footer of {length} bytes in a file of {size}"
                )));
            }
            let footer = match (tail.len() as u64).checked_sub(length + 8) {
                Some(at) => tail.slice(at as usize..tail.len() - 8),
                None => self.get_bytes(size - 8 - length..size - 8).await?,
            };
            pages::check_footer(&footer).map_err(ParquetError::General)?;
            let metadata = ParquetMetaDataReader::decode_metadata_with_options(
                &footer,
                options.map(|o| o.metadata_options()),
            )?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

impl Checked {
    fn serve(&self, range: std::ops::Range<u64>) -> parquet::errors::Result<Bytes> {
        self.chunks
            .iter()
            .find(|(chunk, _)| chunk.start <= range.start && range.end <= chunk.end)
            .map(|(chunk, bytes)| {
                let from = (range.start - chunk.start) as usize;
                bytes.slice(from..from + (range.end - range.start) as usize)
            })
            .ok_or_else(|| {
                ParquetError::General(format!(
                    "bytes {range:?} are outside the column chunks checked"
                ))
            })
    }
}

impl AsyncFileReader for Checked {
    fn get_bytes(
        &mut self,
        range: std::ops::Range<u64>,
    ) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let served = self.serve(range);
        async move { served }.boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<std::ops::Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        let served = ranges.into_iter().map(|r| self.serve(r)).collect();
        async move { served }.boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        // The stream is built with the metadata already read.
        async {
            Err(ParquetError::General(
                "the footer is read once, first".into(),
            ))
        }
        .boxed()
    }
}

/// A batch's columns by role, typed.
struct Columns<'a> {
    key: Text<'a>,
    size: Option<Size<'a>>,
    modified: Option<Time<'a>>,
    class: Option<Text<'a>>,
    latest: Option<Flag<'a>>,
    delete_marker: Option<Flag<'a>>,
}

impl<'a> Columns<'a> {
    fn of(batch: &'a RecordBatch, roles: &[Role]) -> Result<Self, String> {
        let mut columns = Columns {
            key: Text::Absent,
            size: None,
            modified: None,
            class: None,
            latest: None,
            delete_marker: None,
        };
        for (array, role) in batch.columns().iter().zip(roles) {
            let unsupported = || {
                format!(
                    "column for {role:?} has type {}, which is not supported",
                    array.data_type()
                )
            };
            match role {
                Role::Key => columns.key = Text::of(array).ok_or_else(unsupported)?,
                Role::Class => columns.class = Some(Text::of(array).ok_or_else(unsupported)?),
                Role::Size => columns.size = Some(Size::of(array).ok_or_else(unsupported)?),
                Role::Modified => columns.modified = Some(Time::of(array).ok_or_else(unsupported)?),
                Role::Latest => columns.latest = Some(Flag::of(array).ok_or_else(unsupported)?),
                Role::DeleteMarker => {
                    columns.delete_marker = Some(Flag::of(array).ok_or_else(unsupported)?)
                }
            }
        }
        Ok(columns)
    }
}

enum Text<'a> {
    Absent,
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    Binary(&'a arrow_array::BinaryArray),
}

impl<'a> Text<'a> {
    fn of(array: &'a ArrayRef) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Utf8 => Text::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Text::Large(array.as_string::<i64>()),
            DataType::Binary => Text::Binary(array.as_binary::<i32>()),
            _ => return None,
        })
    }

    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Text::Absent => None,
            Text::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            Text::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Text::Binary(a) => a
                .is_valid(i)
                .then(|| std::str::from_utf8(a.value(i)).ok())
                .flatten(),
        }
    }
}

enum Size<'a> {
    I64(&'a arrow_array::Int64Array),
    I32(&'a arrow_array::Int32Array),
    U64(&'a arrow_array::UInt64Array),
    U32(&'a arrow_array::UInt32Array),
}

impl<'a> Size<'a> {
    fn of(array: &'a ArrayRef) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Int64 => Size::I64(array.as_primitive::<Int64Type>()),
            DataType::Int32 => Size::I32(array.as_primitive::<Int32Type>()),
            DataType::UInt64 => Size::U64(array.as_primitive::<UInt64Type>()),
            DataType::UInt32 => Size::U32(array.as_primitive::<UInt32Type>()),
            _ => return None,
        })
    }

    /// A negative size (a corrupt report) reads as no size, which `Rows` refuses.
    fn get(&self, i: usize) -> Option<u64> {
        match self {
            Size::I64(a) => a
                .is_valid(i)
                .then(|| u64::try_from(a.value(i)).ok())
                .flatten(),
            Size::I32(a) => a
                .is_valid(i)
                .then(|| u64::try_from(a.value(i)).ok())
                .flatten(),
            Size::U64(a) => a.is_valid(i).then(|| a.value(i)),
            Size::U32(a) => a.is_valid(i).then(|| u64::from(a.value(i))),
        }
    }
}

enum Time<'a> {
    /// Any timestamp unit: its nulls, its values and nanoseconds per unit.
    Stamp(&'a dyn Array, &'a [i64], i64),
    /// Milliseconds since 1970 without a timestamp annotation.
    Millis(&'a arrow_array::Int64Array),
    Text(Text<'a>),
}

impl<'a> Time<'a> {
    fn of(array: &'a ArrayRef) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Timestamp(unit, _) => {
                let (values, per): (&[i64], i64) = match unit {
                    TimeUnit::Second => (
                        array.as_primitive::<TimestampSecondType>().values(),
                        1_000_000_000,
                    ),
                    TimeUnit::Millisecond => (
                        array.as_primitive::<TimestampMillisecondType>().values(),
                        1_000_000,
                    ),
                    TimeUnit::Microsecond => (
                        array.as_primitive::<TimestampMicrosecondType>().values(),
                        1_000,
                    ),
                    TimeUnit::Nanosecond => {
                        (array.as_primitive::<TimestampNanosecondType>().values(), 1)
                    }
                };
                Time::Stamp(array.as_ref(), values, per)
            }
            DataType::Int64 => Time::Millis(array.as_primitive::<Int64Type>()),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary => Time::Text(Text::of(array)?),
            _ => return None,
        })
    }

    fn get(&self, i: usize) -> Result<Option<DateTime<Utc>>, String> {
        let from_nanos = |n: i128| {
            i64::try_from(n)
                .ok()
                .map(|n| Utc.timestamp_nanos(n))
                .ok_or_else(|| "the last-modified time is out of range".to_string())
        };
        match self {
            Time::Stamp(a, values, per) => match a.is_valid(i) {
                true => from_nanos(i128::from(values[i]) * i128::from(*per)).map(Some),
                false => Ok(None),
            },
            Time::Millis(a) => match a.is_valid(i) {
                true => from_nanos(i128::from(a.value(i)) * 1_000_000).map(Some),
                false => Ok(None),
            },
            Time::Text(t) => match t.get(i) {
                Some(text) => parse_date(text)
                    .map(Some)
                    .ok_or_else(|| format!("{} is not a date", excerpt(text, 64))),
                None => Ok(None),
            },
        }
    }
}

enum Flag<'a> {
    Bool(&'a arrow_array::BooleanArray),
    Text(Text<'a>),
}

impl<'a> Flag<'a> {
    fn of(array: &'a ArrayRef) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Boolean => Flag::Bool(array.as_boolean()),
            _ => Flag::Text(Text::of(array)?),
        })
    }

    fn get(&self, i: usize) -> Option<bool> {
        match self {
            Flag::Bool(a) => a.is_valid(i).then(|| a.value(i)),
            Flag::Text(t) => t.get(i).map(|t| t.eq_ignore_ascii_case("true")),
        }
    }
}
