//! The router: serves commands to resolved callers, checking every call against their grants.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::value::RawValue;

use crate::acl::{closest, Acl};
use crate::bitset::{words_for, CommandId};
use crate::call::budget::{Budget, ConnectionWork};
use crate::call::reader::{self, RequestId};
use crate::call::scan::Scanner;
use crate::caller::{Caller, CallerInfo, GrantSet, Origin};
use crate::command::{CommandEntry, Handled, Reply};
use crate::error::{BuildError, BuildProblem, ErrorCode, RpcError};
use crate::event::{Emitter, EventHub};
use crate::extract::{Invocation, StateMap};
use crate::join::JoinAll;
use crate::jsonrpc::{self, Message, Request};
use crate::limits::{self, Limits};
use crate::lookup::Lookup;
use crate::outbound::Outbound;
use crate::unwind::{panicked, CatchUnwind};

static NEXT_ROUTER_ID: AtomicU64 = AtomicU64::new(1);

/// Serves commands over JSON-RPC 2.0 to callers it has resolved.
///
/// Cheap to clone (an `Arc`); share one router between all transports.
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    acl: Acl,
    lookup: Lookup,
    entries: Box<[Option<CommandEntry>]>,
    states: StateMap,
    explain_denials: bool,
    max_batch: usize,
    events: Arc<EventHub>,
    limits: Limits,
    /// Turns at the blocking pool for all callers together ([`Limits::max_blocking_threads`]).
    blocking_threads: Arc<tokio::sync::Semaphore>,
}

impl Router {
    /// Starts a router over `acl`.
    pub fn builder(acl: Acl) -> RouterBuilder {
        RouterBuilder {
            acl,
            commands: Vec::new(),
            states: StateMap::default(),
            duplicate_states: Vec::new(),
            explain_denials: cfg!(debug_assertions),
            max_batch: 1024,
            allow_unserved: false,
            limits: Limits::default(),
        }
    }

    /// The limits this router was built with: the router-wide ones
    /// ([`max_blocking_threads`](Limits::max_blocking_threads)) and the defaults of every
    /// transport that is not given its own.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The ACL the router checks against.
    pub fn acl(&self) -> &Acl {
        &self.inner.acl
    }

    /// Resolves a caller once: matches every capability against its labels and origin and keeps
    /// `allow & !deny` as its grant set. Do this once per window, connection or child process.
    ///
    /// A capability applies when one of its `windows` globs matches the window label or one of
    /// its `webviews` globs matches the webview label (the window label when there is no
    /// separate webview), and it accepts the origin: `local` for [`Origin::Local`], a matching
    /// `remote` URL pattern for [`Origin::Remote`].
    pub fn caller(&self, info: CallerInfo) -> Caller {
        self.resolve(info, None)
    }

    /// Resolves a caller that is bound to one connection, as [`caller`](Self::caller) does;
    /// [`Channel`](crate::Channel) arguments and the events it listens to reach it through
    /// `outbound`, which its transport drains. Transports call this once per connection.
    pub fn connect(&self, info: CallerInfo, outbound: Outbound) -> Caller {
        self.resolve(info, Some(outbound))
    }

