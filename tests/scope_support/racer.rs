//! A local process racing the core, played by a thread: it swaps a path the core is using
//! between what it is and a symbolic link out of the scope, as fast as it can, until stopped.
//! Shared by `tests/scope_race.rs`, `plugins/fs/tests/scope.rs` and
//! `examples/notes/tests/race.rs` (through `#[path]`).

#![allow(dead_code, reason = "each test crate uses part of it")]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// How many times each test repeats the command under attack.
pub(crate) const ITERATIONS: usize = 10_000;

/// A thread swapping a path back and forth; stopped (and joined) on drop.
pub(crate) struct Racer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u64>>,
}

impl Racer {
    /// Swaps the regular file `victim` with a symbolic link to `outside` and back, each swap
    /// one atomic rename, so `victim` always exists; the file comes back holding `contents`.
    #[cfg(unix)]
    pub(crate) fn file(victim: &Path, outside: &Path, contents: &'static str) -> Self {
        let (victim, outside) = (victim.to_owned(), outside.to_owned());
        let link = beside(&victim, "racer-link");
        let file = beside(&victim, "racer-file");
        let mut turn = 0;
        Self::spawn(move || {
            turn += 1;
            let _ = std::os::unix::fs::symlink(&outside, &link);
            let _ = fs::rename(&link, &victim);
            hold(turn);
            let _ = fs::write(&file, contents);
            let _ = fs::rename(&file, &victim);
            hold(turn);
        })
    }

    /// Swaps the folder `victim` with a symbolic link to the folder `outside` and back: the
    /// folder is moved aside, the link takes its name, then the folder comes back.
    #[cfg(unix)]
    pub(crate) fn folder(victim: &Path, outside: &Path) -> Self {
        let (victim, outside) = (victim.to_owned(), outside.to_owned());
        let parked = beside(&victim, "racer-parked");
        let mut turn = 0;
        Self::spawn(move || {
            turn += 1;
            if fs::rename(&victim, &parked).is_ok() {
                let _ = std::os::unix::fs::symlink(&outside, &victim);
                hold(turn);
                let _ = fs::remove_file(&victim);
                let _ = fs::rename(&parked, &victim);
                hold(turn);
            }
        })
    }

    /// Runs `step` in a loop on a thread of its own; returns once it has run once.
    pub(crate) fn spawn(mut step: impl FnMut() + Send + 'static) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicBool::new(false));
        let (flag, first) = (Arc::clone(&stop), Arc::clone(&started));
        let thread = std::thread::spawn(move || {
            let mut swaps = 0;
            while !flag.load(Ordering::Relaxed) {
                step();
                swaps += 1;
                first.store(true, Ordering::Release);
                // Two cores are shared with the core under attack: leave it its turns.
                std::thread::yield_now();
            }
            swaps
        });
        while !started.load(Ordering::Acquire) && !thread.is_finished() {
            std::thread::yield_now();
        }
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the thread; returns how many swaps it made.
    pub(crate) fn stop(mut self) -> u64 {
        self.halt()
    }

    fn halt(&mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .map_or(0, |thread| thread.join().unwrap_or(0))
    }
}

impl Drop for Racer {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Keeps the current state a while, longer on some turns than others, so the swaps land at
/// every point of the core's work rather than in step with it.
fn hold(turn: u32) {
    for _ in 0..[0, 4, 32, 256][turn as usize % 4] {
        std::hint::spin_loop();
    }
}

/// `victim`'s sibling with `suffix` added to its name.
fn beside(victim: &Path, suffix: &str) -> PathBuf {
    let mut name = victim.file_name().unwrap_or_default().to_owned();
    name.push(".");
    name.push(suffix);
    victim.with_file_name(name)
}

/// A fresh folder under the system's temporary directory, canonical, removed on drop.
pub(crate) struct Sandbox(PathBuf);

impl Sandbox {
    /// `<temp>/gatehouse-race-<what>-<pid>-<n>`.
    pub(crate) fn new(what: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "gatehouse-race-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create the sandbox");
        Self(fs::canonicalize(&path).expect("resolve the sandbox"))
    }

    /// The folder.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside it.
    pub(crate) fn join(&self, relative: &str) -> PathBuf {
        self.0.join(relative)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The names in `folder`, sorted.
pub(crate) fn names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
