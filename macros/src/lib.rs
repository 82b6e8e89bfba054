//! Procedural macros of Gatehouse. Use them through the `gatehouse` crate, which documents them:
//! `#[gatehouse::command]` and `gatehouse::commands![…]`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ast;
mod attr;
mod case;
mod check;
mod commands;
mod expand;

use proc_macro::TokenStream;

/// Turns a function into a Gatehouse command. Documented on `gatehouse::command`.
#[proc_macro_attribute]
pub fn command(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::command(args.into(), item.into()).into()
}

/// Lists the commands a router serves. Documented on `gatehouse::commands`.
#[proc_macro]
pub fn commands(input: TokenStream) -> TokenStream {
    commands::expand(input.into()).into()
}
