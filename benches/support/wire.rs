//! What the hand-written baselines and the reference servers of the benchmarks share: the
//! commands' parameter types and the JSON-RPC envelopes as a plain serde program writes them.

#![allow(dead_code, reason = "each benchmark uses its own part of it")]

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// `add`'s parameters.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct AddParams {
    pub(crate) a: i64,
    pub(crate) b: i64,
}

/// `echo`'s parameters.
#[derive(Clone, Deserialize)]
pub(crate) struct EchoParams {
    pub(crate) text: String,
}

/// A request read in one pass, with typed params.
#[derive(Deserialize)]
pub(crate) struct RequestIn<'a, P> {
    #[serde(borrow)]
    pub(crate) jsonrpc: &'a str,
    #[serde(borrow)]
    pub(crate) id: &'a RawValue,
    #[serde(borrow)]
    pub(crate) method: &'a str,
    pub(crate) params: P,
}

/// A reply, the same bytes as Gatehouse's.
#[derive(Serialize)]
pub(crate) struct ReplyOut<'a, T> {
    pub(crate) jsonrpc: &'static str,
    pub(crate) result: T,
    pub(crate) id: &'a RawValue,
}
