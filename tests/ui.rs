//! Compile-time behaviour of `#[command]` and `commands![]`: what must compile, and the errors
//! every misuse gets. Regenerate the expected output with `TRYBUILD=overwrite cargo test --test ui`.
//!
//! The expected `.stderr` files are rustc's messages byte for byte, and those change between
//! compiler releases. They were written with **Rust 1.95 stable**; on any other compiler the test
//! is ignored (as thiserror and serde do), and `.ci/run` refuses to run on another one, reading
//! the version from the attribute below. After a toolchain upgrade: overwrite the files, review
//! the diff, and change the version here.

#[rustversion::attr(
    not(stable(1.95)),
    ignore = "the expected messages are rustc 1.95's: see tests/ui.rs"
)]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
