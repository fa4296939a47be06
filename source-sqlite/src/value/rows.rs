//! Rows copied out of SQLite into a compact owned chunk, so that the thread
//! stepping the statement can hand them to the thread writing JSON: one
//! [`Cell`] per value plus one byte arena for every TEXT and BLOB of the
//! chunk. A chunk is reused once written, so reading allocates nothing per
//! row.

use rusqlite::types::ValueRef;
use rusqlite::Row;

/// Rows per chunk, at most.
pub const CHUNK_ROWS: usize = 4096;

/// TEXT and BLOB bytes per chunk: a chunk is full once its arena holds this
/// many (a single larger value still makes a chunk of one row).
pub const CHUNK_BYTES: usize = 1 << 20;

/// One value as SQLite stored it (16 bytes); TEXT and BLOB bytes live in the
/// chunk's arena.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// NULL.
    Null,
    /// INTEGER.
    Integer(i64),
    /// REAL.
    Real(f64),
    /// TEXT (bytes as stored, not checked for UTF-8 yet).
    Text(Span),
    /// BLOB.
    Blob(Span),
}

/// Where a value's bytes are in the arena. A chunk's arena stays below 4 GiB:
/// it is handed on once past [`CHUNK_BYTES`], and SQLite's rows are smaller
/// than 2 GiB (`SQLITE_MAX_LENGTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn of<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let start = self.start as usize;
        arena.get(start..start + self.len as usize).unwrap_or_default()
    }
}

/// Owned rows of the same width, each with the `emitted_at` of its record.
#[derive(Debug, Default)]
pub struct RowChunk {
    width: usize,
    cells: Vec<Cell>,
    arena: Vec<u8>,
    emitted_at: Vec<i64>,
}

impl RowChunk {
    /// An empty chunk of rows of `width` values.
    pub fn new(width: usize) -> Self {
        RowChunk {
            width,
            cells: Vec::with_capacity(width * CHUNK_ROWS),
            arena: Vec::with_capacity(CHUNK_BYTES >> 2),
            emitted_at: Vec::with_capacity(CHUNK_ROWS),
        }
    }

    /// How many rows it holds.
    pub fn len(&self) -> usize {
        self.emitted_at.len()
    }

    /// True when it holds no row.
    pub fn is_empty(&self) -> bool {
        self.emitted_at.is_empty()
    }

    /// Memory its rows take.
    pub fn bytes(&self) -> usize {
        self.cells.len() * std::mem::size_of::<Cell>()
            + self.arena.len()
            + self.emitted_at.len() * std::mem::size_of::<i64>()
    }

    /// True once it should be handed on.
    pub fn is_full(&self) -> bool {
        self.emitted_at.len() >= CHUNK_ROWS || self.arena.len() >= CHUNK_BYTES
    }

    /// Empties it for reuse, giving back memory a huge value made it take.
    pub fn clear(&mut self) {
        self.cells.clear();
        self.arena.clear();
        self.emitted_at.clear();
        if self.arena.capacity() > 4 * CHUNK_BYTES {
            self.arena.shrink_to(CHUNK_BYTES);
        }
    }

    /// Copies the values `first .. first + width` of `row`.
    pub fn push_row(&mut self, row: &Row<'_>, first: usize, emitted_at: i64) -> rusqlite::Result<()> {
        for i in first..first + self.width {
            self.push_cell(row.get_ref(i)?, i)?;
        }
        self.emitted_at.push(emitted_at);
        Ok(())
    }

