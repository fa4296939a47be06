//! What a person at a shell sees on stderr while a connector works: a live
//! progress line (files done of the total, records, megabytes, MB/s, the
//! time elapsed and, where the total is known, the time left) and short
//! tables (the COST report) printed above it.
//!
//! Only for a person: a [`Terminal`] exists when stderr is a terminal and
//! `LAKEPORT_PROGRESS` ([`PROGRESS_ENV`]) is not `0`, `false`, `off` or
//! `no`; the live line is drawn only when stdout is not that terminal too
//! (messages printed on the screen would run into it — as curl leaves out
//! its progress meter then), the tables always. An orchestrator, a pipe or a file on stderr sees nothing of it, and
//! stdout (the protocol messages) is never touched. The line is redrawn at
//! most every [`REDRAW_EVERY`], cut to the terminal's width (it never wraps),
//! and cleared before any other text reaches stderr.
//!
//! A hand-written line rather than a crate such as indicatif: the line has
//! a fixed set of fields, the engines already count everything in it, and a
//! redraw is a time check per batch of records — no drawing thread, no
//! styling templates, no dependencies.

use std::io::{self, IsTerminal, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The environment variable that turns the progress line and the tables
/// off (`0`, `false`, `off`, `no`).
pub const PROGRESS_ENV: &str = "LAKEPORT_PROGRESS";

/// The shortest time between two redraws of the progress line.
pub const REDRAW_EVERY: Duration = Duration::from_millis(250);

/// The terminal width assumed when the terminal does not say.
const DEFAULT_WIDTH: usize = 80;

/// Erases the current terminal line and returns to its start.
const CLEAR_LINE: &str = "\r\x1b[2K";

/// What a task has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Files done (read completely, or committed).
    pub files: u64,
    /// Records (or messages) handled.
    pub records: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// What a progress line is about: its label, its units and what is known of
/// the whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The line's label (a stream's name, `write`).
    pub label: String,
    /// What the files are (`files`, `files committed`; empty: a task
    /// without files, such as a table's rows).
    pub files_word: &'static str,
    /// What the records are (`records`, `messages`).
    pub records_word: &'static str,
    /// Files to do, when known.
    pub files_total: Option<u64>,
    /// Bytes to read, when known.
    pub bytes_total: Option<u64>,
    /// Records to read, when known (a table's row count).
    pub records_total: Option<u64>,
}

/// The stderr display of a person at a shell: one progress line and notes
/// above it. Cheap to clone (a shared handle); every method takes `&self`.
#[derive(Clone)]
pub struct Terminal {
    inner: Arc<Mutex<Display>>,
}

struct Display {
    sink: Box<dyn Write + Send>,
    width: usize,
    /// The live line is drawn (stdout is not on the screen).
    live: bool,
    running: Option<Running>,
    /// A progress line is on the screen (not yet ended by a newline).
    drawn: bool,
}

struct Running {
    task: Task,
    counts: Counts,
    started: Instant,
    last_draw: Option<Instant>,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal").finish_non_exhaustive()
    }
}

/// True when the value of [`PROGRESS_ENV`] leaves the display on (unset, or
/// anything but `0`, `false`, `off`, `no`).
pub fn enabled_by(value: Option<&str>) -> bool {
    !value.is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "false" | "off" | "no"))
}

impl Terminal {
    /// The display on this process's stderr, when stderr is a terminal and
    /// [`PROGRESS_ENV`] does not turn it off; `None` otherwise.
    pub fn from_env() -> Option<Terminal> {
        let value = std::env::var(PROGRESS_ENV).ok();
        if !enabled_by(value.as_deref()) || !io::stderr().is_terminal() {
            return None;
        }
        let terminal = Terminal::new(Box::new(io::stderr()), stderr_width());
        if io::stdout().is_terminal() {
            terminal.lock().live = false;
        }
        Some(terminal)
    }

