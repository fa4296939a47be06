//! A JSON lines stream decoded block by block on a few threads, its batches handed out in
//! order: [`LineBatches`].
//!
//! Blocks are cut by [`LineBlocks`] after a multiple of the batch size in lines, so when a
//! line holds one value each block starts a batch, and the batches (and with them the
//! warnings about records that do not fit) are the ones a serial read makes. A block that
//! shows otherwise (it ends inside a value that spans lines, or holds a number of values that
//! is not a multiple of the batch size) is not used: from its first byte on, the rest of the
//! stream is decoded serially, as one stream. Memory stays bounded: a few blocks (each of at
//! most [`MAX_BLOCK_BYTES`]) are in flight.

use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::json::reader::Decoder;
use arrow::json::ReaderBuilder;

use super::lines::{Block, Cut, LineBlocks, SerialLines};
use crate::records::json_reader_builder;

/// A block holds at least this many bytes (whole batches of lines) …
const MIN_BLOCK_BYTES: usize = 1 << 20;
/// … and at most this many (else the stream goes on serially).
pub(super) const MAX_BLOCK_BYTES: usize = 32 << 20;

/// How a block is decoded.
pub(super) struct DecodeSpec {
    /// The schema decoded.
    pub schema: SchemaRef,
    /// Rows per batch.
    pub batch_size: usize,
    /// Values of the wrong type become null (`on_bad_record: skip`).
    pub ignore_type_conflicts: bool,
}

impl DecodeSpec {
    /// Whether a decoder can be built (the schema is one `arrow_json` decodes).
    pub fn check(&self) -> Result<(), ArrowError> {
        self.builder().build_decoder().map(|_| ())
    }

    fn builder(&self) -> ReaderBuilder {
        json_reader_builder(self.schema.clone(), self.batch_size).with_ignore_type_conflicts(self.ignore_type_conflicts)
    }
}

enum Outcome {
    Batches(Vec<RecordBatch>),
    /// The block does not start the next block's batch: decode serially from here.
    Misaligned,
    /// The batches before the error, then the error.
    Failed(Vec<RecordBatch>, ArrowError),
}

/// A decoded block, with its bytes back (for a serial decode after all).
struct Decoded {
    bytes: Vec<u8>,
    outcome: Outcome,
}

/// Decodes `block` with `spare` (a decoder left clean by the block before) or a new decoder;
/// leaves the decoder in `spare` again when it ends clean.
fn decode_block(spec: &DecodeSpec, block: Block, spare: &mut Option<Decoder>) -> Decoded {
    let outcome = decode(spec, &block, spare);
    Decoded {
        bytes: block.bytes,
        outcome,
    }
}

fn decode(spec: &DecodeSpec, block: &Block, spare: &mut Option<Decoder>) -> Outcome {
    let mut batches = vec![];
    let mut run = || -> Result<bool, ArrowError> {
        let mut decoder = match spare.take() {
            Some(d) => d,
            None => spec.builder().build_decoder()?,
        };
        let (bytes, mut pos, mut rows) = (&block.bytes[..], 0, 0);
        loop {
            let n = decoder.decode(&bytes[pos..])?;
            pos += n;
            if pos >= bytes.len() {
                break;
            }
            // The batch is full.
            match decoder.flush()? {
                Some(b) => {
                    rows += b.num_rows();
                    batches.push(b);
                }
                None if n == 0 => return Err(ArrowError::JsonError("the JSON decoder made no progress".into())),
                None => {}
            }
        }
        if decoder.has_partial_record() {
            return Ok(false);
        }
        if let Some(b) = decoder.flush()? {
            rows += b.num_rows();
            batches.push(b);
        }
        *spare = Some(decoder);
        let ends_a_batch = block.aligned && rows % spec.batch_size.max(1) == 0;
        Ok(block.last || ends_a_batch)
    };
    match run() {
        Ok(true) => Outcome::Batches(batches),
        Ok(false) => Outcome::Misaligned,
        Err(e) => Outcome::Failed(batches, e),
    }
}

type Job = (Block, SyncSender<Decoded>);

/// Threads decoding blocks; they stop when it is dropped.
struct Pool {
    jobs: Option<SyncSender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// `None` when no thread could be started (the caller decodes on its own).
    fn start(n: usize, spec: &Arc<DecodeSpec>) -> Option<Pool> {
        let (tx, rx) = sync_channel::<Job>(n);
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = vec![];
        for _ in 0..n {
            let (rx, spec) = (Arc::clone(&rx), Arc::clone(spec));
            let spawned = std::thread::Builder::new()
                .name("lakeport-jsonl".into())
                .spawn(move || {
                    let mut decoder = None;
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok((block, done)) = job else { return };
                        let _ = done.send(decode_block(&spec, block, &mut decoder));
                    }
                });
            match spawned {
                Ok(t) => threads.push(t),
                Err(_) => break,
            }
        }
        (!threads.is_empty()).then_some(Pool {
            jobs: Some(tx),
            threads,
        })
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.jobs = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

enum Slot {
    Waiting(Receiver<Decoded>),
    Ready(Decoded),
    /// The input failed here (the line cap): nothing after it.
    Failed(ArrowError),
}

/// Batches of a JSON lines stream, decoded in blocks on up to `threads` threads.
pub(super) struct LineBatches<'a> {
    spec: Arc<DecodeSpec>,
    blocks: Option<LineBlocks<'a>>,
    cut: Cut,
    threads: usize,
    pool: Option<Pool>,
    /// The decoder of blocks decoded on the caller's thread.
    decoder: Option<Decoder>,
    in_flight: VecDeque<Slot>,
    ready: VecDeque<RecordBatch>,
    serial: Option<arrow::json::Reader<SerialLines<'a>>>,
    /// The error that ends the stream, after the batches in `ready`.
    failed: Option<ArrowError>,
    input_done: bool,
    done: bool,
}

