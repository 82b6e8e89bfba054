//! A whole in-process call, `Router::handle`, against two references doing the same work.
//!
//! Two requests: `add` with `{"a":1,"b":2}`, and `echo_len` with a 64 KiB string. Each is
//! answered by
//!
//! - `gatehouse`: `router.handle(&caller, bytes)` (check, argument extraction, call, reply);
//! - `baseline`: hand-written serde_json for this one method — an envelope struct with typed
//!   params deserialised straight from the bytes, the function called, a reply struct
//!   serialised into a `Vec<u8>`; no check, no dispatch;
//! - `jsonrpsee`: `RpcModule::raw_json_request` on a module with the method registered through
//!   `register_method`, parsing named params into the same struct.
//!
//! A diagnostic row, `baseline_two_pass`, is the baseline reading the envelope with `params` as
//! a raw slice first and the params from that slice second, as `handle` and jsonrpsee do.
//!
//! All of them are futures driven the same way: polled once with a no-op waker (each completes
//! on its first poll; a `Pending` would fail the run). Another diagnostic row measures `handle` under
//! a tokio current-thread `block_on`, the cost of a real executor around the same call.
//!
//! Every contender's reply is checked before anything is timed. See `BENCHMARKS.md`.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gatehouse::{command, commands, Acl, Caller, CallerInfo, Capability, Router};
use jsonrpsee::RpcModule;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

#[path = "support/wire.rs"]
mod wire;
use wire::{AddParams, EchoParams, ReplyOut, RequestIn};

/// Adds.
#[command]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// The length of a string, to measure moving a large argument.
#[command]
fn echo_len(text: String) -> usize {
    text.len()
}

const ADD_REQUEST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":1,"b":2}}"#;
const ADD_REPLY: &str = r#"{"jsonrpc":"2.0","result":3,"id":1}"#;
const TEXT_LEN: usize = 64 * 1024;

/// `{"jsonrpc":"2.0","id":1,"method":"echo_len","params":{"text":"…64 KiB…"}}`, plain ASCII
/// without escapes.
fn echo_request() -> String {
    let text: String = "lorem ipsum dolor sit amet "
        .chars()
        .cycle()
        .take(TEXT_LEN)
        .collect();
    format!(r#"{{"jsonrpc":"2.0","id":1,"method":"echo_len","params":{{"text":"{text}"}}}}"#)
}

fn echo_reply() -> String {
    format!(r#"{{"jsonrpc":"2.0","result":{TEXT_LEN},"id":1}}"#)
}

// ---- the hand-written baseline -------------------------------------------------------------

/// Reads the envelope and typed params, checks version and method, calls, writes the reply.
fn baseline<'a, P: Deserialize<'a>, T: Serialize>(
    bytes: &'a [u8],
    method: &str,
    call: impl FnOnce(P) -> T,
) -> Option<Vec<u8>> {
    let request: RequestIn<'a, P> = serde_json::from_slice(bytes).ok()?;
    if request.jsonrpc != "2.0" || request.method != method {
        return None;
    }
    let reply = ReplyOut {
        jsonrpc: "2.0",
        result: call(request.params),
        id: request.id,
    };
    serde_json::to_vec(&reply).ok()
}

/// A diagnostic variant of the baseline: the envelope is read first with `params` kept as a raw
/// slice, which serde_json must scan to find its end, then `params` is deserialised from that
/// slice — the two passes over the params that `handle` (and jsonrpsee) make.
fn baseline_two_pass<'a, P: Deserialize<'a>, T: Serialize>(
    bytes: &'a [u8],
    method: &str,
    call: impl FnOnce(P) -> T,
) -> Option<Vec<u8>> {
    let request: RequestIn<'a, &'a RawValue> = serde_json::from_slice(bytes).ok()?;
    if request.jsonrpc != "2.0" || request.method != method {
        return None;
    }
    let params: P = serde_json::from_str(request.params.get()).ok()?;
    let reply = ReplyOut {
        jsonrpc: "2.0",
        result: call(params),
        id: request.id,
    };
    serde_json::to_vec(&reply).ok()
}

async fn baseline_add(bytes: &[u8]) -> Option<Vec<u8>> {
    baseline(bytes, "add", |p: AddParams| add(p.a, p.b))
}

async fn baseline_echo(bytes: &[u8]) -> Option<Vec<u8>> {
    baseline(bytes, "echo_len", |p: EchoParams| echo_len(p.text))
}

async fn baseline_two_pass_add(bytes: &[u8]) -> Option<Vec<u8>> {
    baseline_two_pass(bytes, "add", |p: AddParams| add(p.a, p.b))
}

async fn baseline_two_pass_echo(bytes: &[u8]) -> Option<Vec<u8>> {
    baseline_two_pass(bytes, "echo_len", |p: EchoParams| echo_len(p.text))
}

// ---- jsonrpsee -----------------------------------------------------------------------------

fn jsonrpsee_module() -> RpcModule<()> {
    let mut module = RpcModule::new(());
    module
        .register_method("add", |params, _, _| {
            params.parse::<AddParams>().map(|p| add(p.a, p.b))
        })
        .expect("registered");
    module
        .register_method("echo_len", |params, _, _| {
            params.parse::<EchoParams>().map(|p| echo_len(p.text))
        })
        .expect("registered");
    module
}

async fn jsonrpsee_call(module: &RpcModule<()>, request: &str) -> Box<RawValue> {
    let (reply, _subscription) = module
        .raw_json_request(request, 1)
        .await
        .expect("valid request");
    reply
}

// ---- gatehouse -----------------------------------------------------------------------------

fn router() -> (Router, Caller) {
    let acl = Acl::builder()
        .commands(["add", "echo_len"])
        .capability(
            Capability::builder("main")
                .windows(["main"])
                .allow(["add", "echo_len"]),
        )
        .build()
        .expect("valid ACL");
    let router = Router::builder(acl)
        .commands(commands![add, echo_len])
        .build()
        .expect("valid router");
    let caller = router.caller(CallerInfo::local("main"));
    (router, caller)
}

// ---- driving -------------------------------------------------------------------------------

struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// Polls `future` once; every contender here completes without waiting.
fn ready<F: Future>(waker: &Waker, future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(waker)) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the call did not complete on its first poll"),
    }
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("a JSON reply")
}

