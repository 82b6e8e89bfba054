//! Commands as the router sees them: a static entry per command.

use std::future::Future;
use std::pin::Pin;

use crate::call::scan::Scanner;
use crate::error::RpcError;
use crate::extract::{Invocation, Requirements};

/// The outcome of a command: its result serialised as JSON, or an error.
pub type Reply = Result<Vec<u8>, RpcError>;

/// A boxed future of a [`Reply`], for `async` commands.
pub type ReplyFuture<'a> = Pin<Box<dyn Future<Output = Reply> + Send + 'a>>;

/// A command body to run on the blocking thread pool.
pub type BlockingFn = for<'a> fn(Invocation<'a>) -> Reply;

/// What a command's generated wrapper returns: a reply now, a future, or work for the blocking
/// pool. Sync commands answer without allocating a future.
pub enum Handled<'a> {
    /// The reply is ready (sync commands, and every argument error).
    Ready(Reply),
    /// An `async` command's future.
    Pending(ReplyFuture<'a>),
    /// A `#[command(blocking)]` body; the router runs it on the blocking pool.
    Blocking(BlockingFn),
}

/// The generated wrapper of a command.
pub type InvokeFn = for<'a> fn(Invocation<'a>) -> Handled<'a>;

/// The generated single-pass wrapper: reads the arguments straight from the message through the
/// [`Scanner`], or returns `None`, before running anything, to leave the request to
/// [`InvokeFn`].
pub type ScanFn = for<'a> fn(Invocation<'a>, &mut Scanner<'a>) -> Option<Handled<'a>>;

/// Static facts about a command, written by `#[command]`.
#[derive(Debug)]
pub struct CommandInfo {
    /// The name callers use (the function's name unless renamed).
    pub name: &'static str,
    /// The keys of all arguments, in declaration order (injected arguments included).
    pub args: &'static [&'static str],
    /// The source file of the function.
    pub file: &'static str,
    /// The line of the function.
    pub line: u32,
}

impl CommandInfo {
    /// `file:line` of the function, for error messages.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// One command as a router serves it: facts, the wrapper, and what it needs from the router.
#[derive(Clone, Copy, Debug)]
pub struct CommandEntry {
    info: &'static CommandInfo,
    invoke: InvokeFn,
    scan: Option<ScanFn>,
    requirements: fn(&mut Requirements),
}

impl CommandEntry {
    /// An entry; written by `#[command]`.
    pub const fn new(
        info: &'static CommandInfo,
        invoke: InvokeFn,
        scan: Option<ScanFn>,
        requirements: fn(&mut Requirements),
    ) -> Self {
        Self {
            info,
            invoke,
            scan,
            requirements,
        }
    }

    /// The command's static facts.
    pub fn info(&self) -> &'static CommandInfo {
        self.info
    }

    /// The command's name.
    pub fn name(&self) -> &'static str {
        self.info.name
    }

    pub(crate) fn invoke(&self) -> InvokeFn {
        self.invoke
    }

    pub(crate) fn scan(&self) -> Option<ScanFn> {
        self.scan
    }

    pub(crate) fn requirements(&self) -> Requirements {
        let mut r = Requirements::default();
        (self.requirements)(&mut r);
        r
    }
}

/// A function turned into a command by `#[command]`.
///
/// `#[command]` implements it on a hidden type that shares the function's name and path, so
/// `commands![my_fn, module::other]` finds it wherever the function can be named.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Gatehouse command",
    label = "not a command",
    note = "only functions marked `#[gatehouse::command]` can be listed in `commands![…]`"
)]
pub trait Command {
    /// The command's entry.
    const ENTRY: CommandEntry;
}