impl<'a> LineBatches<'a> {
    /// Decodes `blocks` as `spec` says, on up to `threads` threads (1: on the caller's).
    pub fn new(blocks: LineBlocks<'a>, spec: DecodeSpec, threads: usize) -> Self {
        let cut = Cut {
            every: Some(spec.batch_size.max(1)),
            min_bytes: MIN_BLOCK_BYTES,
            max_bytes: MAX_BLOCK_BYTES,
        };
        LineBatches {
            spec: Arc::new(spec),
            blocks: Some(blocks),
            cut,
            threads: threads.max(1),
            pool: None,
            decoder: None,
            in_flight: VecDeque::new(),
            ready: VecDeque::new(),
            serial: None,
            failed: None,
            input_done: false,
            done: false,
        }
    }

    /// Blocks in flight at most.
    fn depth(&self) -> usize {
        if self.threads > 1 {
            2 * self.threads
        } else {
            1
        }
    }

    /// Cuts blocks and hands them out until enough are in flight.
    fn fill(&mut self) {
        while !self.input_done && self.in_flight.len() < self.depth() {
            let Some(blocks) = self.blocks.as_mut() else { return };
            let block = match blocks.next_block(self.cut) {
                Ok(Some(b)) => b,
                Ok(None) => {
                    self.input_done = true;
                    return;
                }
                Err(e) => {
                    self.input_done = true;
                    self.in_flight.push_back(Slot::Failed(e.into()));
                    return;
                }
            };
            self.input_done = block.last;
            // A stream of one block is decoded here: no threads for a small file.
            if self.threads > 1 && self.pool.is_none() && !block.last {
                self.pool = Pool::start(self.threads, &self.spec);
            }
            let slot = match self.pool.as_ref().and_then(|p| p.jobs.as_ref()) {
                Some(jobs) => {
                    let (tx, rx) = sync_channel(1);
                    match jobs.send((block, tx)) {
                        Ok(()) => Slot::Waiting(rx),
                        Err(e) => {
                            let (block, _) = e.0;
                            Slot::Ready(decode_block(&self.spec, block, &mut self.decoder))
                        }
                    }
                }
                None => Slot::Ready(decode_block(&self.spec, block, &mut self.decoder)),
            };
            self.in_flight.push_back(slot);
        }
    }

    /// Decodes serially from `first` (a block's bytes) on: the blocks in flight, then the rest.
    fn go_serial(&mut self, first: Vec<u8>) -> Result<(), ArrowError> {
        let mut pending = VecDeque::from([first]);
        for slot in self.in_flight.drain(..) {
            match slot {
                Slot::Waiting(rx) => match rx.recv() {
                    Ok(d) => pending.push_back(d.bytes),
                    Err(_) => return Err(stopped()),
                },
                Slot::Ready(d) => pending.push_back(d.bytes),
                // The line cap: the serial read meets it again after the blocks before it.
                Slot::Failed(_) => break,
            }
        }
        self.pool = None;
        let blocks = self.blocks.take().ok_or_else(stopped)?;
        self.serial = Some(self.spec.builder().build(SerialLines::new(pending, blocks))?);
        Ok(())
    }
}

fn stopped() -> ArrowError {
    ArrowError::ExternalError("a JSON lines decoding thread stopped early".into())
}