    /// Copies one row given as values (tests and small callers); values past
    /// the chunk's width are ignored, missing ones are NULL.
    pub fn push_values(&mut self, values: &[ValueRef<'_>], emitted_at: i64) -> rusqlite::Result<()> {
        for i in 0..self.width {
            self.push_cell(values.get(i).copied().unwrap_or(ValueRef::Null), i)?;
        }
        self.emitted_at.push(emitted_at);
        Ok(())
    }

    /// Copies one value of column `col` (TEXT and BLOB bytes into the arena).
    #[inline]
    fn push_cell(&mut self, value: ValueRef<'_>, col: usize) -> rusqlite::Result<()> {
        let cell = match value {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(v) => Cell::Integer(v),
            ValueRef::Real(v) => Cell::Real(v),
            ValueRef::Text(b) => Cell::Text(self.stash(b, col)?),
            ValueRef::Blob(b) => Cell::Blob(self.stash(b, col)?),
        };
        self.cells.push(cell);
        Ok(())
    }

    /// Copies the bytes of column `col` into the arena.
    fn stash(&mut self, bytes: &[u8], col: usize) -> rusqlite::Result<Span> {
        let too_big = || rusqlite::Error::IntegralValueOutOfRange(col, i64::try_from(bytes.len()).unwrap_or(i64::MAX));
        let start = u32::try_from(self.arena.len()).map_err(|_| too_big())?;
        let len = u32::try_from(bytes.len()).map_err(|_| too_big())?;
        start.checked_add(len).ok_or_else(too_big)?;
        self.arena.extend_from_slice(bytes);
        Ok(Span { start, len })
    }

    /// The rows, each as its values and its `emitted_at`.
    pub fn rows(&self) -> impl Iterator<Item = (RowValues<'_>, i64)> + '_ {
        // A zero-width chunk has no cells: each of its rows is empty.
        let mut cells = self.cells.chunks(self.width.max(1));
        self.emitted_at.iter().map(move |&at| {
            let row = cells.next().unwrap_or(&[]);
            (
                RowValues {
                    cells: row.iter(),
                    arena: &self.arena,
                },
                at,
            )
        })
    }
}

/// The values of one row of a [`RowChunk`], in column order.
#[derive(Debug, Clone)]
pub struct RowValues<'a> {
    cells: std::slice::Iter<'a, Cell>,
    arena: &'a [u8],
}

impl<'a> Iterator for RowValues<'a> {
    type Item = ValueRef<'a>;

    fn next(&mut self) -> Option<ValueRef<'a>> {
        let arena = self.arena;
        Some(match self.cells.next()? {
            Cell::Null => ValueRef::Null,
            Cell::Integer(v) => ValueRef::Integer(*v),
            Cell::Real(v) => ValueRef::Real(*v),
            Cell::Text(span) => ValueRef::Text(span.of(arena)),
            Cell::Blob(span) => ValueRef::Blob(span.of(arena)),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.cells.size_hint()
    }
}

impl ExactSizeIterator for RowValues<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_stored() {
        let mut c = RowChunk::new(3);
        c.push_values(
            &[ValueRef::Integer(1), ValueRef::Text(b"ab"), ValueRef::Blob(b"\0\xff")],
            7,
        )
        .unwrap();
        c.push_values(&[ValueRef::Null, ValueRef::Real(0.5), ValueRef::Text(b"")], 8)
            .unwrap();
        assert_eq!(std::mem::size_of::<Cell>(), 16);
        let rows: Vec<(Vec<ValueRef<'_>>, i64)> = c.rows().map(|(v, at)| (v.collect(), at)).collect();
        assert_eq!(
            rows,
            vec![
                (
                    vec![ValueRef::Integer(1), ValueRef::Text(b"ab"), ValueRef::Blob(b"\0\xff")],
                    7
                ),
                (vec![ValueRef::Null, ValueRef::Real(0.5), ValueRef::Text(b"")], 8),
            ]
        );
        assert_eq!(c.len(), 2);
        c.clear();
        assert!(c.is_empty());
        assert_eq!(c.rows().count(), 0);
    }

    #[test]
    fn reads_rows_from_sqlite() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("SELECT 1, 'x', 2.5, x'00', NULL").unwrap();
        let mut rows = stmt.query([]).unwrap();
        let mut c = RowChunk::new(4);
        while let Some(row) = rows.next().unwrap() {
            c.push_row(row, 1, 3).unwrap();
        }
        let (values, at) = c.rows().next().unwrap();
        assert_eq!(at, 3);
        assert_eq!(
            values.collect::<Vec<_>>(),
            vec![
                ValueRef::Text(b"x"),
                ValueRef::Real(2.5),
                ValueRef::Blob(b"\0"),
                ValueRef::Null
            ]
        );
    }

    #[test]
    fn fills_up_by_rows_or_bytes() {
        let mut c = RowChunk::new(1);
        c.push_values(&[ValueRef::Blob(&vec![0u8; CHUNK_BYTES])], 0).unwrap();
        assert!(c.is_full());
        c.clear();
        for _ in 0..CHUNK_ROWS {
            assert!(!c.is_full());
            c.push_values(&[ValueRef::Integer(1)], 0).unwrap();
        }
        assert!(c.is_full());
    }
}
