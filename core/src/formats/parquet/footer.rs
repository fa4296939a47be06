//! Footers other writers got wrong, repaired before they are read — as pyarrow reads them:
//!
//! - a column chunk metadata field of a type the Parquet format does not give that field
//!   (pre-release parquet-mr builds wrote their own fields under ids the format later gave to
//!   others, e.g. a list under `bloom_filter_length`): the field is dropped from the Thrift
//!   bytes before the parquet crate decodes them ([`repaired_footer`]); every field the reader
//!   needs keeps its bytes;
//! - a `dictionary_page_offset` before the first page (0 points at the file's magic): the
//!   column chunk starts at its first data page, which then holds the dictionary page
//!   ([`without_impossible_dictionary_offsets`]);
//! - a column chunk size that leaves out the dictionary page header, as parquet-mr wrote
//!   before 1.2.9 (PARQUET-816): measured from the chunk's page headers
//!   ([`with_measured_chunk_sizes`]).

use std::sync::Arc;

use parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData, ParquetMetaDataReader};

/// The first byte a page can start at: after the 4-byte magic `PAR1`.
const FIRST_PAGE_OFFSET: i64 = 4;

/// Thrift compact protocol type ids.
const T_BOOL_TRUE: u8 = 1;
const T_BOOL_FALSE: u8 = 2;
const T_I8: u8 = 3;
const T_I16: u8 = 4;
const T_I32: u8 = 5;
const T_I64: u8 = 6;
const T_DOUBLE: u8 = 7;
const T_BINARY: u8 = 8;
const T_LIST: u8 = 9;
const T_SET: u8 = 10;
const T_MAP: u8 = 11;
const T_STRUCT: u8 = 12;

/// The Thrift type of each `ColumnMetaData` field the Parquet format defines (by id).
const COLUMN_METADATA_TYPES: &[(i16, u8)] = &[
    (1, T_I32),
    (2, T_LIST),
    (3, T_LIST),
    (4, T_I32),
    (5, T_I64),
    (6, T_I64),
    (7, T_I64),
    (8, T_LIST),
    (9, T_I64),
    (10, T_I64),
    (11, T_I64),
    (12, T_STRUCT),
    (13, T_LIST),
    (14, T_I64),
    (15, T_I32),
    (16, T_STRUCT),
    (17, T_STRUCT),
];

/// Nesting deeper than this is not a Parquet footer.
const MAX_DEPTH: usize = 64;

