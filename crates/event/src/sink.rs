//! The event-sink interface and the EVE JSON-lines sink.

use std::io::{self, Write};

use crate::Event;

/// Where events go. Every output (EVE file, and later the store, the alert pipeline and the
/// live bus) implements this one interface.
pub trait EventSink {
    /// Accepts one event.
    fn emit(&mut self, event: &Event<'_>) -> io::Result<()>;
    /// Pushes buffered events out.
    fn flush(&mut self) -> io::Result<()>;
}

/// Writes each event as one line of JSON.
#[derive(Debug)]
pub struct EveWriter<W: Write> {
    out: W,
    line: Vec<u8>,
}

impl<W: Write> EveWriter<W> {
    /// A sink writing to `out` (wrap files in a `BufWriter`).
    pub fn new(out: W) -> Self {
        EveWriter {
            out,
            line: Vec::with_capacity(1024),
        }
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// The underlying writer, borrowed.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }
}

impl<W: Write> EventSink for EveWriter<W> {
    fn emit(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.line.clear();
        event.write_json(&mut self.line);
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
