//! `stdio_frame`: the stdio transport's frame reader, both framings, sync and async, with
//! arbitrary bytes cut at arbitrary read boundaries.
//!
//! The reader is crate-private in the runtime, so its source file is compiled into this crate
//! as it is (`runtime/src/stdio/frame.rs`), beside a copy of the two-variant `Framing` it
//! names as `super::Framing`.
//!
//! Input: a header byte (framing, sync or async, the size limit), read sizes, then the
//! stream. What the reader returns must be what [`reference`] — a direct reading of the
//! wire format documented in `runtime/src/stdio/mod.rs` — returns for the same stream, whatever
//! the read boundaries: the same frames, then the same end (clean, truncated, or too large).
//! Every frame is within the limit, and length-prefixed frames encode back to the bytes
//! consumed.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

#[allow(
    dead_code,
    unreachable_pub,
    reason = "compiled from the runtime's source as it is"
)]
#[path = "../../runtime/src/stdio/frame.rs"]
mod frame;

use frame::{encode, AsyncFrameReader, FrameError, FrameReader};

/// The runtime's `stdio::Framing`, whose non-exhaustive attribute would not let `frame.rs`
/// match on it from another crate.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Framing {
    Lines,
    LengthPrefixed,
}

/// How a stream ended, as the reader reports it.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Clean,
    Truncated(usize),
    TooLarge(usize),
    Io,
}

/// Limits small enough that frames cross them often.
const LIMITS: [usize; 8] = [0, 1, 2, 5, 16, 64, 300, 4096];

/// The target: see the module's documentation.
pub fn run(data: &[u8]) {
    let Some((&header, rest)) = data.split_first() else {
        return;
    };
    let framing = if header & 1 == 0 {
        Framing::Lines
    } else {
        Framing::LengthPrefixed
    };
    let asynchronous = header & 2 != 0;
    let max = LIMITS[usize::from(header >> 2) % LIMITS.len()];
    // Read sizes: the bytes before the first 0xff, each 0 to 254 (0 is a read interrupted).
    let (sizes, stream) = match rest.iter().position(|&b| b == 0xff) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (&[][..], rest),
    };
    let reader = Chunks {
        data: stream,
        sizes,
        next: 0,
    };
    let (frames, end) = if asynchronous {
        read_async(reader, framing, max)
    } else {
        read_sync(reader, framing, max)
    };

    let (expected_frames, expected_end) = reference(stream, framing, max);
    assert_eq!(frames, expected_frames, "frames of {framing:?} (max {max})");
    assert_eq!(end, expected_end, "end of {framing:?} (max {max})");
    assert!(
        frames.iter().all(|f| f.len() <= max),
        "a frame over the limit"
    );

    let mut encoded = Vec::new();
    for f in &frames {
        if let Err(e) = encode(framing, f, &mut encoded) {
            panic!("a frame that was read cannot be written: {e}");
        }
    }
    match framing {
        Framing::LengthPrefixed => assert!(stream.starts_with(&encoded), "re-encoding differs"),
        // Lines may have carried a `\r` and blank lines; the frames still read back the same
        // (a frame ending in `\r` would lose it, and is no JSON a writer sends).
        Framing::Lines if frames.iter().all(|f| !f.ends_with(b"\r")) => {
            let (again, end) = reference(&encoded, framing, max);
            assert_eq!(again, frames, "re-encoded lines read differently");
            assert_eq!(end, End::Clean);
        }
        Framing::Lines => {}
    }
}

fn read_sync(reader: Chunks<'_>, framing: Framing, max: usize) -> (Vec<Vec<u8>>, End) {
    let mut reader = FrameReader::new(reader, framing, max);
    let mut frames = Vec::new();
    loop {
        match reader.next_borrowed() {
            Ok(Some(f)) => frames.push(f.to_vec()),
            other => return (frames, end(other.map(drop))),
        }
    }
}

fn read_async(reader: Chunks<'_>, framing: Framing, max: usize) -> (Vec<Vec<u8>>, End) {
    let mut reader = AsyncFrameReader::new(reader, framing, max);
    let mut frames = Vec::new();
    loop {
        // `Chunks` is always ready, so one poll finishes each call.
        let mut next = std::pin::pin!(reader.next());
        let mut cx = Context::from_waker(Waker::noop());
        let Poll::Ready(result) = next.as_mut().poll(&mut cx) else {
            panic!("the reader waits on a stream that is always ready");
        };
        match result {
            Ok(Some(f)) => frames.push(f),
            other => return (frames, end(other.map(drop))),
        }
    }
}

fn end(result: Result<(), FrameError>) -> End {
    match result {
        Ok(()) => End::Clean,
        Err(FrameError::Truncated { bytes }) => End::Truncated(bytes),
        Err(FrameError::TooLarge { limit }) => End::TooLarge(limit),
        Err(FrameError::Io(_)) => End::Io,
    }
}

/// The wire format read directly from the whole stream.
fn reference(stream: &[u8], framing: Framing, max: usize) -> (Vec<Vec<u8>>, End) {
    let mut frames = Vec::new();
    let mut rest = stream;
    match framing {
        Framing::Lines => loop {
            let Some(newline) = rest.iter().position(|&b| b == b'\n') else {
                // An unfinished line is refused as too large once it passes the limit and one
                // byte (room for the `\r` of a `\r\n`), else reported as truncated, unless it
                // is only whitespace.
                let end = if rest.len() > max + 1 {
                    End::TooLarge(max)
                } else if rest.iter().all(u8::is_ascii_whitespace) {
                    End::Clean
                } else {
                    End::Truncated(rest.len())
                };
                return (frames, end);
            };
            let mut line = &rest[..newline];
            rest = &rest[newline + 1..];
            if let [before @ .., b'\r'] = line {
                line = before;
            }
            if line.len() > max {
                return (frames, End::TooLarge(max));
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                frames.push(line.to_vec());
            }
        },
        Framing::LengthPrefixed => loop {
            let Some((prefix, body)) = rest.split_first_chunk::<4>() else {
                let end = if rest.is_empty() {
                    End::Clean
                } else {
                    End::Truncated(rest.len())
                };
                return (frames, end);
            };
            let len = u32::from_be_bytes(*prefix) as usize;
            if len > max {
                return (frames, End::TooLarge(max));
            }
            if body.len() < len {
                return (frames, End::Truncated(rest.len()));
            }
            frames.push(body[..len].to_vec());
            rest = &body[len..];
        },
    }
}

/// A stream that hands out its bytes in the sizes the input chose (then all at once), with a
/// size of 0 standing for a read that was interrupted.
struct Chunks<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    next: usize,
}

impl Chunks<'_> {
    fn take(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let size = match self.sizes.get(self.next) {
            Some(0) => {
                self.next += 1;
                return Err(io::ErrorKind::Interrupted.into());
            }
            Some(&size) => usize::from(size),
            None => usize::MAX,
        };
        self.next += 1;
        let n = size.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl io::Read for Chunks<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.take(out)
    }
}

impl tokio::io::AsyncRead for Chunks<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let n = match this.take(buf.initialize_unfilled()) {
            Ok(n) => n,
            Err(e) => return Poll::Ready(Err(e)),
        };
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}
