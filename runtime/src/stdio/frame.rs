//! Framing: cutting a byte stream into JSON texts, and writing them back.
//!
//! The [`Decoder`] holds no I/O, so the core (tokio) and the child-side client (std threads)
//! share it. It enforces the size limit while reading: a line without a newline, or a length
//! prefix over the limit, is refused before more than `max + READ_CHUNK` bytes are held.

use std::io;
use std::ops::Range;

use super::Framing;

/// The most read from a stream at once (also how far past the limit the buffer may grow).
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// Bytes of a length prefix.
const PREFIX: usize = 4;

/// Why a stream could not be read as frames.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    /// A message is longer than the limit; the stream is abandoned.
    #[error("a message is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The stream ended inside a message.
    #[error("the stream ended inside a message: {bytes} bytes discarded")]
    Truncated {
        /// How many bytes of the unfinished message were discarded.
        bytes: usize,
    },
    /// Reading failed.
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
}

/// Cuts frames out of the bytes read so far.
pub(crate) struct Decoder {
    framing: Framing,
    max: usize,
    /// `buf[start..end]` is read and not yet consumed; `buf[end..]` is room to read into. The
    /// whole vector stays initialised, so reads need no zeroing.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Lines: how much of `buf[start..end]` is known to hold no newline.
    searched: usize,
}

impl Decoder {
    pub(crate) fn new(framing: Framing, max: usize) -> Self {
        Self {
            framing,
            max,
            buf: Vec::new(),
            start: 0,
            end: 0,
            searched: 0,
        }
    }

