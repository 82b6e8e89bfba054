//! A plugin that misbehaves on purpose, for the tests: whatever it does must not cost the core,
//! or any other plugin, anything.
//!
//! ```text
//! faulty-plugin flood          valid requests as fast as the pipe takes them, forever
//! faulty-plugin garbage        lines that are not JSON-RPC (or not JSON, or not UTF-8), then one
//!                              line longer than any limit
//! faulty-plugin oversize       one line longer than any limit; exits when a write fails
//! faulty-plugin partial-line   half a request with no newline, then silence
//! faulty-plugin never-read     many requests, and never a look at the replies
//! faulty-plugin crash          a few requests, half of another, then abort()
//! ```
//!
//! It speaks the wire by hand (no client), since the point is to get it wrong. Apart from
//! `never-read`, it drains its stdin on a thread so that only the fault named is the fault.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str =
    "usage: faulty-plugin flood|garbage|oversize|partial-line|never-read|crash [--oversize BYTES]";

/// How large the oversize line of `garbage` is, unless `--oversize` says otherwise: more than
/// the default `max_message_bytes` (16 MiB).
const DEFAULT_OVERSIZE: usize = 17 << 20;

/// Reads and discards stdin on its own thread; exits the process when the core closes it.
fn drain_stdin() {
    std::thread::spawn(|| {
        wait_for_eof();
        std::process::exit(0);
    });
}

/// Sleeps until killed: the core kills a plugin that has not exited some time after the core
/// closed its stdin.
fn idle_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Reads stdin until it closes, then returns.
fn wait_for_eof() {
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 64 * 1024];
    while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
}

fn request(id: u64, method: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{{}}}}"#)
}

fn flood(out: &mut impl Write) -> std::io::Result<()> {
    drain_stdin();
    let methods = ["kv_list", "host_info", "kv_set", "no_such_command"];
    for id in 1u64.. {
        let method = methods[(id % 4) as usize];
        writeln!(out, "{}", request(id, method))?;
    }
    Ok(())
}

fn garbage(out: &mut impl Write, oversize: usize) -> std::io::Result<()> {
    drain_stdin();
    // Once the core stops reading (it kills a plugin over the limit), writes fail; wait for
    // the kill rather than exit, so that the core's kill is what ends this process.
    if let Err(e) = junk_then_oversize(out, oversize) {
        eprintln!("faulty-plugin garbage: {e}");
    }
    idle_forever()
}

fn junk_then_oversize(out: &mut impl Write, oversize: usize) -> std::io::Result<()> {
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":9,"method":"kv_get","params":{{"key":{}1{}}}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let lines: [&[u8]; 10] = [
        b"hello, core",
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":",
        b"\xff\xfe not utf-8 \xc3\x28",
        b"[]",
        b"{\"jsonrpc\":\"1.0\",\"id\":2,\"method\":\"kv_list\"}",
        b"{\"jsonrpc\":\"2.0\",\"id\":{\"an\":\"object\"},\"method\":\"kv_list\"}",
        b"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":42}",
        b"{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":\"a reply to nothing\"}",
        b"\0\0\0\x10\x01\x02",
        deep.as_bytes(),
    ];
    for round in 0..100 {
        for line in lines {
            out.write_all(line)?;
            out.write_all(b"\n")?;
        }
        if round % 10 == 0 {
            out.flush()?;
        }
    }
    oversize_line(out, oversize)
}

/// One line of `size` bytes and more (longer than any limit), written in pieces.
fn oversize_line(out: &mut impl Write, size: usize) -> std::io::Result<()> {
    let chunk = vec![b'x'; 64 * 1024];
    let mut left = size;
    out.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"kv_get\",\"params\":{\"key\":\"")?;
    while left > 0 {
        let n = left.min(chunk.len());
        out.write_all(&chunk[..n])?;
        left -= n;
    }
    out.write_all(b"\"}}\n")?;
    out.flush()
}

/// An oversize line at once; the process exits as soon as a write fails (the core stopped
/// reading), which races with the core's kill.
fn oversize(out: &mut impl Write, size: usize) -> std::io::Result<()> {
    drain_stdin();
    oversize_line(out, size)?;
    idle_forever()
}

fn partial_line(out: &mut impl Write) -> std::io::Result<()> {
    out.write_all(br#"{"jsonrpc":"2.0","id":1,"method":"kv_li"#)?;
    out.flush()?;
    wait_for_eof();
    Ok(())
}

fn never_read(out: &mut impl Write) -> std::io::Result<()> {
    // Each reply to `host_info` is a few hundred bytes: far more than a pipe and any outbound
    // queue hold. Stdin is never read.
    for id in 1..=200_000u64 {
        writeln!(out, "{}", request(id, "host_info"))?;
    }
    out.flush()?;
    idle_forever()
}

fn crash(out: &mut impl Write) -> std::io::Result<()> {
    drain_stdin();
    for id in 1..=20u64 {
        writeln!(out, "{}", request(id, "kv_list"))?;
    }
    out.write_all(br#"{"jsonrpc":"2.0","id":21,"method":"kv_"#)?;
    out.flush()?;
    std::thread::sleep(Duration::from_millis(50));
    std::process::abort()
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let mut oversize = DEFAULT_OVERSIZE;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().map(|n| n.parse::<usize>())) {
            ("--oversize", Some(Ok(n))) => oversize = n,
            _ => {
                eprintln!("faulty-plugin: unexpected argument `{arg}`\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let done = match mode.as_str() {
        "flood" => flood(&mut out),
        "garbage" => garbage(&mut out, oversize),
        "oversize" => self::oversize(&mut out, oversize),
        "partial-line" => partial_line(&mut out),
        "never-read" => never_read(&mut out),
        "crash" => crash(&mut out),
        _ => {
            eprintln!("faulty-plugin: unknown mode `{mode}`\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        // The core closed the pipe: that is how a fault is supposed to end.
        Err(e) => {
            eprintln!("faulty-plugin {mode}: {e}");
            ExitCode::from(3)
        }
    }
}