    /// Sends `event` with `payload` to every connected caller that listens to it; returns how
    /// many listeners received it.
    ///
    /// # Errors
    ///
    /// An invalid event name (1 to 256 ASCII letters, digits, `-`, `/`, `:` or `_`), or a
    /// payload that cannot be serialised.
    pub fn emit<P: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        payload: &P,
    ) -> Result<usize, RpcError> {
        self.emitter().emit(event, payload)
    }

    /// Sends `event` with `payload` to the listeners of window `label` only.
    ///
    /// # Errors
    ///
    /// As [`emit`](Self::emit).
    pub fn emit_to<P: serde::Serialize + ?Sized>(
        &self,
        label: &str,
        event: &str,
        payload: &P,
    ) -> Result<usize, RpcError> {
        self.emitter().emit_to(label, event, payload)
    }

    /// Forgets what a closed connection left behind: its event listeners.
    #[cfg_attr(
        not(any(feature = "ws", feature = "stdio")),
        allow(dead_code, reason = "used by the engine")
    )]
    pub(crate) fn disconnect(&self, outbound: &Outbound) {
        self.inner.events.disconnect(outbound);
    }

    /// A handle for emitting events that can be kept without the router (in state, in a
    /// background task).
    pub fn emitter(&self) -> Emitter {
        self.inner.events.emitter()
    }

    fn resolve(&self, info: CallerInfo, outbound: Option<Outbound>) -> Caller {
        let inner = &*self.inner;
        let len = words_for(inner.acl.commands().len());
        let mut allow = vec![0u64; len];
        let mut deny = vec![0u64; len];
        let mut applied = Vec::new();
        // Read once; a URL that is not as a browser writes it matches no pattern.
        let url = match &info.origin {
            Origin::Local => None,
            Origin::Remote(u) => gatehouse_acl::RemoteUrl::parse(u),
        };
        let webview = info.webview.as_deref().unwrap_or(&info.window);
        for (index, cap) in inner.acl.capabilities().iter().enumerate() {
            let label = cap.windows().iter().any(|g| g.matches(&info.window))
                || cap.webviews().iter().any(|g| g.matches(webview));
            let origin = match &info.origin {
                Origin::Local => cap.local(),
                Origin::Remote(_) => url
                    .as_ref()
                    .is_some_and(|u| cap.remote().iter().any(|p| p.matches_url(u))),
            };
            if label && origin {
                applied.push(index);
                for (w, word) in cap.allow().words().iter().enumerate().take(len) {
                    allow[w] |= word;
                }
                for (w, word) in cap.deny().words().iter().enumerate().take(len) {
                    deny[w] |= word;
                }
            }
        }
        let grants: Box<[u64]> = allow.iter().zip(&deny).map(|(a, d)| a & !d).collect();
        Caller::new(
            inner.id,
            info,
            GrantSet::new(grants),
            applied.into(),
            outbound,
        )
    }

    /// The id of a command, by the router's lookup table.
    #[inline]
    pub fn command_id(&self, name: &str) -> Option<CommandId> {
        self.inner.lookup.get(name)
    }

    /// Whether `caller` may call `command`: a table lookup and one bit test, without allocating.
    #[inline]
    pub fn check(&self, caller: &Caller, command: &str) -> bool {
        match self.inner.lookup.get(command) {
            Some(id) => caller.router_id() == self.inner.id && caller.allows(id),
            None => false,
        }
    }

    /// Answers one JSON-RPC 2.0 message (a request, a notification or a batch) from `caller`.
    ///
    /// Returns the reply to send, or `None` when there is nothing to send (notifications, and
    /// batches made only of notifications). Never panics on the message's content; a command
    /// that panics gets an internal-error reply and the router keeps serving.
    pub async fn handle(&self, caller: &Caller, message: &[u8]) -> Option<Vec<u8>> {
        self.serve(caller, message, Budget::in_process(&self.inner.limits))
            .await
    }

    /// Answers one message within `budget`: the engine's entry into the router. Requests past
    /// the budget's admitted count are answered `-32007` without running; replies over the
    /// response limit become `-32008`.
    pub(crate) async fn serve(
        &self,
        caller: &Caller,
        message: &[u8],
        budget: Budget<'_>,
    ) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        match jsonrpc::read_message(message) {
            Err(error) => jsonrpc::write_error(&mut out, None, &error),
            Ok(Message::Single(bytes)) => {
                if budget.admitted == 0 {
                    if !refuse_in_flight(bytes, &budget, &mut out) {
                        return None;
                    }
                } else if !self.answer(caller, bytes, &mut out, &budget).await {
                    return None;
                }
            }
            Ok(Message::Batch(batch)) => {
                if batch.is_empty() {
                    let e = RpcError::invalid_request("invalid request: empty batch");
                    jsonrpc::write_error(&mut out, None, &e);
                } else if batch.len() > self.inner.max_batch {
                    let e = RpcError::invalid_request(format!(
                        "invalid request: a batch of {} requests exceeds the limit of {}",
                        batch.len(),
                        self.inner.max_batch
                    ));
                    jsonrpc::write_error(&mut out, None, &e);
                } else {
                    let budget = &budget;
                    let entries = batch.iter().enumerate().map(|(index, raw)| {
                        Box::pin(async move {
                            let mut reply = Vec::new();
                            let bytes = raw.get().as_bytes();
                            let some = if index < budget.admitted {
                                self.answer(caller, bytes, &mut reply, budget).await
                            } else {
                                refuse_in_flight(bytes, budget, &mut reply)
                            };
                            some.then_some(reply)
                        })
                            as Pin<Box<dyn Future<Output = Option<Vec<u8>>> + Send + '_>>
                    });
                    let replies: Vec<Vec<u8>> =
                        JoinAll::new(entries).await.into_iter().flatten().collect();
                    if replies.is_empty() {
                        return None;
                    }
                    write_batch(&mut out, replies, budget.max_response);
                }
            }
        }
        Some(out)
    }

    /// Answers one request object into `out`; false when there is nothing to send.
    async fn answer(
        &self,
        caller: &Caller,
        bytes: &[u8],
        out: &mut Vec<u8>,
        budget: &Budget<'_>,
    ) -> bool {
        if let Some((handled, id, name, params)) = self.single_pass(caller, bytes) {
            let reply = self.complete(caller, handled, name, params, budget).await;
            return write_reply(out, id, reply, budget.max_response);
        }
        match jsonrpc::read_request(bytes) {
            Err(invalid) => {
                jsonrpc::write_error(out, invalid.id.map(RawValue::get), &invalid.error);
                true
            }
            Ok(request) => {
                let reply = self.call(caller, &request, budget).await;
                write_reply(
                    out,
                    request.id.map(RawValue::get),
                    reply,
                    budget.max_response,
                )
            }
        }
    }

    /// The single-pass path (see `scan.rs`): for a well-formed request whose `method` precedes
    /// `params` and that the caller may make, the command reads its arguments straight from the
    /// message. `None`, before anything has run, hands the request to the two-pass path, which
    /// also produces every error.
    #[allow(clippy::type_complexity)]
    fn single_pass<'a>(
        &'a self,
        caller: &'a Caller,
        bytes: &'a [u8],
    ) -> Option<(Handled<'a>, Option<&'a str>, &'static str, Option<&'a str>)> {
        let inner = &*self.inner;
        // One UTF-8 check of the whole message; every slice the scanner hands out is then text.
        let mut scanner = Scanner::new(std::str::from_utf8(bytes).ok()?);
        let id = inner.lookup.get(scanner.until_params()?)?;
        if caller.router_id() != inner.id || !caller.allows(id) {
            return None;
        }
        let entry = inner.entries[id.index()]?;
        let scan = entry.scan()?;
        let invocation = self.invocation(caller, id, entry.name(), None);
        // `scan` reads the whole request before it runs the command, so once it has returned
        // `Some` (or panicked in the command) the request is complete and must not be retried.
        let handled = match catch_unwind(AssertUnwindSafe(|| scan(invocation, &mut scanner))) {
            Ok(handled) => handled?,
            Err(payload) => Handled::Ready(Err(panicked(entry.name(), payload.as_ref()))),
        };
        Some((handled, scanner.id(), entry.name(), scanner.params_text()))
    }

    /// What a command's wrapper sees of this call.
    fn invocation<'a>(
        &'a self,
        caller: &'a Caller,
        id: CommandId,
        command: &'static str,
        params: Option<&'a str>,
    ) -> Invocation<'a> {
        Invocation {
            acl: &self.inner.acl,
            states: &self.inner.states,
            caller,
            events: &self.inner.events,
            command,
            id,
            params,
        }
    }

    /// Look up → check → extract → call → reply. Every refusal is decided here.
    async fn call(&self, caller: &Caller, request: &Request<'_>, budget: &Budget<'_>) -> Reply {
        let inner = &*self.inner;
        let method = request.method.as_ref();
        let Some(id) = inner.lookup.get(method) else {
            return Err(unknown_command(method));
        };
        if caller.router_id() != inner.id {
            return Err(RpcError::new(
                ErrorCode::NotAllowed,
                format!(
                    "command `{method}` is not allowed for caller `{}`: the caller was resolved by another router",
                    caller.label()
                ),
            ));
        }
        if !caller.allows(id) {
            return Err(self.denied(caller, id, method));
        }
        let Some(entry) = inner.entries[id.index()] else {
            return Err(unknown_command(method));
        };
        let params = request.params.map(RawValue::get);
        let invocation = self.invocation(caller, id, entry.name(), params);
        let invoke = entry.invoke();
        let handled = match catch_unwind(AssertUnwindSafe(|| invoke(invocation))) {
            Ok(handled) => handled,
            Err(payload) => return Err(panicked(entry.name(), payload.as_ref())),
        };
        self.complete(caller, handled, entry.name(), params, budget)
            .await
    }

    /// Finishes what a command's wrapper started: awaits its future or runs its blocking body,
    /// turning panics into internal errors.
    async fn complete(
        &self,
        caller: &Caller,
        handled: Handled<'_>,
        name: &'static str,
        params: Option<&str>,
        budget: &Budget<'_>,
    ) -> Reply {
        match handled {
            Handled::Ready(reply) => reply,
            Handled::Pending(future) => CatchUnwind::new(future, name).await,
            Handled::Blocking(body) => {
                self.run_blocking(caller, name, params, body, budget.connection)
                    .await
            }
        }
    }

    /// Runs a blocking command on tokio's blocking pool once its connection has a turn
    /// ([`Limits::max_blocking`]) and the router a thread ([`Limits::max_blocking_threads`]),
    /// both held until the body returns; a body whose connection has closed by the time its turn
    /// comes is skipped.
    async fn run_blocking(
        &self,
        caller: &Caller,
        name: &'static str,
        params: Option<&str>,
        body: crate::command::BlockingFn,
        connection: Option<&Arc<ConnectionWork>>,
    ) -> Reply {
        let Some(id) = self.inner.lookup.get(name) else {
            return Err(unknown_command(name));
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            // Without a tokio runtime there is no blocking pool: run it here.
            let invocation = self.invocation(caller, id, name, params);
            return catch_unwind(AssertUnwindSafe(|| body(invocation)))
                .unwrap_or_else(|payload| Err(panicked(name, payload.as_ref())));
        };
        let turn = match connection {
            Some(work) => match Arc::clone(work.blocking()).acquire_owned().await {
                Ok(turn) => Some(turn),
                Err(_) => return Err(connection_closed(name)),
            },
            None => None,
        };
        let Ok(thread) = Arc::clone(&self.inner.blocking_threads)
            .acquire_owned()
            .await
        else {
            return Err(RpcError::internal(format!(
                "command `{name}` did not run: the blocking pool is closed"
            )));
        };
        let router = self.clone();
        let caller = caller.clone();
        let params: Option<String> = params.map(ToOwned::to_owned);
        let connection = connection.cloned();
        let job = move || {
            let _held = (turn, thread);
            if connection.as_ref().is_some_and(|work| work.is_closed()) {
                return Err(connection_closed(name));
            }
            let invocation = router.invocation(&caller, id, name, params.as_deref());
            catch_unwind(AssertUnwindSafe(|| body(invocation)))
                .unwrap_or_else(|payload| Err(panicked(name, payload.as_ref())))
        };
        match handle.spawn_blocking(job).await {
            Ok(reply) => reply,
            Err(e) => Err(RpcError::internal(format!(
                "command `{name}` did not finish: {e}"
            ))),
        }
    }

    fn denied(&self, caller: &Caller, id: CommandId, method: &str) -> RpcError {
        let inner = &*self.inner;
        tracing::debug!(
            command = method,
            caller = caller.label(),
            "call not allowed"
        );
        let mut message = format!(
            "command `{method}` is not allowed for caller `{}`",
            caller.label()
        );
        if !inner.explain_denials {
            return RpcError::new(ErrorCode::NotAllowed, message)
                .with_data(serde_json::json!({ "command": method, "caller": caller.label() }));
        }
        let caps = inner.acl.capabilities();
        let denied_by: Vec<&str> = caller
            .capability_indexes()
            .iter()
            .map(|&i| &caps[i])
            .filter(|c| c.deny().contains(id))
            .map(|c| c.identifier())
            .collect();
        let granted_by: Vec<&str> = caps
            .iter()
            .filter(|c| c.allow().contains(id))
            .map(|c| c.identifier())
            .collect();
        let list = |names: &[&str]| {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let noun = |names: &[&str]| {
            if names.len() == 1 {
                "capability"
            } else {
                "capabilities"
            }
        };
        if !denied_by.is_empty() {
            message.push_str(&format!(
                "; denied by {} {}",
                noun(&denied_by),
                list(&denied_by)
            ));
        } else if granted_by.is_empty() {
            message.push_str("; no capability allows it");
        } else {
            let (verb, does) = if granted_by.len() == 1 {
                ("is", "does")
            } else {
                ("is", "do")
            };
            message.push_str(&format!(
                "; it {verb} allowed by {} {}, which {does} not apply to this caller",
                noun(&granted_by),
                list(&granted_by)
            ));
        }
        RpcError::new(ErrorCode::NotAllowed, message).with_data(serde_json::json!({
            "command": method,
            "caller": caller.label(),
            "grantedBy": granted_by,
            "deniedBy": denied_by,
        }))
    }
}

