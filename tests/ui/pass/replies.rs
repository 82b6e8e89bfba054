//! Sync, async and blocking commands, and every kind of return type.

use gatehouse::{command, commands, RpcError};
use serde::Serialize;

#[derive(Serialize)]
struct Note {
    title: String,
}

#[derive(Debug, Serialize)]
struct NoteError {
    reason: String,
}

type R<T> = Result<T, String>;

#[command]
fn nothing() {}

#[command]
fn value(title: String) -> Note {
    Note { title }
}

#[command]
async fn async_value(title: String) -> Note {
    Note { title }
}

#[command(blocking)]
fn blocking_value(n: u64) -> u64 {
    n * 2
}

#[command]
fn serializable_error(ok: bool) -> Result<Note, NoteError> {
    if ok {
        Ok(Note { title: "t".into() })
    } else {
        Err(NoteError { reason: "no".into() })
    }
}

#[command]
async fn rpc_error(ok: bool) -> Result<(), RpcError> {
    if ok {
        Ok(())
    } else {
        Err(RpcError::new(gatehouse::ErrorCode::Other(-32099), "custom"))
    }
}

#[command]
fn aliased_result(n: u32) -> R<u32> {
    n.checked_mul(2).ok_or_else(|| "overflow".to_owned())
}

fn main() {
    let _ = commands![
        nothing,
        value,
        async_value,
        blocking_value,
        serializable_error,
        rpc_error,
        aliased_result,
    ];
}
