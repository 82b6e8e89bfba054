//! The bench's children: the Gatehouse clients and the hand-written baseline. Each waits for
//! jobs from the core (calls of its method `bench.run`), runs them, and answers with what it
//! timed.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::sync::{mpsc, Arc};
use std::time::Instant;

use futures_util::StreamExt;
use gatehouse::stdio::{BlockingClient, Client, ClientError};
use gatehouse::{ErrorCode, RpcError};
use serde::Deserialize;
use serde_json::Value;

use crate::job::{nanos, text, thread_cpu_ns, Case, EchoArgs, Job, ReplyIn, Report, RequestOut};
use crate::wire::{AddParams, ReplyOut, RequestIn};

/// The baseline's read and write buffers (the Gatehouse framing reads 64 KiB at a time).
pub(crate) const IO_BUFFER: usize = 64 * 1024;

/// Runs the child named by `mode` until the core closes its stdin.
pub(crate) fn child_main(mode: &str) -> ExitCode {
    let result = match mode {
        "client" => client_child(),
        "blocking" => blocking_child(),
        "baseline" => baseline_child(),
        other => Err(format!("unknown mode `{other}`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stdio bench child ({mode}): {error}");
            ExitCode::FAILURE
        }
    }
}

fn job_error(error: String) -> RpcError {
    RpcError::new(ErrorCode::Internal, error)
}

fn read_job(params: Value) -> Result<Job, RpcError> {
    serde_json::from_value(params)
        .map_err(|e| RpcError::new(ErrorCode::InvalidParams, e.to_string()))
}

fn check_add(result: Result<i64, ClientError>) -> Result<(), String> {
    match result {
        Ok(3) => Ok(()),
        other => Err(format!("add: {other:?}")),
    }
}

fn check_echo(echoed: &str, text: &str, verify: bool) -> Result<(), String> {
    let same = if verify {
        echoed == text
    } else {
        echoed.len() == text.len()
    };
    if same {
        Ok(())
    } else {
        Err(format!("echo: {} bytes came back", echoed.len()))
    }
}

fn check_refused<T: std::fmt::Debug>(result: Result<T, ClientError>) -> Result<(), String> {
    match result {
        Err(ClientError::Rpc { code: -32001, .. }) => Ok(()),
        other => Err(format!("forbidden: {other:?}")),
    }
}

/// `gatehouse::stdio::Client` on a current-thread runtime (what `#[tokio::main(flavor =
/// "current_thread")]` makes).
fn client_child() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = Client::stdio();
        let text: Arc<str> = text().into();
        let inner = client.clone();
        client.handle("bench.run", move |params: Value| {
            let client = inner.clone();
            let text = Arc::clone(&text);
            async move {
                let job = read_job(params)?;
                client_job(&client, &job, &text).await.map_err(job_error)
            }
        });
        client.closed().await;
    });
    Ok(())
}

async fn client_call(client: &Client, job: &Job, text: &str) -> Result<(), String> {
    match job.case {
        Case::Add => check_add(client.call("add", AddParams { a: 1, b: 2 }).await),
        Case::Echo => match client.call::<String>("echo", EchoArgs { text }).await {
            Ok(echoed) => check_echo(&echoed, text, job.verify),
            Err(error) => Err(format!("echo: {error}")),
        },
        Case::Forbidden => check_refused(client.call::<i64>("forbidden", ()).await),
    }
}

async fn client_job(client: &Client, job: &Job, text: &str) -> Result<Report, String> {
    let mut report = Report::for_job(job);
    let start = Instant::now();
    if job.window <= 1 {
        for _ in 0..job.n {
            let call = Instant::now();
            client_call(client, job, text).await?;
            if job.samples {
                report.samples_ns.push(nanos(call.elapsed()));
            }
        }
    } else {
        let mut calls = futures_util::stream::iter(0..job.n)
            .map(|_| client_call(client, job, text))
            .buffer_unordered(job.window);
        while let Some(result) = calls.next().await {
            result?;
        }
    }
    report.elapsed_ns = nanos(start.elapsed());
    Ok(report)
}