    /// A display writing to `sink`, `width` columns wide.
    pub fn new(sink: Box<dyn Write + Send>, width: usize) -> Terminal {
        Terminal {
            inner: Arc::new(Mutex::new(Display {
                sink,
                width: width.max(20),
                live: true,
                running: None,
                drawn: false,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Display> {
        // A panic while drawing leaves nothing inconsistent that matters.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a progress line (ending the one before, if any); it is drawn
    /// at once.
    pub fn start(&self, task: Task) {
        let mut d = self.lock();
        d.end_line();
        d.running = Some(Running {
            task,
            counts: Counts::default(),
            started: Instant::now(),
            last_draw: None,
        });
        d.draw(Instant::now(), false);
    }

    /// Updates the counts of the running line; redraws it when the last
    /// redraw is [`REDRAW_EVERY`] old.
    pub fn update(&self, change: impl FnOnce(&mut Counts)) {
        let mut d = self.lock();
        let Some(running) = d.running.as_mut() else { return };
        change(&mut running.counts);
        let now = Instant::now();
        if running.last_draw.is_none_or(|t| now.duration_since(t) >= REDRAW_EVERY) {
            d.draw(now, false);
        }
    }

    /// Sets the records to read (known after the task started, e.g. once a
    /// row count is in).
    pub fn set_records_total(&self, total: Option<u64>) {
        if let Some(running) = self.lock().running.as_mut() {
            running.task.records_total = total;
        }
    }

    /// Draws the running line a last time, marked done, and ends it with a
    /// newline (it stays on the screen).
    pub fn finish(&self) {
        let mut d = self.lock();
        if d.running.is_some() {
            d.draw(Instant::now(), true);
            d.end_line();
            d.running = None;
        }
    }

    /// Ends the running line where it is (a read that failed or was cut
    /// short: no "done"), leaving it on the screen.
    pub fn stop(&self) {
        let mut d = self.lock();
        d.end_line();
        d.running = None;
    }

    /// Prints `text` (one or more lines) above the progress line, which is
    /// redrawn under it.
    pub fn note(&self, text: &str) {
        let mut d = self.lock();
        d.clear();
        let _ = writeln!(d.sink, "{}", text.trim_end_matches('\n'));
        if d.running.is_some() {
            d.draw(Instant::now(), false);
        } else {
            let _ = d.sink.flush();
        }
    }
}

impl Display {
    /// Erases a drawn progress line.
    fn clear(&mut self) {
        if self.drawn {
            let _ = self.sink.write_all(CLEAR_LINE.as_bytes());
            self.drawn = false;
        }
    }

    /// Ends a drawn progress line with a newline, leaving it on the screen.
    fn end_line(&mut self) {
        if self.drawn {
            let _ = self.sink.write_all(b"\n");
            let _ = self.sink.flush();
            self.drawn = false;
        }
    }

    fn draw(&mut self, now: Instant, done: bool) {
        if !self.live {
            return;
        }
        let Some(running) = self.running.as_mut() else { return };
        running.last_draw = Some(now);
        let line = render(&running.task, running.counts, now.duration_since(running.started), done);
        let line: String = line.chars().take(self.width - 1).collect();
        let _ = write!(self.sink, "{CLEAR_LINE}{line}");
        let _ = self.sink.flush();
        self.drawn = true;
    }
}

/// The text of a progress line after `elapsed`.
pub fn render(task: &Task, counts: Counts, elapsed: Duration, done: bool) -> String {
    let files = match task.files_total {
        _ if task.files_word.is_empty() => String::new(),
        Some(total) => format!("{}/{} {}, ", counts.files, total, task.files_word),
        None if counts.files == 1 => format!("1 {}, ", task.files_word.replacen("files", "file", 1)),
        None => format!("{} {}, ", counts.files, task.files_word),
    };
    let records = match task.records_total {
        Some(total) => format!("{}/{}", thousands(counts.records), thousands(total)),
        None => thousands(counts.records),
    };
    let secs = elapsed.as_secs_f64();
    let mb = counts.bytes as f64 / 1e6;
    let rate = if secs > 0.0 { mb / secs } else { 0.0 };
    let mut line = format!(
        "{}: {files}{records} {}, {mb:.1} MB at {rate:.1} MB/s, {} elapsed",
        task.label,
        task.records_word,
        clock(elapsed)
    );
    if done {
        line.push_str(", done");
    } else if let Some(left) = time_left(task, counts, elapsed) {
        line.push_str(&format!(", ETA {}", clock(left)));
    }
    line
}

/// The time left, from the share done of the files, the bytes or the
/// records (whichever is furthest): `None` without a total or before any
/// progress.
fn time_left(task: &Task, counts: Counts, elapsed: Duration) -> Option<Duration> {
    let share = |done: u64, total: Option<u64>| total.filter(|&t| t > 0).map(|t| (done as f64 / t as f64).min(1.0));
    let done = [
        share(counts.files, task.files_total),
        share(counts.bytes, task.bytes_total),
        share(counts.records, task.records_total),
    ]
    .into_iter()
    .flatten()
    .reduce(f64::max)?;
    (done > 0.0).then(|| elapsed.mul_f64((1.0 - done) / done))
}

/// `m:ss`, or `h:mm:ss` from an hour on.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A small table: the header row, then each row; the first column left
/// aligned, the others right aligned, columns two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i == 0 {
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            } else {
                text.push_str("  ");
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            }
        }
        text.trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).take(columns).collect()));
    }
    out
}

