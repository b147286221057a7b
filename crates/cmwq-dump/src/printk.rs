//! printk's records: how the kernel's log stores the pieces of a dump line, and so where a
//! line longer than a record breaks.
//!
//! The dump is printed one `pr_info()` and then many `pr_cont()` calls a line. printk
//! stores text in *records* of bounded size (kernel/printk/printk.c, `vprintk_store`, as of
//! Linux 6.2 through 7.0; followed here):
//!
//! - A call's *reserve size* is the length `vsnprintf()` reports for its format, the
//!   two-byte level prefix (`KERN_CONT` is `"\001c"`, `KERN_INFO` `"\0016"`) and a trailing
//!   `"\n"` included, plus one byte for the terminating NUL; it is capped at the record
//!   limit, and a call whose text does not fit is cut to the limit.
//! - A `pr_cont()` piece is appended to the caller's last record (`prb_reserve_in_last`)
//!   when that record is still open (no newline ended it) and the record's text length
//!   plus the piece's reserve size is at most the limit, `PRINTKRB_RECORD_MAX` (1024).
//!   Otherwise the piece opens a record of its own, which closes the last one.
//! - The trailing newline of a piece is stripped from the stored text and closes the
//!   record (`LOG_NEWLINE`). A `pr_cont("\n")` that no longer fits therefore stores an
//!   empty record.
//! - Every record is one line on the console and in `dmesg`.
//!
//! Linux 6.1 works the same way with a smaller limit, `LOG_LINE_MAX`
//! (`CONSOLE_LOG_MAX - PREFIX_MAX` = 1024 − 32 = 992 bytes; 976 with
//! `CONFIG_PRINTK_CALLER`).
//!
//! [`Printk`] is that store in front of a `fmt::Write`: the dump's writers call
//! [`Printk::info`] where the kernel calls `pr_info()` and [`Printk::cont`] where it calls
//! `pr_cont()`, and the output is the sequence of records, one `\n`-terminated line each.
//! Each piece is formatted twice (once to measure it, once to write it), so nothing is
//! buffered and nothing allocates.

use std::fmt::{self, Write as _};

/// `PRINTKRB_RECORD_MAX` (kernel/printk/internal.h, Linux 6.2 and later): the most bytes a
/// record may reserve, and so the most a `pr_cont()` line may grow to before it breaks.
pub const PRINTKRB_RECORD_MAX: usize = 1024;

/// `LOG_LINE_MAX` of Linux 6.1 (`CONSOLE_LOG_MAX` 1024 − `PREFIX_MAX` 32, without
/// `CONFIG_PRINTK_CALLER`): 6.1's record limit.
pub const LOG_LINE_MAX_6_1: usize = 1024 - 32;

/// The level prefix every printk format starts with (`KERN_CONT` = `"\001c"`,
/// `KERN_INFO` = `"\0016"`): counted in the reserve size, stripped from the stored text.
const LEVEL_PREFIX: usize = 2;

/// How a dump's lines are cut into printk records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RecordLimit {
    /// The record limit of the kernel the format follows: [`PRINTKRB_RECORD_MAX`] for
    /// Linux 6.12 and 7.0, [`LOG_LINE_MAX_6_1`] for 6.1. A line longer than that breaks
    /// where the kernel's would.
    #[default]
    Kernel,
    /// Records of at most this many bytes (a kernel built with another limit, or a test).
    /// Values below 8 are taken as 8, room for a piece of a few characters.
    Bytes(usize),
    /// No record limit: every dump line whole, however long.
    Unlimited,
}

impl RecordLimit {
    /// The limit in bytes for a format whose kernel limit is `kernel`, or `None` when
    /// unlimited.
    pub(crate) fn bytes(self, kernel: usize) -> Option<usize> {
        match self {
            Self::Kernel => Some(kernel),
            Self::Bytes(n) => Some(n.max(8)),
            Self::Unlimited => None,
        }
    }
}

/// Whether a piece ends its line (its format ends in `"\n"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The piece's format ends in `"\n"`: it closes the record.
    Newline,
    /// More pieces may follow on the line.
    Open,
}