    /// The next complete frame, if the buffer holds one.
    pub(crate) fn frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        Ok(self.next_range()?.map(|range| self.buf[range].to_vec()))
    }

    /// Where the next complete frame lies in the buffer, if it holds one. The range stays valid
    /// until the next call of [`room`](Self::room).
    fn next_range(&mut self) -> Result<Option<Range<usize>>, FrameError> {
        match self.framing {
            Framing::Lines => self.line(),
            Framing::LengthPrefixed => self.prefixed(),
        }
    }

    fn line(&mut self) -> Result<Option<Range<usize>>, FrameError> {
        loop {
            let data = &self.buf[self.start..self.end];
            let Some(at) = memchr::memchr(b'\n', &data[self.searched..]) else {
                self.searched = data.len();
                // One byte of slack for the `\r` of a `\r\n` that has not arrived whole.
                if data.len() > self.max.saturating_add(1) {
                    return Err(FrameError::TooLarge { limit: self.max });
                }
                return Ok(None);
            };
            let newline = self.searched + at;
            let mut line = &data[..newline];
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            let too_large = line.len() > self.max;
            let blank = line.iter().all(u8::is_ascii_whitespace);
            let frame = self.start..self.start + line.len();
            self.start += newline + 1;
            self.searched = 0;
            if too_large {
                return Err(FrameError::TooLarge { limit: self.max });
            }
            // Blank lines (a stray `print()`) carry nothing; skip them.
            if !blank {
                return Ok(Some(frame));
            }
        }
    }

    fn prefixed(&mut self) -> Result<Option<Range<usize>>, FrameError> {
        let data = &self.buf[self.start..self.end];
        let Some(len) = self.announced() else {
            return Ok(None);
        };
        if len > self.max {
            return Err(FrameError::TooLarge { limit: self.max });
        }
        if data.len() < PREFIX + len {
            return Ok(None);
        }
        let frame = self.start + PREFIX..self.start + PREFIX + len;
        self.start += PREFIX + len;
        Ok(Some(frame))
    }

    /// Whether a whole frame (or a line to skip) is buffered: [`frame`](Self::frame) would
    /// not need more input.
    fn has_frame(&self) -> bool {
        let data = &self.buf[self.start..self.end];
        match self.framing {
            Framing::Lines => {
                memchr::memchr(b'\n', &data[self.searched.min(data.len())..]).is_some()
            }
            Framing::LengthPrefixed => self
                .announced()
                .is_some_and(|len| len > self.max || data.len() >= PREFIX + len),
        }
    }

    /// The length the next prefix announces, once all of it has arrived.
    fn announced(&self) -> Option<usize> {
        let data = self.buf.get(self.start..self.end)?;
        let prefix: [u8; PREFIX] = data.get(..PREFIX)?.try_into().ok()?;
        usize::try_from(u32::from_be_bytes(prefix)).ok()
    }

    /// Room to read into, after what is buffered. Call [`filled`](Self::filled) with what was
    /// read into it.
    pub(crate) fn room(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            self.searched = 0;
            // Do not keep a huge buffer around after a huge message.
            if self.buf.len() > 4 * READ_CHUNK {
                self.buf = Vec::new();
            }
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        // A message whose length is known is read in as few reads as possible; otherwise a
        // chunk at a time. The buffer grows by doubling, but never past the limit and a chunk.
        let wanted = match self.framing {
            Framing::LengthPrefixed => self
                .announced()
                .filter(|&len| len <= self.max)
                .map_or(READ_CHUNK, |len| {
                    (PREFIX + len).saturating_sub(self.end).max(1)
                }),
            Framing::Lines => READ_CHUNK,
        };
        if self.buf.len() - self.end < wanted.min(READ_CHUNK) {
            let limit = self.max.saturating_add(PREFIX + 1 + READ_CHUNK);
            let target = (self.buf.len() * 2).min(limit).max(self.end + wanted);
            self.buf.reserve_exact(target - self.buf.len());
            self.buf.resize(target, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Records that `n` bytes were read into [`room`](Self::room).
    pub(crate) fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// The stream ended: fine between messages, an error inside one.
    pub(crate) fn finish(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let rest = &self.buf[self.start..self.end];
        let bytes = rest.len();
        self.start = self.end;
        let nothing = match self.framing {
            Framing::Lines => rest.iter().all(u8::is_ascii_whitespace),
            Framing::LengthPrefixed => bytes == 0,
        };
        if nothing {
            Ok(None)
        } else {
            Err(FrameError::Truncated { bytes })
        }
    }

    /// Bytes held, read but not yet a whole frame.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.end - self.start
    }

    /// The buffer's size, for tests of the memory bound.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }
}

/// Reads frames from a blocking stream.
pub(crate) struct FrameReader<R> {
    inner: R,
    decoder: Decoder,
}

impl<R: io::Read> FrameReader<R> {
    pub(crate) fn new(inner: R, framing: Framing, max: usize) -> Self {
        Self {
            inner,
            decoder: Decoder::new(framing, max),
        }
    }

    /// The next frame; `None` at the end of the stream.
    #[cfg(test)]
    pub(crate) fn next(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        Ok(self.next_borrowed()?.map(<[u8]>::to_vec))
    }

    /// Whether the next frame is already read: [`next_borrowed`](Self::next_borrowed) would
    /// not wait for input.
    pub(crate) fn has_frame(&self) -> bool {
        self.decoder.has_frame()
    }

    /// The next frame, borrowed from the read buffer (no copy); `None` at the end of the stream.
    pub(crate) fn next_borrowed(&mut self) -> Result<Option<&[u8]>, FrameError> {
        loop {
            if let Some(range) = self.decoder.next_range()? {
                return Ok(Some(&self.decoder.buf[range]));
            }
            match self.inner.read(self.decoder.room()) {
                Ok(0) => {
                    self.decoder.finish()?;
                    return Ok(None);
                }
                Ok(n) => self.decoder.filled(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Reads frames from a tokio stream.
#[cfg(feature = "stdio")]
pub(crate) struct AsyncFrameReader<R> {
    inner: R,
    decoder: Decoder,
}

#[cfg(feature = "stdio")]
impl<R: tokio::io::AsyncRead + Unpin> AsyncFrameReader<R> {
    pub(crate) fn new(inner: R, framing: Framing, max: usize) -> Self {
        Self {
            inner,
            decoder: Decoder::new(framing, max),
        }
    }

    /// The next frame; `None` at the end of the stream. Cancel-safe: nothing read is lost if
    /// the future is dropped.
    pub(crate) async fn next(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        use tokio::io::AsyncReadExt;
        loop {
            if let Some(frame) = self.decoder.frame()? {
                return Ok(Some(frame));
            }
            match self.inner.read(self.decoder.room()).await {
                Ok(0) => return self.decoder.finish(),
                Ok(n) => self.decoder.filled(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Writes `frame` as `framing` says into `out`.
///
/// A line must not contain a raw newline. JSON has none inside strings (they are escaped), so one
/// outside a string is whitespace and is written as a space: a payload that reached the core
/// with newlines between its tokens still goes out as one line.
pub(crate) fn encode(framing: Framing, frame: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    match framing {
        Framing::Lines => {
            let from = out.len();
            out.extend_from_slice(frame);
            if memchr::memchr(b'\n', frame).is_some() {
                for b in &mut out[from..] {
                    if *b == b'\n' {
                        *b = b' ';
                    }
                }
            }
            out.push(b'\n');
        }
        Framing::LengthPrefixed => {
            let len = u32::try_from(frame.len()).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a message of 4 GiB or more cannot be length-prefixed",
                )
            })?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(frame);
        }
    }
    Ok(())
}

/// Starts a frame at the end of `out`, for writing its JSON in place: leaves room for the length
/// prefix. Returns where the JSON starts; finish with [`end`].
pub(crate) fn begin(framing: Framing, out: &mut Vec<u8>) -> usize {
    if framing == Framing::LengthPrefixed {
        out.extend_from_slice(&[0; PREFIX]);
    }
    out.len()
}

/// Finishes the frame whose JSON starts at `start` (from [`begin`]) as [`encode`] would have
/// written it, without copying it.
pub(crate) fn end(framing: Framing, out: &mut Vec<u8>, start: usize) -> io::Result<()> {
    match framing {
        Framing::Lines => {
            if let Some(json) = out.get_mut(start..) {
                if memchr::memchr(b'\n', json).is_some() {
                    json.iter_mut()
                        .filter(|b| **b == b'\n')
                        .for_each(|b| *b = b' ');
                }
            }
            out.push(b'\n');
        }
        Framing::LengthPrefixed => {
            let len = out.len().saturating_sub(start);
            let len = u32::try_from(len).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a message of 4 GiB or more cannot be length-prefixed",
                )
            })?;
            if let Some(prefix) = out.get_mut(start.saturating_sub(PREFIX)..start) {
                prefix.copy_from_slice(&len.to_be_bytes());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Hands out its bytes a few at a time.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn frames(framing: Framing, data: &[u8], step: usize, max: usize) -> Vec<Vec<u8>> {
        let mut reader = FrameReader::new(Trickle { data, step }, framing, max);
        let mut out = Vec::new();
        while let Some(frame) = reader.next().expect("frames") {
            out.push(frame);
        }
        out
    }

    #[test]
    fn lines_are_cut_at_newlines_whatever_the_reads() {
        let data = b"{\"a\":1}\n{\"b\":2}\r\n\n  \r\n[3]\n";
        for step in [1, 2, 3, 7, 100] {
            assert_eq!(
                frames(Framing::Lines, data, step, 64),
                vec![
                    b"{\"a\":1}".to_vec(),
                    b"{\"b\":2}".to_vec(),
                    b"[3]".to_vec()
                ],
                "step {step}"
            );
        }
    }

    #[test]
    fn prefixed_frames_round_trip_with_newlines_inside() {
        let mut data = Vec::new();
        let messages: [&[u8]; 3] = [b"{\"a\":\n1}", b"", &[b'x'; 5000]];
        for m in messages {
            encode(Framing::LengthPrefixed, m, &mut data).expect("encodes");
        }
        for step in [1, 3, 4096] {
            assert_eq!(
                frames(Framing::LengthPrefixed, &data, step, 5000),
                messages.iter().map(|m| m.to_vec()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn frames_written_in_place_match_encoded_ones() {
        for framing in [Framing::Lines, Framing::LengthPrefixed] {
            for json in [&b"{\"a\":\n[1,\r\n2]}"[..], b"[]", b""] {
                let mut expected = b"before".to_vec();
                encode(framing, json, &mut expected).expect("encodes");
                let mut out = b"before".to_vec();
                let start = begin(framing, &mut out);
                out.extend_from_slice(json);
                end(framing, &mut out, start).expect("ends");
                assert_eq!(out, expected, "{framing:?}");
            }
        }
    }

    #[test]
    fn a_reader_knows_whether_the_next_frame_has_arrived() {
        for framing in [Framing::Lines, Framing::LengthPrefixed] {
            let mut data = Vec::new();
            for m in [&b"[1]"[..], b"[2]", b"[3"] {
                encode(framing, m, &mut data).expect("encodes");
            }
            data.truncate(data.len() - 1); // the last one is cut short
            let mut reader = FrameReader::new(data.as_slice(), framing, 64);
            assert!(!reader.has_frame(), "nothing read yet");
            assert_eq!(reader.next_borrowed().expect("a frame"), Some(&b"[1]"[..]));
            assert!(reader.has_frame(), "[2] came in the same read");
            assert_eq!(reader.next_borrowed().expect("a frame"), Some(&b"[2]"[..]));
            assert!(!reader.has_frame(), "{framing:?}: [3 is incomplete");
        }
    }

    #[test]
    fn encoded_lines_never_hold_a_raw_newline() {
        let mut out = Vec::new();
        encode(Framing::Lines, b"{\"a\":\n[1,\r\n2]}", &mut out).expect("encodes");
        assert_eq!(out, b"{\"a\": [1,\r 2]}\n");
        let value: serde_json::Value = serde_json::from_slice(&out).expect("still JSON");
        assert_eq!(value, serde_json::json!({"a": [1, 2]}));
    }

    #[test]
    fn a_line_at_the_limit_passes_and_one_over_is_refused() {
        let fits = [vec![b'x'; 10], b"\r\n".to_vec()].concat();
        assert_eq!(frames(Framing::Lines, &fits, 3, 10), vec![vec![b'x'; 10]]);
        let over = [vec![b'x'; 11], b"\n".to_vec()].concat();
        let mut reader = FrameReader::new(over.as_slice(), Framing::Lines, 10);
        assert!(matches!(
            reader.next(),
            Err(FrameError::TooLarge { limit: 10 })
        ));
    }

    #[test]
    fn an_endless_line_is_refused_within_a_chunk_of_the_limit() {
        let max = 100_000;
        let mut reader = FrameReader::new(io::repeat(b'x'), Framing::Lines, max);
        assert!(matches!(reader.next(), Err(FrameError::TooLarge { .. })));
        assert!(reader.decoder.held() <= max + 1 + READ_CHUNK);
        assert!(reader.decoder.capacity() <= max + 1 + 2 * READ_CHUNK);
    }

    #[test]
    fn a_huge_prefix_is_refused_before_its_body_is_read() {
        let data = [0xff, 0xff, 0xff, 0xff, b'x'];
        let mut reader = FrameReader::new(&data[..], Framing::LengthPrefixed, 1 << 20);
        assert!(matches!(
            reader.next(),
            Err(FrameError::TooLarge { limit: 1_048_576 })
        ));
        assert!(reader.decoder.capacity() <= READ_CHUNK + PREFIX);
    }

    #[test]
    fn the_end_inside_a_message_is_reported() {
        let mut reader = FrameReader::new(&b"[1]\n{\"partial\""[..], Framing::Lines, 64);
        assert_eq!(reader.next().expect("a frame"), Some(b"[1]".to_vec()));
        assert!(matches!(
            reader.next(),
            Err(FrameError::Truncated { bytes: 10 })
        ));
        let mut reader = FrameReader::new(&[0, 0, 0, 9, b'{'][..], Framing::LengthPrefixed, 64);
        assert!(matches!(
            reader.next(),
            Err(FrameError::Truncated { bytes: 5 })
        ));
        // Trailing whitespace is not a message.
        let mut reader = FrameReader::new(&b"[1]\n \r"[..], Framing::Lines, 64);
        assert!(reader.next().expect("a frame").is_some());
        assert!(reader.next().expect("the end").is_none());
    }

    #[test]
    fn the_buffer_shrinks_after_a_huge_message() {
        let big = vec![b'x'; 1 << 20];
        let mut data = big.clone();
        data.push(b'\n');
        data.extend_from_slice(b"[1]\n");
        let mut reader = FrameReader::new(data.as_slice(), Framing::Lines, 2 << 20);
        assert_eq!(reader.next().expect("big").map(|f| f.len()), Some(1 << 20));
        assert_eq!(reader.next().expect("small"), Some(b"[1]".to_vec()));
        let _ = reader.next();
        assert!(reader.decoder.capacity() <= 4 * READ_CHUNK);
    }

    #[cfg(feature = "stdio")]
    #[tokio::test]
    async fn the_async_reader_refuses_an_endless_line() {
        let mut reader = AsyncFrameReader::new(tokio::io::repeat(b'x'), Framing::Lines, 10_000);
        assert!(matches!(
            reader.next().await,
            Err(FrameError::TooLarge { limit: 10_000 })
        ));
        let mut data = Vec::new();
        encode(Framing::LengthPrefixed, b"[1]", &mut data).expect("encodes");
        let mut reader = AsyncFrameReader::new(data.as_slice(), Framing::LengthPrefixed, 10);
        assert_eq!(reader.next().await.expect("a frame"), Some(b"[1]".to_vec()));
        assert!(reader.next().await.expect("the end").is_none());
    }
}
