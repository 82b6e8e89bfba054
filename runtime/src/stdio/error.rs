//! Why a call from the child to the core failed.

use serde_json::Value;

use crate::error::{ErrorCode, RpcError};

/// Why a call to the core failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The core answered with an error: refused (`-32001`), unknown command (`-32601`), bad
    /// arguments (`-32602`), the command's own error (`-32000`), a limit (`-32005`…`-32007`).
    #[error("the core answered {code}: {message}")]
    Rpc {
        /// The JSON-RPC error code.
        code: i32,
        /// The message.
        message: String,
        /// The error's `data`, if any.
        data: Option<Value>,
    },
    /// The connection is closed: the core closed this process's input (it is shutting the
    /// process down) or the pipe broke. No reply will come.
    #[error("the connection to the core is closed")]
    Closed,
    /// The parameters could not be serialised.
    #[error("the parameters cannot be serialised: {0}")]
    Params(#[source] serde_json::Error),
    /// The result does not have the type asked for.
    #[error("the result does not have the expected type: {0}")]
    Result(#[source] serde_json::Error),
}

impl ClientError {
    pub(crate) fn from_rpc(error: &RpcError) -> Self {
        ClientError::Rpc {
            code: error.code().code(),
            message: error.message().to_owned(),
            data: error
                .data()
                .and_then(|d| serde_json::from_str(d.get()).ok()),
        }
    }

    /// A reply with neither a well-formed `result` nor a well-formed `error`.
    pub(crate) fn malformed_reply() -> Self {
        ClientError::Rpc {
            code: ErrorCode::Internal.code(),
            message: "the core sent a malformed reply".into(),
            data: None,
        }
    }

    /// The JSON-RPC error code, for [`ClientError::Rpc`].
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Rpc { code, .. } => Some(ErrorCode::from_code(*code)),
            _ => None,
        }
    }
}
