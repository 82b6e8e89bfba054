//! Reading a 4 KiB file through a `PathScope` against `std::fs::read` of the same path, in the
//! same run (issue #10: target ≤ 1.5×).
//!
//! - `std_fs_read`: `std::fs::read(path)`, no scope: the floor.
//! - `scope_read`: `scope.read(path)`: the path resolved beneath the scope's directory handle,
//!   matched against its patterns, opened through the handle and read as `std::fs::read` reads.
//! - `scope_open_read`: `scope.open(path)` then `File::read_to_end` (which also asks for the
//!   file's position: one more system call than `std::fs::read`).
//! - `check_then_read`: the racy way commands worked before: `scope.check(path)` then
//!   `std::fs::read` of the checked path.
//!
//! Each at two depths: `notes/note.md` beneath a root `notes` (the notes example's
//! `$NOTES/*.md`), and `notes/a/b/c/note.md` (`$NOTES/**`, three folders walked). The scopes
//! deny `$NOTES/private/**`, so every call matches a deny pattern and an allow pattern. See
//! `BENCHMARKS.md` for the figures.

use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use gatehouse::{BaseDirs, PathScope};

/// A folder under the temporary directory with `notes/note.md` and `notes/a/b/c/note.md`,
/// 4 KiB each; removed on drop.
struct Fixture {
    root: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let root =
            std::env::temp_dir().join(format!("gatehouse-bench-scope-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("notes/a/b/c")).expect("mkdir");
        let root = std::fs::canonicalize(&root).expect("resolve");
        let text = vec![b'x'; 4096];
        for path in ["notes/note.md", "notes/a/b/c/note.md"] {
            std::fs::write(root.join(path), &text).expect("write");
        }
        Self { root }
    }

    fn scope(&self, allow: &str) -> PathScope {
        let dirs = BaseDirs::new().with("NOTES", self.root.join("notes"));
        PathScope::new([allow], ["$NOTES/private/**"], &dirs).expect("valid scope")
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn read_through(scope: &PathScope, path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    scope
        .open(path)
        .expect("allowed")
        .read_to_end(&mut bytes)
        .expect("read");
    bytes
}

fn read_4k(c: &mut Criterion) {
    let fixture = Fixture::new();
    for (label, relative, allow) in [
        ("flat", "notes/note.md", "$NOTES/*.md"),
        ("nested", "notes/a/b/c/note.md", "$NOTES/**"),
    ] {
        let path = fixture.root.join(relative);
        let scope = fixture.scope(allow);
        assert_eq!(read_through(&scope, &path).len(), 4096);
        let mut group = c.benchmark_group(format!("scope_read_4k/{label}"));
        group.bench_function("std_fs_read", |b| {
            b.iter(|| std::fs::read(black_box(&path)).expect("read"))
        });
        group.bench_function("scope_read", |b| {
            b.iter(|| scope.read(black_box(&path)).expect("allowed"))
        });
        group.bench_function("scope_open_read", |b| {
            b.iter(|| read_through(&scope, black_box(&path)))
        });
        group.bench_function("check_then_read", |b| {
            b.iter(|| std::fs::read(scope.check(black_box(&path)).expect("allowed")).expect("read"))
        });
        group.finish();
    }
}

criterion_group!(benches, read_4k);
criterion_main!(benches);