/// A reader over Thrift compact bytes; `None` on anything malformed.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn zigzag(&mut self) -> Option<i64> {
        let n = self.varint()?;
        Some((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    /// A field header: `None` at the struct's end (or on malformed bytes, told apart by
    /// `Err`-free callers checking the position).
    fn field_header(&mut self, last: i16) -> Option<Option<(i16, u8)>> {
        let h = self.byte()?;
        if h == 0 {
            return Some(None);
        }
        let (delta, ty) = (h >> 4, h & 0x0f);
        let id = if delta == 0 {
            i16::try_from(self.zigzag()?).ok()?
        } else {
            last.checked_add(i16::from(delta))?
        };
        Some(Some((id, ty)))
    }

    /// A list or set header: element type and count.
    fn list_header(&mut self) -> Option<(u8, usize)> {
        let h = self.byte()?;
        let n = match h >> 4 {
            15 => usize::try_from(self.varint()?).ok()?,
            n => usize::from(n),
        };
        Some((h & 0x0f, n))
    }

    /// Skips one value of type `ty`.
    fn skip(&mut self, ty: u8, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match ty {
            T_BOOL_TRUE | T_BOOL_FALSE => {}
            T_I8 => {
                self.byte()?;
            }
            T_I16 | T_I32 | T_I64 => {
                self.varint()?;
            }
            T_DOUBLE => self.advance(8)?,
            T_BINARY => {
                let n = usize::try_from(self.varint()?).ok()?;
                self.advance(n)?;
            }
            T_LIST | T_SET => {
                let (et, n) = self.list_header()?;
                for _ in 0..n {
                    // Booleans in a list are one byte each.
                    if et == T_BOOL_TRUE || et == T_BOOL_FALSE {
                        self.byte()?;
                    } else {
                        self.skip(et, depth + 1)?;
                    }
                }
            }
            T_MAP => {
                let n = usize::try_from(self.varint()?).ok()?;
                if n > 0 {
                    let kv = self.byte()?;
                    for _ in 0..n {
                        self.skip(kv >> 4, depth + 1)?;
                        self.skip(kv & 0x0f, depth + 1)?;
                    }
                }
            }
            T_STRUCT => {
                let mut last = 0;
                while let Some((id, ty)) = self.field_header(last)? {
                    self.skip(ty, depth + 1)?;
                    last = id;
                }
            }
            _ => return None,
        }
        Some(())
    }

    fn advance(&mut self, n: usize) -> Option<()> {
        let end = self.pos.checked_add(n)?;
        (end <= self.buf.len()).then(|| self.pos = end)
    }
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn write_field_header(out: &mut Vec<u8>, id: i16, ty: u8, last: i16) {
    match id.checked_sub(last) {
        Some(delta @ 1..=15) => out.push(((delta as u8) << 4) | ty),
        _ => {
            out.push(ty);
            write_varint(out, ((i64::from(id) << 1) ^ (i64::from(id) >> 63)) as u64);
        }
    }
}

fn write_list_header(out: &mut Vec<u8>, et: u8, n: usize) {
    if n < 15 {
        out.push(((n as u8) << 4) | et);
    } else {
        out.push(0xf0 | et);
        write_varint(out, n as u64);
    }
}

/// What to do with one field of a struct being rewritten.
enum Edit {
    /// Copy its bytes.
    Keep,
    /// Leave it out.
    Drop,
    /// Rewrite it (a struct, or a list of structs) with this function per struct.
    Struct(fn(&mut Cursor<'_>, &mut Vec<u8>, &mut bool) -> Option<()>),
}

/// Rewrites the struct at the cursor into `out`, field by field as `edit` says; `changed`
/// is set when a field is dropped anywhere below.
fn rewrite_struct(
    c: &mut Cursor<'_>,
    out: &mut Vec<u8>,
    changed: &mut bool,
    edit: impl Fn(i16, u8) -> Edit,
) -> Option<()> {
    let (mut last_in, mut last_out) = (0, 0);
    while let Some((id, ty)) = c.field_header(last_in)? {
        last_in = id;
        match edit(id, ty) {
            Edit::Drop => {
                c.skip(ty, 0)?;
                *changed = true;
            }
            Edit::Keep => {
                let start = c.pos;
                c.skip(ty, 0)?;
                write_field_header(out, id, ty, last_out);
                out.extend_from_slice(&c.buf[start..c.pos]);
                last_out = id;
            }
            Edit::Struct(f) => {
                write_field_header(out, id, ty, last_out);
                last_out = id;
                if ty == T_STRUCT {
                    f(c, out, changed)?;
                } else {
                    let (et, n) = c.list_header()?;
                    if et != T_STRUCT {
                        return None;
                    }
                    write_list_header(out, et, n);
                    for _ in 0..n {
                        f(c, out, changed)?;
                    }
                }
            }
        }
    }
    out.push(0);
    Some(())
}

fn file_metadata(c: &mut Cursor<'_>, out: &mut Vec<u8>, changed: &mut bool) -> Option<()> {
    rewrite_struct(c, out, changed, |id, ty| match (id, ty) {
        (4, T_LIST) => Edit::Struct(row_group),
        _ => Edit::Keep,
    })
}

fn row_group(c: &mut Cursor<'_>, out: &mut Vec<u8>, changed: &mut bool) -> Option<()> {
    rewrite_struct(c, out, changed, |id, ty| match (id, ty) {
        (1, T_LIST) => Edit::Struct(column_chunk),
        _ => Edit::Keep,
    })
}

fn column_chunk(c: &mut Cursor<'_>, out: &mut Vec<u8>, changed: &mut bool) -> Option<()> {
    rewrite_struct(c, out, changed, |id, ty| match (id, ty) {
        (3, T_STRUCT) => Edit::Struct(column_metadata),
        _ => Edit::Keep,
    })
}

fn column_metadata(c: &mut Cursor<'_>, out: &mut Vec<u8>, changed: &mut bool) -> Option<()> {
    rewrite_struct(c, out, changed, |id, ty| {
        match COLUMN_METADATA_TYPES.iter().find(|(known, _)| *known == id) {
            Some((_, expected)) if *expected != ty => Edit::Drop,
            _ => Edit::Keep,
        }
    })
}

/// The footer (`FileMetaData` in Thrift compact bytes) with every column chunk metadata field
/// of a type the Parquet format does not give it left out; `None` when nothing had to be left
/// out or the bytes are not a footer.
pub(super) fn repaired_footer(footer: &[u8]) -> Option<Vec<u8>> {
    let mut c = Cursor { buf: footer, pos: 0 };
    let mut out = Vec::with_capacity(footer.len());
    let mut changed = false;
    file_metadata(&mut c, &mut out, &mut changed)?;
    changed.then_some(out)
}

/// Decodes a footer the parquet crate refused, once repaired ([`repaired_footer`]); `None`
/// when there was nothing to repair or the repaired footer does not decode either.
pub(super) fn decode_repaired(footer: &[u8]) -> Option<ParquetMetaData> {
    ParquetMetaDataReader::decode_metadata(&repaired_footer(footer)?).ok()
}

/// The footer bytes (without length and magic) at the end of `tail`, the last bytes of a
/// file; `None` when `tail` does not hold them all.
pub(super) fn footer_in_tail(tail: &[u8]) -> Option<&[u8]> {
    let n = tail.len();
    if n < 8 || &tail[n - 4..] != b"PAR1" {
        return None;
    }
    let len = usize::try_from(u32::from_le_bytes(tail[n - 8..n - 4].try_into().ok()?)).ok()?;
    tail.get(n.checked_sub(8 + len)?..n - 8)
}

/// `metadata` with each `dictionary_page_offset` that points before the first page (0: at
/// the magic) taken away: the chunk is read from its first data page, as pyarrow reads it.
pub(super) fn without_impossible_dictionary_offsets(metadata: Arc<ParquetMetaData>) -> Arc<ParquetMetaData> {
    let bad = |o: Option<i64>| o.is_some_and(|o| o < FIRST_PAGE_OFFSET);
    if !metadata
        .row_groups()
        .iter()
        .any(|rg| rg.columns().iter().any(|c| bad(c.dictionary_page_offset())))
    {
        return metadata;
    }
    let mut row_groups = Vec::with_capacity(metadata.num_row_groups());
    for rg in metadata.row_groups() {
        let columns: Option<Vec<_>> = rg
            .columns()
            .iter()
            .map(|c| {
                if bad(c.dictionary_page_offset()) {
                    c.clone().into_builder().set_dictionary_page_offset(None).build().ok()
                } else {
                    Some(c.clone())
                }
            })
            .collect();
        let Some(rebuilt) = columns.and_then(|cs| rg.clone().into_builder().set_column_metadata(cs).build().ok())
        else {
            return metadata;
        };
        row_groups.push(rebuilt);
    }
    Arc::new(
        metadata
            .as_ref()
            .clone()
            .into_builder()
            .set_row_groups(row_groups)
            .build(),
    )
}

/// Whether `created_by` names a parquet-mr older than 1.2.9, whose column chunk sizes leave
/// out the dictionary page header (PARQUET-816); a version it does not give counts as old.
fn before_parquet_816_fix(created_by: Option<&str>) -> bool {
    let Some(rest) = created_by.and_then(|c| c.strip_prefix("parquet-mr")) else {
        return false;
    };
    let version = rest.trim_start().strip_prefix("version").unwrap_or(rest).trim();
    let numbers: Vec<u32> = version
        .split(|c: char| !c.is_ascii_digit())
        .take_while(|p| !p.is_empty())
        .take(3)
        .filter_map(|p| p.parse().ok())
        .collect();
    match numbers.as_slice() {
        [major, minor, patch, ..] => (*major, *minor, *patch) < (1, 2, 9),
        _ => true,
    }
}

/// The length of the page header at the start of `bytes`, its page's compressed size and, for
/// a data page, its number of values; `None` if the bytes are not a whole page header.
fn page_header(bytes: &[u8]) -> Option<(usize, u64, Option<i64>)> {
    let mut c = Cursor { buf: bytes, pos: 0 };
    let (mut size, mut values, mut last) = (None, None, 0);
    while let Some((id, ty)) = c.field_header(last)? {
        last = id;
        match (id, ty) {
            (3, T_I32) => size = u64::try_from(c.zigzag()?).ok(),
            // Data page (v1 and v2) headers: their first field is the number of values.
            (5 | 8, T_STRUCT) => {
                let mut inner_last = 0;
                while let Some((inner, ity)) = c.field_header(inner_last)? {
                    inner_last = inner;
                    if (inner, ity) == (1, T_I32) {
                        values = Some(c.zigzag()?);
                    } else {
                        c.skip(ity, 1)?;
                    }
                }
            }
            _ => c.skip(ty, 0)?,
        }
    }
    Some((c.pos, size?, values))
}

/// The bytes read for a page header when walking a column chunk (most are far smaller), and
/// the most read when they do not hold it.
const PAGE_HEADER_READ: u64 = 16 << 10;
const MAX_PAGE_HEADER: u64 = 1 << 20;

/// A walk over one column chunk's page headers, from its start until its values are all
/// counted: [`ChunkWalk::next_read`] says which bytes to read next, [`ChunkWalk::feed`]
/// takes them. Driven by a sync or an async reader alike.
pub(super) struct ChunkWalk {
    start: u64,
    stated: u64,
    at: u64,
    values: i64,
    num_values: i64,
    file_len: u64,
    /// Bytes read per page header.
    read_len: u64,
}

impl ChunkWalk {
    fn new(c: &ColumnChunkMetaData, file_len: u64) -> Self {
        let (start, stated) = c.byte_range();
        ChunkWalk {
            start,
            stated,
            at: start,
            values: 0,
            num_values: c.num_values(),
            file_len,
            read_len: PAGE_HEADER_READ,
        }
    }

    /// The bytes to read next (offset, length); `None` once every value is counted.
    pub(super) fn next_read(&self) -> Option<(u64, usize)> {
        (self.values < self.num_values).then_some(())?;
        let len = self.read_len.min(self.file_len.checked_sub(self.at)?);
        Some((self.at, usize::try_from(len).ok()?))
    }

    /// Takes the bytes of [`ChunkWalk::next_read`]; `None` when they hold no page header.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Option<()> {
        let Some((header_len, size, page_values)) = page_header(bytes) else {
            // A header longer than the bytes read: read more, once.
            let cut = bytes.len() as u64 == self.read_len && self.read_len < MAX_PAGE_HEADER;
            self.read_len = MAX_PAGE_HEADER;
            return cut.then_some(());
        };
        self.at = self.at.checked_add(header_len as u64)?.checked_add(size)?;
        self.values += page_values.unwrap_or(0);
        Some(())
    }

    /// The chunk's measured size, when larger than stated (and within the file).
    fn measured(&self) -> Option<i64> {
        let measured = self.at.checked_sub(self.start)?;
        (self.values >= self.num_values && measured > self.stated && self.at <= self.file_len)
            .then(|| i64::try_from(measured).ok())?
    }
}

/// The walks that measure each column chunk of `metadata` (by row group) when an old
/// parquet-mr wrote it (PARQUET-816: its chunk sizes leave out the dictionary page header,
/// so the last page is cut); `None` for other writers.
pub(super) fn chunk_walks(metadata: &ParquetMetaData, file_len: u64) -> Option<Vec<Vec<ChunkWalk>>> {
    before_parquet_816_fix(metadata.file_metadata().created_by()).then(|| {
        metadata
            .row_groups()
            .iter()
            .map(|rg| rg.columns().iter().map(|c| ChunkWalk::new(c, file_len)).collect())
            .collect()
    })
}

/// `metadata` with each column chunk's size as its finished walk measured it.
pub(super) fn with_measured_sizes(metadata: Arc<ParquetMetaData>, walks: &[Vec<ChunkWalk>]) -> Arc<ParquetMetaData> {
    let mut changed = false;
    let mut row_groups = Vec::with_capacity(metadata.num_row_groups());
    for (rg, walks) in metadata.row_groups().iter().zip(walks) {
        let columns: Vec<_> = rg
            .columns()
            .iter()
            .zip(walks)
            .map(|(c, w)| {
                let resized = w
                    .measured()
                    .and_then(|size| c.clone().into_builder().set_total_compressed_size(size).build().ok());
                changed |= resized.is_some();
                resized.unwrap_or_else(|| c.clone())
            })
            .collect();
        match rg.clone().into_builder().set_column_metadata(columns).build() {
            Ok(rebuilt) => row_groups.push(rebuilt),
            Err(_) => return metadata,
        }
    }
    if !changed {
        return metadata;
    }
    Arc::new(
        metadata
            .as_ref()
            .clone()
            .into_builder()
            .set_row_groups(row_groups)
            .build(),
    )
}

/// [`chunk_walks`] driven by a sync reader (`read_at(offset, len)`), then applied.
pub(super) fn with_measured_chunk_sizes(
    metadata: Arc<ParquetMetaData>,
    file_len: u64,
    read_at: impl Fn(u64, usize) -> Option<bytes::Bytes>,
) -> Arc<ParquetMetaData> {
    let Some(mut walks) = chunk_walks(&metadata, file_len) else {
        return metadata;
    };
    for walk in walks.iter_mut().flatten() {
        while let Some((at, len)) = walk.next_read() {
            if read_at(at, len).and_then(|b| walk.feed(&b)).is_none() {
                break;
            }
        }
    }
    with_measured_sizes(metadata, &walks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A footer with one column chunk whose metadata has `extra` after its codec field.
    fn footer(extra: &[u8]) -> Vec<u8> {
        let mut cmd = vec![0x15, 0x02]; // 1: type i32 = 1 (INT32)
        cmd.extend_from_slice(&[0x35, 0x02]); // 4: codec i32 = 1
        cmd.extend_from_slice(extra);
        cmd.push(0);
        let mut out = vec![0x15, 0x02]; // 1: version
        out.extend_from_slice(&[0x39, 0x1c]); // 4: row_groups list<struct> n=1
        out.extend_from_slice(&[0x19, 0x1c]); // 1: columns list<struct> n=1
        out.extend_from_slice(&[0x3c]); // 3: meta_data struct
        out.extend_from_slice(&cmd);
        out.push(0); // end ColumnChunk
        out.push(0); // end RowGroup
        out.push(0); // end FileMetaData
        out
    }

    #[test]
    fn a_field_of_the_wrong_type_is_dropped_and_the_next_keeps_its_id() {
        // 15: a list<i16> of 1 where the format has an i32; then 16: struct {}.
        let bad = footer(&[0xb9, 0x14, 0x02, 0x1c, 0x00]);
        let fixed = repaired_footer(&bad).expect("repaired");
        assert_eq!(fixed, footer(&[0xcc, 0x00]));
        assert_eq!(repaired_footer(&fixed), None, "nothing left to repair");
    }

    #[test]
    fn fields_of_the_right_types_are_kept_as_they_are() {
        assert_eq!(repaired_footer(&footer(&[0xb5, 0x02])), None);
        assert_eq!(repaired_footer(&[0x15]), None, "cut bytes");
        assert_eq!(repaired_footer(b""), None);
    }

    #[test]
    fn parquet_mr_versions_before_the_chunk_size_fix() {
        assert!(before_parquet_816_fix(Some("parquet-mr")));
        assert!(before_parquet_816_fix(Some("parquet-mr version 1.2.8")));
        assert!(!before_parquet_816_fix(Some("parquet-mr version 1.2.9")));
        assert!(!before_parquet_816_fix(Some(
            "parquet-mr version 1.12.0-201812210311360288-a86293f (build cec1a48)"
        )));
        assert!(!before_parquet_816_fix(Some("parquet-cpp-arrow version 21.0.0")));
        assert!(!before_parquet_816_fix(None));
    }

    #[test]
    fn page_headers_give_their_size_and_values() {
        // type 0, uncompressed 106, compressed 106, data page header { num_values 25, … }.
        let header = [
            0x15, 0x00, 0x15, 0xd4, 0x01, 0x15, 0xd4, 0x01, 0x2c, 0x15, 0x32, 0x15, 0x00, 0x00, 0x00,
        ];
        assert_eq!(page_header(&header), Some((header.len(), 106, Some(25))));
        assert_eq!(page_header(&header[..6]), None);
    }

    #[test]
    fn the_footer_is_found_at_the_end_of_a_tail() {
        let mut tail = b"xxdata".to_vec();
        tail.extend_from_slice(&4u32.to_le_bytes());
        tail.extend_from_slice(b"PAR1");
        assert_eq!(footer_in_tail(&tail), Some(&b"data"[..]));
        assert_eq!(footer_in_tail(&tail[3..]), None, "not all of it");
        assert_eq!(footer_in_tail(b"PAR1"), None);
    }
}