impl Iterator for LineBatches<'_> {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(b) = self.ready.pop_front() {
                return Some(Ok(b));
            }
            if self.done {
                return None;
            }
            if let Some(e) = self.failed.take() {
                self.done = true;
                return Some(Err(e));
            }
            if let Some(serial) = self.serial.as_mut() {
                let next = serial.next();
                self.done = !matches!(next, Some(Ok(_)));
                return next;
            }
            self.fill();
            let decoded = match self.in_flight.pop_front() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Slot::Ready(d)) => d,
                Some(Slot::Waiting(rx)) => match rx.recv() {
                    Ok(d) => d,
                    Err(_) => {
                        self.done = true;
                        return Some(Err(stopped()));
                    }
                },
                Some(Slot::Failed(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            match decoded.outcome {
                Outcome::Batches(batches) => self.ready.extend(batches),
                Outcome::Failed(batches, e) => {
                    self.ready.extend(batches);
                    self.failed = Some(e);
                }
                Outcome::Misaligned => {
                    if let Err(e) = self.go_serial(decoded.bytes) {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]))
    }

    /// What one `arrow_json` reader over the whole text gives (the serial read).
    fn serial(text: &str, batch_size: usize, skip: bool) -> Vec<Result<RecordBatch, String>> {
        let reader = json_reader_builder(schema(), batch_size)
            .with_ignore_type_conflicts(skip)
            .build(BufReader::new(text.as_bytes()))
            .unwrap();
        // Up to its first error (an `arrow_json` reader repeats it).
        let mut out = vec![];
        for r in reader {
            let failed = r.is_err();
            out.push(r.map_err(|e| e.to_string()));
            if failed {
                break;
            }
        }
        out
    }

    fn blocks(
        text: &str,
        batch_size: usize,
        skip: bool,
        threads: usize,
        max: usize,
    ) -> Vec<Result<RecordBatch, String>> {
        let input: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
        let spec = DecodeSpec {
            schema: schema(),
            batch_size,
            ignore_type_conflicts: skip,
        };
        let mut b = LineBatches::new(LineBlocks::new(input, max), spec, threads);
        // Small blocks, so that a test file is many.
        b.cut.min_bytes = 4096;
        b.map(|r| r.map_err(|e| e.to_string())).collect()
    }

    fn lines(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                format!(
                    "{{\"a\": {i}, \"s\": \"row {i} \\\"é\\\" \\u00e9 {}\"}}",
                    "x".repeat(i % 50)
                )
            })
            .collect()
    }

    /// Parallel and serial reads agree, batch by batch (and on the error that ends them).
    fn same_as_serial(text: &str, batch_size: usize, skip: bool) {
        let want = serial(text, batch_size, skip);
        for threads in [1, 3] {
            let got = blocks(text, batch_size, skip, threads, 16 << 20);
            assert_eq!(got.len(), want.len(), "threads {threads}: batches");
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g, w, "threads {threads}: batch {i}");
            }
        }
    }

    #[test]
    fn one_value_per_line_gives_the_batches_of_a_serial_read() {
        let text = lines(5000).join("\n") + "\n";
        same_as_serial(&text, 100, false);
        // A last line without a newline, CRLF line ends.
        same_as_serial(&lines(5000).join("\n"), 100, false);
        same_as_serial(&lines(5000).join("\r\n"), 64, false);
    }

    #[test]
    fn blank_lines_values_across_lines_and_lines_of_two_values_fall_back_to_a_serial_read() {
        let mut l = lines(5000);
        l[2000] = String::new();
        l[4000] = "  ".into();
        same_as_serial(&(l.join("\n") + "\n\n"), 100, false);
        let mut l = lines(5000);
        l[3000] = "{\"a\": 3000,\n \"s\": \"split\"\n}".into();
        same_as_serial(&l.join("\n"), 100, false);
        let mut l = lines(5000);
        l[1500] = "{\"a\": 1} {\"a\": 2}".into();
        same_as_serial(&l.join("\n"), 100, false);
        // A pretty-printed file: every block ends inside a value.
        let pretty: Vec<String> = (0..2000)
            .map(|i| format!("{{\n  \"a\": {i},\n  \"s\": \"v\"\n}}"))
            .collect();
        same_as_serial(&pretty.join("\n"), 100, false);
    }

    #[test]
    fn errors_come_after_the_batches_before_them_as_in_a_serial_read() {
        let mut l = lines(5000);
        l[3210] = "{\"a\": tru}".into();
        same_as_serial(&l.join("\n"), 100, false);
        // Blocks of several batches: the ones before the error's still come.
        same_as_serial(&l.join("\n"), 10, false);
        let mut l = lines(5000);
        l[3210] = "{\"a\": \"not a number\"}".into();
        same_as_serial(&l.join("\n"), 100, false);
        same_as_serial(&l.join("\n"), 7, false);
        // Skipped (nulled) instead, with `on_bad_record: skip`.
        same_as_serial(&l.join("\n"), 100, true);
        // A truncated last value.
        let mut l = lines(5000);
        l.push("{\"a\": ".into());
        same_as_serial(&l.join("\n"), 100, false);
    }

    #[test]
    fn a_line_over_the_cap_ends_the_read_after_the_lines_before_it_naming_its_number() {
        let mut l = lines(5000);
        l[4321] = format!("{{\"s\": \"{}\"}}", "y".repeat(3000));
        let text = l.join("\n");
        for threads in [1, 3] {
            let got = blocks(&text, 100, false, threads, 2048);
            let rows: usize = got.iter().filter_map(|r| r.as_ref().ok()).map(|b| b.num_rows()).sum();
            let err = got.last().unwrap().as_ref().unwrap_err();
            assert!(err.contains("record 4322 is longer than 2048 bytes"), "{err}");
            assert_eq!(got.iter().filter(|r| r.is_err()).count(), 1);
            assert!((4000..=4321).contains(&rows), "{rows}");
        }
    }

    #[test]
    fn empty_and_blank_inputs_give_no_batches() {
        for text in ["", "\n", "\n\n  \r\n"] {
            assert!(blocks(text, 10, false, 3, 1024).is_empty(), "{text:?}");
        }
    }
}