fn benches(c: &mut Criterion) {
    let waker = Waker::from(Arc::new(NoopWake));
    let (router, caller) = router();
    let module = jsonrpsee_module();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let echo = echo_request();
    let cases = [
        ("add", ADD_REQUEST, ADD_REPLY.to_owned()),
        ("echo_len_64k", echo.as_str(), echo_reply()),
    ];

    // Correct replies first: ours and the baseline byte for byte, jsonrpsee as JSON (it orders
    // the members differently).
    for (label, request, expected) in &cases {
        let bytes = request.as_bytes();
        let ours = ready(&waker, router.handle(&caller, bytes)).expect("a reply");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            *expected,
            "gatehouse, {label}"
        );
        let ours = rt.block_on(router.handle(&caller, bytes)).expect("a reply");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            *expected,
            "gatehouse, {label}"
        );
        let (base, two_pass) = match *label {
            "add" => (
                ready(&waker, baseline_add(bytes)),
                ready(&waker, baseline_two_pass_add(bytes)),
            ),
            _ => (
                ready(&waker, baseline_echo(bytes)),
                ready(&waker, baseline_two_pass_echo(bytes)),
            ),
        };
        let base = base.expect("a reply");
        assert_eq!(
            String::from_utf8_lossy(&base),
            *expected,
            "baseline, {label}"
        );
        let two_pass = two_pass.expect("a reply");
        assert_eq!(
            String::from_utf8_lossy(&two_pass),
            *expected,
            "two-pass, {label}"
        );
        let theirs = ready(&waker, jsonrpsee_call(&module, request));
        assert_eq!(
            json(theirs.get().as_bytes()),
            json(expected.as_bytes()),
            "jsonrpsee, {label}"
        );
    }

    for (label, request, _) in &cases {
        let bytes = request.as_bytes();
        let mut g = c.benchmark_group(*label);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("gatehouse", |b| {
            b.iter(|| ready(&waker, router.handle(&caller, black_box(bytes))));
        });
        if *label == "add" {
            g.bench_function("baseline", |b| {
                b.iter(|| ready(&waker, baseline_add(black_box(bytes))));
            });
        } else {
            g.bench_function("baseline", |b| {
                b.iter(|| ready(&waker, baseline_echo(black_box(bytes))));
            });
        }
        // Diagnostics, not contenders: where the time beyond the baseline goes.
        if *label == "add" {
            g.bench_function("baseline_two_pass", |b| {
                b.iter(|| ready(&waker, baseline_two_pass_add(black_box(bytes))));
            });
        } else {
            g.bench_function("baseline_two_pass", |b| {
                b.iter(|| ready(&waker, baseline_two_pass_echo(black_box(bytes))));
            });
        }
        g.bench_function("jsonrpsee", |b| {
            b.iter(|| ready(&waker, jsonrpsee_call(&module, black_box(request))));
        });
        g.bench_function("gatehouse_tokio_block_on", |b| {
            b.iter(|| rt.block_on(router.handle(&caller, black_box(bytes))));
        });
        g.finish();
    }
}

criterion_group!(invoke, benches);
criterion_main!(invoke);