/// The columns of the terminal on stderr (80 when it does not say).
fn stderr_width() -> usize {
    #[cfg(unix)]
    {
        // SAFETY: TIOCGWINSZ fills the winsize struct passed to it and reads nothing else.
        let mut size: libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
        if ok && size.ws_col > 0 {
            return usize::from(size.ws_col);
        }
    }
    DEFAULT_WIDTH
}

/// A reader counting what passes through it (bytes, and lines as messages)
/// into a [`Terminal`]'s running line: one update per read of the buffered
/// input (a chunk of up to a megabyte), nothing per message.
pub struct CountingInput<R> {
    inner: R,
    terminal: Terminal,
}

impl<R: Read> CountingInput<R> {
    /// Counts what `inner` gives into `terminal`.
    pub fn new(inner: R, terminal: Terminal) -> Self {
        CountingInput { inner, terminal }
    }
}

impl<R: Read> Read for CountingInput<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let lines = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        self.terminal.update(|c| {
            c.bytes += n as u64;
            c.records += lines;
        });
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test reads back.
    #[derive(Clone, Default)]
    struct Screen(Arc<Mutex<Vec<u8>>>);
    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Screen {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn task(files_total: Option<u64>, bytes_total: Option<u64>) -> Task {
        Task {
            label: "orders".into(),
            files_word: "files",
            records_word: "records",
            files_total,
            bytes_total,
            records_total: None,
        }
    }

    #[test]
    fn the_opt_out_values_turn_it_off() {
        for off in ["0", "false", "OFF", " no "] {
            assert!(!enabled_by(Some(off)), "{off}");
        }
        for on in [None, Some("1"), Some("yes"), Some("")] {
            assert!(enabled_by(on), "{on:?}");
        }
    }

    #[test]
    fn a_line_names_every_figure_and_the_time_left() {
        let counts = Counts {
            files: 3,
            records: 1_234_567,
            bytes: 30_000_000,
        };
        let line = render(
            &task(Some(10), Some(100_000_000)),
            counts,
            Duration::from_secs(10),
            false,
        );
        // 30% of the bytes (further than 3 of 10 files... equal) in 10 s: 23 s left.
        assert_eq!(
            line,
            "orders: 3/10 files, 1,234,567 records, 30.0 MB at 3.0 MB/s, 0:10 elapsed, ETA 0:23"
        );
        // Files further than bytes: the files' share counts.
        let counts = Counts { files: 5, ..counts };
        let line = render(
            &task(Some(10), Some(100_000_000)),
            counts,
            Duration::from_secs(10),
            false,
        );
        assert!(line.ends_with("ETA 0:10"), "{line}");
        // Done: no time left, the word done.
        let line = render(&task(Some(10), None), counts, Duration::from_secs(3725), true);
        assert!(line.ends_with("1:02:05 elapsed, done"), "{line}");
        // No total, or nothing done yet: no ETA.
        let line = render(&task(None, None), counts, Duration::from_secs(10), false);
        assert!(line.starts_with("orders: 5 files,") && !line.contains("ETA"), "{line}");
        let line = render(&task(Some(10), Some(0)), Counts::default(), Duration::ZERO, false);
        assert_eq!(line, "orders: 0/10 files, 0 records, 0.0 MB at 0.0 MB/s, 0:00 elapsed");
    }

    #[test]
    fn redraws_are_throttled_notes_go_above_and_the_line_fits_the_width() {
        let screen = Screen::default();
        let term = Terminal::new(Box::new(screen.clone()), 40);
        term.start(task(Some(2), None));
        // Drawn at once, then not again within REDRAW_EVERY.
        for _ in 0..100 {
            term.update(|c| c.records += 1);
        }
        let text = screen.text();
        assert_eq!(text.matches(CLEAR_LINE).count(), 1, "{text:?}");
        assert!(text.contains("orders: 0/2 files, 0 records"), "{text:?}");
        std::thread::sleep(REDRAW_EVERY);
        term.update(|c| c.files += 1);
        let text = screen.text();
        assert_eq!(text.matches(CLEAR_LINE).count(), 2, "{text:?}");
        // Cut to 39 columns: the line never wraps.
        let last = text.rsplit(CLEAR_LINE).next().unwrap();
        assert_eq!(last, "orders: 1/2 files, 100 records, 0.0 MB ");
        // A note clears the line, prints, and redraws the line under it.
        term.note("COST table\nrow");
        let text = screen.text();
        assert!(
            text.ends_with(&format!("{CLEAR_LINE}COST table\nrow\n{CLEAR_LINE}{last}")),
            "{text:?}"
        );
        term.finish();
        let text = screen.text();
        assert!(text.ends_with("\n"), "{text:?}");
        // After finish: updates draw nothing, notes print as they are.
        let before = screen.text().len();
        term.update(|c| c.records += 1);
        assert_eq!(screen.text().len(), before);
        term.note("after");
        assert!(screen.text().ends_with("\nafter\n"));
    }

    #[test]
    fn a_counting_input_counts_bytes_and_lines() {
        let screen = Screen::default();
        let term = Terminal::new(Box::new(screen.clone()), 200);
        term.start(Task {
            label: "write".into(),
            files_word: "files committed",
            records_word: "messages",
            files_total: None,
            bytes_total: None,
            records_total: None,
        });
        let mut input = CountingInput::new(&b"{\"a\":1}\n{\"b\":2}\n{\"c\""[..], term.clone());
        let mut all = Vec::new();
        input.read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), 20);
        term.finish();
        let text = screen.text();
        assert!(
            text.contains("write: 0 files committed, 2 messages, 0.0 MB at ") && text.ends_with(", done\n"),
            "{text:?}"
        );
    }

    #[test]
    fn tables_align_their_columns() {
        let t = table(
            &["COST", "estimate", "actual"],
            &[
                vec!["USD".into(), "$0.01".into(), "$0.002".into()],
                vec!["GET requests".into(), "10".into(), "9".into()],
            ],
        );
        assert_eq!(
            t,
            "COST          estimate  actual\nUSD              $0.01  $0.002\nGET requests        10       9"
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(clock(Duration::from_secs(59)), "0:59");
        let one = Counts {
            files: 1,
            ..Counts::default()
        };
        let mut committed = task(None, None);
        committed.files_word = "files committed";
        let line = render(&committed, one, Duration::ZERO, false);
        assert!(line.starts_with("orders: 1 file committed, 0 records"), "{line}");
        // A task without files, whose records total comes later (a table's row count).
        let screen = Screen::default();
        let term = Terminal::new(Box::new(screen.clone()), 200);
        let mut rows = task(None, None);
        rows.files_word = "";
        term.start(rows);
        term.set_records_total(Some(4000));
        std::thread::sleep(REDRAW_EVERY);
        term.update(|c| c.records = 1000);
        let text = screen.text();
        let last = text.rsplit(CLEAR_LINE).next().unwrap();
        assert!(last.starts_with("orders: 1,000/4,000 records, 0.0 MB at "), "{last}");
        // A quarter done after the time elapsed: three times that left.
        let line = render(
            &Task {
                records_total: Some(4000),
                ..task(None, None)
            },
            Counts {
                records: 1000,
                ..Counts::default()
            },
            Duration::from_secs(20),
            false,
        );
        assert!(line.ends_with("0:20 elapsed, ETA 1:00"), "{line}");
    }
}
