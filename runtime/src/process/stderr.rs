//! Capturing a child's stderr line by line, without ever making the child wait.

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::ChildStderr;
use tokio::sync::mpsc;

/// Lines longer than this are split.
const MAX_LINE: usize = 64 * 1024;

/// Lines waiting to be read before newer ones are dropped.
const CAPACITY: usize = 1024;

/// A child's stderr, line by line (without the line ending; invalid UTF-8 replaced).
#[derive(Debug)]
pub struct StderrLines {
    rx: mpsc::Receiver<String>,
}

impl StderrLines {
    /// The next line; `None` once the child has closed its stderr and every line was read.
    pub async fn next_line(&mut self) -> Option<String> {
        self.rx.recv().await
    }

    /// The next line if one is waiting.
    pub fn try_next_line(&mut self) -> Option<String> {
        self.rx.try_recv().ok()
    }
}

/// Starts reading `stderr` into the returned lines.
pub(super) fn capture(stderr: ChildStderr, label: Arc<str>) -> StderrLines {
    let (tx, rx) = mpsc::channel(CAPACITY);
    tokio::spawn(pump(stderr, tx, label));
    StderrLines { rx }
}

async fn pump(stderr: ChildStderr, tx: mpsc::Sender<String>, label: Arc<str>) {
    let mut reader = BufReader::with_capacity(8 * 1024, stderr);
    let mut line = Vec::new();
    let mut dropped = 0usize;
    loop {
        let buf = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(buf) => buf,
        };
        let end = memchr::memchr(b'\n', buf).map_or(buf.len(), |i| i + 1);
        let take = end.min(MAX_LINE - line.len());
        line.extend_from_slice(&buf[..take]);
        reader.consume(take);
        if line.last() == Some(&b'\n') || line.len() >= MAX_LINE {
            send(&tx, &mut line, &mut dropped, &label);
        }
    }
    if !line.is_empty() {
        send(&tx, &mut line, &mut dropped, &label);
    }
    if dropped > 0 {
        crate::log::warn_limited!(
            child = &*label,
            dropped,
            "gatehouse: stderr lines of a child were dropped: nobody read them"
        );
    }
}

fn send(tx: &mpsc::Sender<String>, line: &mut Vec<u8>, dropped: &mut usize, label: &str) {
    let mut text = &line[..];
    if let [rest @ .., b'\n'] = text {
        text = rest;
    }
    if let [rest @ .., b'\r'] = text {
        text = rest;
    }
    let text = String::from_utf8_lossy(text).into_owned();
    line.clear();
    match tx.try_send(text) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            if *dropped == 0 {
                crate::log::warn_limited!(
                    child = label,
                    "gatehouse: dropping stderr lines of a child: nobody reads them"
                );
            }
            *dropped += 1;
        }
        // Nobody will read them: keep draining, so the child never blocks on its stderr.
        Err(mpsc::error::TrySendError::Closed(_)) => {}
    }
}