/// Appends the reply to a request with `id`; false for a notification (nothing to send). A
/// result larger than `max_response` bytes is replaced by `-32008`.
fn write_reply(out: &mut Vec<u8>, id: Option<&str>, reply: Reply, max_response: usize) -> bool {
    let Some(id) = id else {
        return false;
    };
    match reply {
        Ok(result) if result.len() > max_response => {
            tracing::debug!(
                bytes = result.len(),
                limit = max_response,
                "gatehouse: a reply over the response limit was replaced by an error"
            );
            jsonrpc::write_error(out, Some(id), &limits::response_too_large(max_response));
        }
        Ok(result) => jsonrpc::write_result(out, Some(id), &result),
        Err(error) => jsonrpc::write_error(out, Some(id), &error),
    }
    true
}

/// Answers a request that the budget does not admit with `-32007`, in place; false for a
/// notification (nothing to send).
fn refuse_in_flight(request: &[u8], budget: &Budget<'_>, out: &mut Vec<u8>) -> bool {
    let id = reader::outline(request, usize::MAX).shape.id();
    if id == RequestId::Notification {
        return false;
    }
    jsonrpc::write_error(
        out,
        id.reply_id(),
        &limits::too_many_in_flight(budget.max_in_flight),
    );
    true
}

/// Writes a batch's replies as one array; entries that would take it past `max_response` bytes
/// are replaced by `-32008` under their own ids.
fn write_batch(out: &mut Vec<u8>, replies: Vec<Vec<u8>>, max_response: usize) {
    let total: usize = replies.iter().map(|r| r.len() + 1).sum();
    out.reserve(total.min(max_response) + 1);
    out.push(b'[');
    for (index, reply) in replies.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        if out.len() + reply.len() + 1 > max_response {
            let id = reader::outline(&reply, usize::MAX).shape.id();
            jsonrpc::write_error(
                out,
                id.reply_id(),
                &limits::response_too_large(max_response),
            );
        } else {
            out.extend_from_slice(&reply);
        }
    }
    out.push(b']');
}

