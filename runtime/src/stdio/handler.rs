//! The child's handlers of the core's calls: registered by method, run on a tokio task (async
//! handlers) or on a thread of the client's (blocking handlers), panics turned into errors.

use std::collections::HashMap;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};

use serde::Serialize;
use serde_json::Value;

use super::lock;
use crate::error::{ErrorCode, RpcError};

/// A handler's outcome: the serialised result, or the error to answer.
pub(crate) type Reply = Result<Vec<u8>, RpcError>;

type AsyncFn = dyn Fn(Value) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync;
type BlockingFn = dyn Fn(Value) -> Reply + Send + Sync;

/// What to do with a handler's reply (answer the core, when the call has an id).
pub(crate) type Answer = Box<dyn FnOnce(Reply) + Send>;

/// A call that did not reach a handler, and the error to answer it with (on the caller's
/// thread: [`Handlers::run`] never answers one itself).
pub(crate) struct NotRun {
    pub(crate) answer: Option<Answer>,
    pub(crate) error: RpcError,
}

#[derive(Clone)]
pub(crate) enum Handler {
    Async(Arc<AsyncFn>),
    Blocking(Arc<BlockingFn>),
}

impl Handler {
    /// Wraps an async handler.
    pub(crate) fn from_async<F, Fut, T>(handler: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, RpcError>> + Send + 'static,
        T: Serialize + 'static,
    {
        Handler::Async(Arc::new(move |params: Value| {
            let future = handler(params);
            Box::pin(async move { to_reply(future.await) })
        }))
    }

    /// Wraps a blocking handler.
    pub(crate) fn from_blocking<F, T>(handler: F) -> Self
    where
        F: Fn(Value) -> Result<T, RpcError> + Send + Sync + 'static,
        T: Serialize + 'static,
    {
        Handler::Blocking(Arc::new(move |params: Value| to_reply(handler(params))))
    }
}

/// The serialised result of a handler.
fn to_reply<T: Serialize>(result: Result<T, RpcError>) -> Reply {
    let value = result?;
    serde_json::to_vec(&value).map_err(|e| {
        RpcError::new(
            ErrorCode::Internal,
            format!("the result cannot be serialised: {e}"),
        )
    })
}

struct Job {
    handler: Arc<BlockingFn>,
    params: Value,
    answer: Option<Answer>,
}

/// The registered handlers, and where they run.
#[derive(Default)]
pub(crate) struct Handlers {
    table: RwLock<HashMap<String, Handler>>,
    /// The runtime async handlers run on: the one the client was made in, or the one the
    /// first async handler was registered in.
    runtime: Mutex<Option<tokio::runtime::Handle>>,
    /// The thread blocking handlers run on, started on first use.
    worker: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Handlers {
    pub(crate) fn new() -> Self {
        Self {
            runtime: Mutex::new(tokio::runtime::Handle::try_current().ok()),
            ..Self::default()
        }
    }

    pub(crate) fn register(&self, method: String, handler: Handler) {
        if matches!(handler, Handler::Async(_)) {
            let mut runtime = lock(&self.runtime);
            if runtime.is_none() {
                *runtime = tokio::runtime::Handle::try_current().ok();
            }
        }
        self.table
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(method, handler);
    }

    /// Starts the handler of `method` with `params`, without waiting for it; `answer` gets its
    /// reply.
    ///
    /// # Errors
    ///
    /// A call without a handler, or whose handler cannot run, with the error to answer.
    pub(crate) fn run(
        &self,
        method: &str,
        params: Value,
        answer: Option<Answer>,
    ) -> Result<(), NotRun> {
        let handler = self
            .table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(method)
            .cloned();
        match handler {
            None => Err(NotRun {
                answer,
                error: RpcError::new(
                    ErrorCode::UnknownCommand,
                    format!("unknown method `{method}`: this process has no handler for it"),
                ),
            }),
            Some(Handler::Async(handler)) => {
                let Some(runtime) = lock(&self.runtime).clone() else {
                    tracing::error!(method, "gatehouse: no tokio runtime to run the handler on: make the client inside one");
                    return Err(cannot_run(answer));
                };
                let method = method.to_owned();
                runtime.spawn(async move {
                    let reply = match catch_unwind(AssertUnwindSafe(|| handler(params))) {
                        Ok(future) => Unwind(future).await,
                        Err(_) => Err(panicked()),
                    };
                    if let Err(error) = &reply {
                        tracing::debug!(method, %error, "gatehouse: handler failed");
                    }
                    if let Some(answer) = answer {
                        answer(reply);
                    }
                });
                Ok(())
            }
            Some(Handler::Blocking(handler)) => self.run_blocking(Job {
                handler,
                params,
                answer,
            }),
        }
    }

    /// Runs a blocking handler on the worker thread, started on first use. Handlers run one
    /// at a time, in the order the core's requests arrived.
    fn run_blocking(&self, job: Job) -> Result<(), NotRun> {
        let mut worker = lock(&self.worker);
        let job = match worker.as_ref() {
            Some(tx) => match tx.send(job) {
                Ok(()) => return Ok(()),
                // The worker is gone (a handler panicked through?): start another.
                Err(mpsc::SendError(job)) => job,
            },
            None => job,
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let started = std::thread::Builder::new()
            .name("gatehouse-stdio-handler".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let handler = &job.handler;
                    let params = job.params;
                    let reply = catch_unwind(AssertUnwindSafe(|| handler(params)))
                        .unwrap_or_else(|_| Err(panicked()));
                    if let Some(answer) = job.answer {
                        answer(reply);
                    }
                }
            });
        match started {
            Ok(_) => {
                let _ = tx.send(job);
                *worker = Some(tx);
                Ok(())
            }
            Err(error) => {
                tracing::error!(%error, "gatehouse: cannot start the handler thread");
                Err(cannot_run(job.answer))
            }
        }
    }
}

fn cannot_run(answer: Option<Answer>) -> NotRun {
    NotRun {
        answer,
        error: RpcError::new(ErrorCode::Internal, "the handler cannot run"),
    }
}

fn panicked() -> RpcError {
    tracing::error!("gatehouse: a handler panicked");
    RpcError::new(ErrorCode::Internal, "the handler panicked")
}

/// Turns a panic while polling a handler's future into an error reply.
struct Unwind(Pin<Box<dyn Future<Output = Reply> + Send>>);

impl Future for Unwind {
    type Output = Reply;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(_) => Poll::Ready(Err(panicked())),
        }
    }
}