/// `gatehouse::stdio::BlockingClient`, one call at a time (its handlers run on a thread of the
/// client's, which calls the core from there).
fn blocking_child() -> Result<(), String> {
    let client = BlockingClient::stdio();
    let text = text();
    let inner = client.clone();
    client.handle("bench.run", move |params: Value| {
        let job = read_job(params)?;
        blocking_job(&inner, &job, &text).map_err(job_error)
    });
    client.closed();
    Ok(())
}

fn blocking_job(client: &BlockingClient, job: &Job, text: &str) -> Result<Report, String> {
    let mut report = Report::for_job(job);
    let start = Instant::now();
    if job.window <= 1 {
        for _ in 0..job.n {
            let call = Instant::now();
            blocking_call(client, job, text)?;
            if job.samples {
                report.samples_ns.push(nanos(call.elapsed()));
            }
        }
    } else {
        // `window` threads, each calling in turn: as many calls in flight.
        let threads = job.window as u64;
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let share = job.n / threads + u64::from(t < job.n % threads);
                    s.spawn(move || {
                        (0..share).try_for_each(|_| blocking_call(client, job, text))?;
                        Ok::<_, String>(thread_cpu_ns())
                    })
                })
                .collect();
            workers.into_iter().try_for_each(|w| {
                let cpu = w
                    .join()
                    .unwrap_or_else(|_| Err("a calling thread panicked".into()))?;
                report.ended_threads_cpu_ns += cpu;
                Ok::<_, String>(())
            })
        })?;
    }
    report.elapsed_ns = nanos(start.elapsed());
    Ok(report)
}

fn blocking_call(client: &BlockingClient, job: &Job, text: &str) -> Result<(), String> {
    match job.case {
        Case::Add => check_add(client.call("add", AddParams { a: 1, b: 2 })),
        Case::Echo => match client.call::<String>("echo", EchoArgs { text }) {
            Ok(echoed) => check_echo(&echoed, text, job.verify),
            Err(error) => Err(format!("echo: {error}")),
        },
        Case::Forbidden => check_refused(client.call::<i64>("forbidden", ())),
    }
}

/// This process's stdin or stdout as a plain file (a duplicate of the descriptor), so the
/// baseline does its own buffering rather than going through std's `Stdout` line buffer.
fn own(fd: std::os::fd::BorrowedFd<'_>) -> Result<File, String> {
    fd.try_clone_to_owned()
        .map(File::from)
        .map_err(|e| e.to_string())
}

fn io(error: std::io::Error) -> String {
    error.to_string()
}

fn json(error: serde_json::Error) -> String {
    error.to_string()
}

/// The hand-written child: std I/O and serde_json, nothing else.
fn baseline_child() -> Result<(), String> {
    let text = text();
    let mut input = BufReader::with_capacity(IO_BUFFER, own(std::io::stdin().as_fd())?);
    let stdout = own(std::io::stdout().as_fd())?;
    let mut line = Vec::new();
    let mut buf = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).map_err(io)? == 0 {
            return Ok(()); // the core closed stdin
        }
        let request: RequestIn<'_, Job> = serde_json::from_slice(&line).map_err(json)?;
        if request.method != "bench.run" {
            return Err(format!("unexpected request `{}`", request.method));
        }
        let report = baseline_job(&mut input, &mut buf, &stdout, &request.params, &text)?;
        let mut output = &stdout;
        let reply = ReplyOut {
            jsonrpc: "2.0",
            result: report,
            id: request.id,
        };
        let mut out = serde_json::to_vec(&reply).map_err(json)?;
        out.push(b'\n');
        output.write_all(&out).map_err(io)?;
    }
}