fn connection_closed(name: &str) -> RpcError {
    RpcError::internal(format!(
        "command `{name}` did not run: its connection has closed"
    ))
}

fn unknown_command(method: &str) -> RpcError {
    RpcError::new(
        ErrorCode::UnknownCommand,
        format!("unknown command `{method}`"),
    )
    .with_data(serde_json::json!({ "command": method }))
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("commands", &self.inner.acl.commands().len())
            .field("capabilities", &self.inner.acl.capabilities().len())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Router`]; see [`Router::builder`].
#[must_use]
pub struct RouterBuilder {
    acl: Acl,
    commands: Vec<CommandEntry>,
    states: StateMap,
    duplicate_states: Vec<&'static str>,
    explain_denials: bool,
    max_batch: usize,
    allow_unserved: bool,
    limits: Limits,
}

impl RouterBuilder {
    /// Adds commands, usually `commands![a, b, module::c]`. May be called more than once.
    pub fn commands(mut self, commands: &[CommandEntry]) -> Self {
        self.commands.extend_from_slice(commands);
        self
    }

    /// Adds state that commands can take as `State<'_, T>`. One value per type.
    pub fn manage<T: Send + Sync + 'static>(mut self, state: T) -> Self {
        if !self.states.insert(state) {
            self.duplicate_states.push(std::any::type_name::<T>());
        }
        self
    }

    /// Whether a "not allowed" error also says which capabilities would grant the command, or
    /// which one denies it. On by default in debug builds, off in release builds: it tells the
    /// caller about the application's configuration. The command and the caller's label are
    /// always named.
    pub fn explain_denials(mut self, explain: bool) -> Self {
        self.explain_denials = explain;
        self
    }

    /// The largest batch answered (default 1024); a larger one gets a single `-32600` error.
    pub fn max_batch(mut self, max: usize) -> Self {
        self.max_batch = max;
        self
    }

    /// Sets the limits: [`max_blocking_threads`](Limits::max_blocking_threads) applies to all
    /// the router's callers together; the others are the defaults of every transport that is not
    /// given limits of its own.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Accepts an ACL that names commands the router does not serve (by default an error:
    /// such a name is usually a typo or a command left out of `commands![…]`).
    pub fn allow_unserved_commands(mut self, allow: bool) -> Self {
        self.allow_unserved = allow;
        self
    }

    /// Builds the router.
    ///
    /// # Errors
    ///
    /// Every problem, together: duplicate command names, commands whose `State<T>` is not
    /// managed, commands the ACL does not know, ACL commands that no command serves, and an
    /// invalid ACL.
    pub fn build(self) -> Result<Router, BuildError> {
        let mut problems: Vec<BuildProblem> = match self.acl.validate() {
            Ok(()) => Vec::new(),
            Err(e) => e.problems.into_iter().map(BuildProblem::from).collect(),
        };
        let names = self.acl.commands();
        let mut entries: Vec<Option<CommandEntry>> = vec![None; names.len()];
        for entry in &self.commands {
            let info = entry.info();
            match self.acl.command_id(info.name) {
                None => problems.push(BuildProblem::UnknownToAcl {
                    command: info.name.to_owned(),
                    location: info.location(),
                    suggestion: closest(info.name, names.iter().map(|n| n.as_ref())),
                }),
                Some(id) => match &entries[id.index()] {
                    Some(first) => problems.push(BuildProblem::DuplicateCommand {
                        name: info.name.to_owned(),
                        first: first.info().location(),
                        second: info.location(),
                    }),
                    None => entries[id.index()] = Some(*entry),
                },
            }
            for (type_id, state) in entry.requirements().states {
                if !self.states.contains(type_id) {
                    problems.push(BuildProblem::MissingState {
                        command: info.name.to_owned(),
                        location: info.location(),
                        state,
                    });
                }
            }
        }
        // The built-in commands the ACL names (event, app and path, granted by `core:…`).
        for entry in crate::event::BUILTINS
            .iter()
            .chain(&crate::core_plugins::BUILTINS)
        {
            if let Some(id) = self.acl.command_id(entry.name()) {
                let slot = &mut entries[id.index()];
                if slot.is_none() {
                    *slot = Some(*entry);
                }
            }
        }
        if !self.allow_unserved {
            let served: Vec<&str> = self.commands.iter().map(CommandEntry::name).collect();
            for (name, entry) in names.iter().zip(&entries) {
                if entry.is_none() {
                    problems.push(BuildProblem::Unserved {
                        command: name.to_string(),
                        suggestion: closest(name, served.iter().copied()),
                    });
                }
            }
        }
        for state in &self.duplicate_states {
            tracing::warn!(state, "state managed twice; the first value is kept");
        }
        if !problems.is_empty() {
            return Err(BuildError { problems });
        }
        let lookup = Lookup::new(names.iter().map(|n| n.as_ref()));
        Ok(Router {
            inner: Arc::new(Inner {
                id: NEXT_ROUTER_ID.fetch_add(1, Ordering::Relaxed),
                lookup,
                entries: entries.into(),
                states: self.states,
                explain_denials: self.explain_denials,
                max_batch: self.max_batch,
                events: Arc::default(),
                acl: self.acl,
                blocking_threads: Arc::new(tokio::sync::Semaphore::new(
                    self.limits
                        .max_blocking_threads
                        .clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
                )),
                limits: self.limits,
            }),
        })
    }
}

impl std::fmt::Debug for RouterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouterBuilder")
            .field("commands", &self.commands.len())
            .finish_non_exhaustive()
    }
}
