//! Injected arguments (`State`, `Caller`, a custom extractor), borrowed and optional arguments.

use gatehouse::{command, commands, Caller, FromInvoke, Invocation, RpcError, State};

struct Db {
    name: String,
}

/// A custom extractor: the caller's label, injected into any command that asks for it.
struct Label(String);

impl<'a> FromInvoke<'a> for Label {
    fn from_invoke(invocation: &Invocation<'a>) -> Result<Self, RpcError> {
        Ok(Label(invocation.caller().label().to_owned()))
    }
}

#[command]
fn with_state(db: State<'_, Db>, key: &str) -> String {
    format!("{}:{key}", db.name)
}

#[command]
fn with_caller(caller: Caller, times: Option<usize>) -> String {
    caller.label().repeat(times.unwrap_or(1))
}

#[command]
fn with_extractor(label: Label, db: State<'_, Db>) -> (String, String) {
    (label.0, db.inner().name.clone())
}

#[command]
fn named_lifetime<'a>(text: &'a str) -> String {
    text.to_uppercase()
}

fn main() {
    let _ = commands![with_state, with_caller, with_extractor, named_lifetime];
}
