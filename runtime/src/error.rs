//! JSON-RPC errors sent to callers, and the errors of building a router.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde_json::value::RawValue;

/// The error codes Gatehouse replies with.
///
/// The first five are JSON-RPC 2.0's own; the last two are in the range the specification leaves
/// to servers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `-32700`: the message is not valid JSON.
    ParseError,
    /// `-32600`: the JSON is not a valid JSON-RPC request.
    InvalidRequest,
    /// `-32601`: no command has this name.
    UnknownCommand,
    /// `-32602`: the arguments do not fit the command; `data` names the argument.
    InvalidParams,
    /// `-32603`: the core failed (a command panicked, a reply could not be serialised).
    Internal,
    /// `-32000`: the command returned an error; `data` is the command's own error value.
    Command,
    /// `-32001`: the caller's grants do not include this command. The command did not run.
    NotAllowed,
    /// Any other code, for errors a command builds itself with [`RpcError::new`].
    Other(i32),
}

impl ErrorCode {
    /// The numeric code on the wire.
    pub const fn code(self) -> i32 {
        match self {
            Self::ParseError => -32700,
            Self::InvalidRequest => -32600,
            Self::UnknownCommand => -32601,
            Self::InvalidParams => -32602,
            Self::Internal => -32603,
            Self::Command => -32000,
            Self::NotAllowed => -32001,
            Self::Other(code) => code,
        }
    }

    /// The code for a number on the wire.
    pub const fn from_code(code: i32) -> Self {
        match code {
            -32700 => Self::ParseError,
            -32600 => Self::InvalidRequest,
            -32601 => Self::UnknownCommand,
            -32602 => Self::InvalidParams,
            -32603 => Self::Internal,
            -32000 => Self::Command,
            -32001 => Self::NotAllowed,
            other => Self::Other(other),
        }
    }
}

/// A JSON-RPC error object: `{"code": …, "message": …, "data": …}`.
///
/// Commands may return `Result<T, RpcError>` to choose the code themselves.
#[derive(Debug, Clone)]
pub struct RpcError {
    code: ErrorCode,
    message: Cow<'static, str>,
    data: Option<Box<RawValue>>,
}

impl RpcError {
    /// An error with a code and a message, without data.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches `data`. A value that cannot be serialised leaves the error without data.
    #[must_use]
    pub fn with_data(mut self, data: impl Serialize) -> Self {
        self.data = serde_json::value::to_raw_value(&data).ok();
        self
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The data, as JSON.
    pub fn data(&self) -> Option<&RawValue> {
        self.data.as_deref()
    }

    pub(crate) fn parse_error(message: impl fmt::Display) -> Self {
        Self::new(ErrorCode::ParseError, format!("parse error: {message}"))
    }

    pub(crate) fn invalid_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    pub(crate) fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    pub(crate) fn invalid_params(argument: Option<&str>, reason: &str) -> Self {
        #[derive(Serialize)]
        struct Data<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            argument: Option<&'a str>,
            reason: &'a str,
        }
        let message = match argument {
            Some(arg) => format!("invalid argument `{arg}`: {reason}"),
            None => format!("invalid params: {reason}"),
        };
        Self::new(ErrorCode::InvalidParams, message).with_data(Data { argument, reason })
    }

    /// Writes the error object as JSON.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"code\":");
        out.extend_from_slice(self.code.code().to_string().as_bytes());
        out.extend_from_slice(b",\"message\":");
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, self.message.as_ref());
        if let Some(data) = &self.data {
            out.extend_from_slice(b",\"data\":");
            out.extend_from_slice(data.get().as_bytes());
        }
        out.push(b'}');
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code.code())
    }
}

impl std::error::Error for RpcError {}

/// What is wrong with a router, found by [`RouterBuilder::build`](crate::RouterBuilder::build).
#[derive(Debug, thiserror::Error)]
pub struct BuildError {
    /// Every problem found, together.
    pub problems: Vec<BuildProblem>,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::problem::write_problems(f, "the router cannot be built", &self.problems)
    }
}

/// One problem found when building a router.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildProblem {
    /// Two commands have the same name.
    #[error("command `{name}` is defined twice: at {first} and at {second}")]
    DuplicateCommand {
        /// The name.
        name: String,
        /// Where the first one is defined (`file:line`).
        first: String,
        /// Where the second one is defined.
        second: String,
    },
    /// A command takes `State<T>` but no `T` was given to `manage`.
    #[error("command `{command}` (at {location}) takes `State<{state}>`, but no `{state}` is managed: add `.manage(…)` to the router builder")]
    MissingState {
        /// The command.
        command: String,
        /// Where it is defined.
        location: String,
        /// The state's type name.
        state: &'static str,
    },
    /// A command is served but the ACL does not know it, so nobody could ever call it.
    #[error("command `{command}` (at {location}) is not in the ACL, so no caller could ever call it: add it to the ACL's commands{}", crate::problem::did_you_mean(suggestion))]
    UnknownToAcl {
        /// The command.
        command: String,
        /// Where it is defined.
        location: String,
        /// A close ACL name, if any.
        suggestion: Option<String>,
    },
    /// The ACL names a command that the router does not serve.
    #[error("the ACL names command `{command}`, but the router serves no such command: add it to `commands![…]`, or remove it from the ACL{}", crate::problem::did_you_mean(suggestion))]
    Unserved {
        /// The command.
        command: String,
        /// A close served name, if any.
        suggestion: Option<String>,
    },
    /// The ACL itself is invalid.
    #[error("{0}")]
    Acl(#[from] crate::problem::AclProblem),
}