fn write_request(output: &mut impl Write, id: u64, job: &Job, text: &str) -> Result<(), String> {
    match job.case {
        Case::Add => serde_json::to_writer(
            &mut *output,
            &RequestOut {
                jsonrpc: "2.0",
                id,
                method: "add",
                params: AddParams { a: 1, b: 2 },
            },
        ),
        Case::Echo => serde_json::to_writer(
            &mut *output,
            &RequestOut {
                jsonrpc: "2.0",
                id,
                method: "echo",
                params: EchoArgs { text },
            },
        ),
        Case::Forbidden => serde_json::to_writer(
            &mut *output,
            &RequestOut {
                jsonrpc: "2.0",
                id,
                method: "forbidden",
                params: serde_json::Map::new(),
            },
        ),
    }
    .map_err(json)?;
    output.write_all(b"\n").map_err(io)
}

fn read_reply(
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    job: &Job,
    text: &str,
) -> Result<(), String> {
    line.clear();
    if input.read_until(b'\n', line).map_err(io)? == 0 {
        return Err("the core closed the pipe".into());
    }
    let json = |e: serde_json::Error| format!("{e}: {:.300}", String::from_utf8_lossy(line));
    match job.case {
        Case::Add => {
            let reply: ReplyIn<'_, i64> = serde_json::from_slice(line).map_err(json)?;
            if reply.jsonrpc != "2.0" || reply.id == 0 {
                return Err("add: a malformed reply".into());
            }
            check_add(Ok(reply.result))
        }
        Case::Echo => {
            let reply: ReplyIn<'_, String> = serde_json::from_slice(line).map_err(json)?;
            if reply.jsonrpc != "2.0" || reply.id == 0 {
                return Err("echo: a malformed reply".into());
            }
            check_echo(&reply.result, text, job.verify)
        }
        Case::Forbidden => match refusal(line) {
            Some(-32001) => Ok(()),
            _ => Err(format!(
                "forbidden: {}",
                String::from_utf8_lossy(line).trim_end()
            )),
        },
    }
}

/// The code of an error reply.
pub(crate) fn refusal(line: &[u8]) -> Option<i32> {
    #[derive(Deserialize)]
    struct Refused {
        error: Code,
    }
    #[derive(Deserialize)]
    struct Code {
        code: i32,
    }
    serde_json::from_slice::<Refused>(line)
        .ok()
        .map(|r| r.error.code)
}

fn baseline_job(
    input: &mut BufReader<File>,
    line: &mut Vec<u8>,
    stdout: &File,
    job: &Job,
    text: &str,
) -> Result<Report, String> {
    let mut report = Report::for_job(job);
    let start = Instant::now();
    if job.window <= 1 {
        let mut output = BufWriter::with_capacity(IO_BUFFER, stdout);
        for id in 1..=job.n {
            let call = Instant::now();
            write_request(&mut output, id, job, text)?;
            output.flush().map_err(io)?;
            read_reply(input, line, job, text)?;
            if job.samples {
                report.samples_ns.push(nanos(call.elapsed()));
            }
        }
    } else {
        // A writer thread, paced by one credit per reply read: a single thread would block
        // writing requests while the core blocks writing replies to it.
        let (credits, credit) = mpsc::channel::<()>();
        std::thread::scope(|s| {
            let writer = s.spawn(move || -> Result<u64, String> {
                let mut output = BufWriter::with_capacity(IO_BUFFER, stdout);
                for id in 1..=job.n {
                    if id > job.window as u64 && credit.try_recv().is_err() {
                        // Nothing more to send until a reply comes: out with what is buffered.
                        output.flush().map_err(io)?;
                        credit.recv().map_err(|_| "the reader stopped".to_owned())?;
                    }
                    write_request(&mut output, id, job, text)?;
                }
                output.flush().map_err(io)?;
                Ok(thread_cpu_ns())
            });
            let mut read = Ok(());
            for _ in 0..job.n {
                read = read_reply(input, line, job, text);
                if read.is_err() {
                    break;
                }
                let _ = credits.send(());
            }
            drop(credits);
            let written = writer
                .join()
                .unwrap_or_else(|_| Err("the writer panicked".into()));
            report.ended_threads_cpu_ns += written?;
            read
        })?;
    }
    report.elapsed_ns = nanos(start.elapsed());
    Ok(report)
}