/// printk's record store in front of a writer; see the module docs.
pub(crate) struct Printk<'w> {
    out: &'w mut dyn fmt::Write,
    /// The record limit in bytes, or `None` for unlimited records.
    max: Option<usize>,
    /// Text length of the current record, when one is open.
    open: Option<usize>,
}

impl<'w> Printk<'w> {
    pub(crate) fn new(out: &'w mut dyn fmt::Write, max: Option<usize>) -> Self {
        Self {
            out,
            max,
            open: None,
        }
    }

    /// `pr_info(fmt)` / `pr_emerg(fmt)`: always starts a record.
    pub(crate) fn info(&mut self, args: fmt::Arguments<'_>, end: End) -> fmt::Result {
        self.close()?;
        self.store(args, end)
    }

    /// `pr_cont(fmt)`: extends the open record if the piece fits, else starts a record.
    pub(crate) fn cont(&mut self, args: fmt::Arguments<'_>, end: End) -> fmt::Result {
        if let Some(len) = self.open {
            let fits = match self.max {
                None => true,
                Some(max) => len + reserve_size(args, end) <= max,
            };
            if fits {
                return self.append(args, end, len);
            }
        }
        self.close()?;
        self.store(args, end)
    }

    /// `pr_cont("\n")`.
    pub(crate) fn newline(&mut self) -> fmt::Result {
        self.cont(format_args!(""), End::Newline)
    }

    /// Ends the open record, if any, as the console prints it: with a newline.
    pub(crate) fn close(&mut self) -> fmt::Result {
        if self.open.take().is_some() {
            self.out.write_char('\n')?;
        }
        Ok(())
    }

    /// A new record holding this piece, cut to the limit if it is longer.
    fn store(&mut self, args: fmt::Arguments<'_>, end: End) -> fmt::Result {
        let text = measure(args);
        let stored = match self.max {
            // vscnprintf() into a buffer of `reserve_size` (capped at the limit) bytes
            // keeps `reserve_size - 1` bytes of format output, the level prefix first.
            Some(max) => text.min(max.saturating_sub(1 + LEVEL_PREFIX)),
            None => text,
        };
        if stored == text {
            self.out.write_fmt(args)?;
        } else {
            write!(Cut::new(&mut *self.out, stored), "{args}")?;
        }
        self.finish(stored, end)
    }

    fn append(&mut self, args: fmt::Arguments<'_>, end: End, len: usize) -> fmt::Result {
        self.out.write_fmt(args)?;
        self.finish(len + measure(args), end)
    }

    fn finish(&mut self, len: usize, end: End) -> fmt::Result {
        match end {
            End::Newline => {
                self.open = None;
                self.out.write_char('\n')
            }
            End::Open => {
                self.open = Some(len);
                Ok(())
            }
        }
    }
}

/// The reserve size `vprintk_store` computes for a piece: its text, the level prefix, the
/// trailing newline if any, and the NUL.
fn reserve_size(args: fmt::Arguments<'_>, end: End) -> usize {
    let newline = usize::from(end == End::Newline);
    LEVEL_PREFIX + measure(args) + newline + 1
}

/// Bytes `args` formats to.
fn measure(args: fmt::Arguments<'_>) -> usize {
    let mut count = Count(0);
    // Counting cannot fail; a Display impl that fails would fail again when written.
    let _ = count.write_fmt(args);
    count.0
}

struct Count(usize);

impl fmt::Write for Count {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Passes through the first `left` bytes written to it (cut back to a character
/// boundary) and drops the rest.
struct Cut<'a> {
    out: &'a mut dyn fmt::Write,
    left: usize,
}

impl<'a> Cut<'a> {
    fn new(out: &'a mut dyn fmt::Write, left: usize) -> Self {
        Self { out, left }
    }
}

impl fmt::Write for Cut<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.left == 0 {
            return Ok(());
        }
        let mut end = s.len().min(self.left);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.left = if end < s.len().min(self.left) {
            // A character straddles the cut: keep nothing after it.
            0
        } else {
            self.left - end
        };
        self.out.write_str(&s[..end])
    }
}
