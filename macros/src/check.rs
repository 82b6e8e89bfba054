//! The rules a command function must follow, one function per rule.

use std::collections::HashMap;

use syn::spanned::Spanned;
use syn::{FnArg, GenericParam, Type};

use crate::ast::Command;

/// Runs every rule, collecting all violations.
pub(crate) fn check(cmd: &Command<'_>, errors: &mut Vec<syn::Error>) {
    no_receiver(cmd, errors);
    no_type_generics(cmd, errors);
    no_impl_trait_arguments(cmd, errors);
    plain_argument_patterns(cmd, errors);
    distinct_keys(cmd, errors);
    blocking_is_sync(cmd, errors);
    not_unsafe_or_const(cmd, errors);
}

// A command is a free function: the router has no `self` to call it on.
fn no_receiver(cmd: &Command<'_>, errors: &mut Vec<syn::Error>) {
    for input in &cmd.original.sig.inputs {
        if let FnArg::Receiver(r) = input {
            errors.push(syn::Error::new_spanned(
                r,
                "a command cannot take `self`: make it a free function and take the value as `State<'_, T>`",
            ));
        }
    }
}

// Type and const generics cannot be chosen by a JSON request; lifetimes are fine.
fn no_type_generics(cmd: &Command<'_>, errors: &mut Vec<syn::Error>) {
    for param in &cmd.original.sig.generics.params {
        match param {
            GenericParam::Type(t) => errors.push(syn::Error::new(
                t.ident.span(),
                format!(
                    "a command cannot be generic over `{}`: the request cannot choose a type; use a concrete type or an enum",
                    t.ident
                ),
            )),
            GenericParam::Const(c) => errors.push(syn::Error::new(
                c.ident.span(),
                format!("a command cannot be generic over `{}`: use a concrete value", c.ident),
            )),
            GenericParam::Lifetime(_) => {}
        }
    }
}

// `impl Trait` in argument position is a hidden generic.
fn no_impl_trait_arguments(cmd: &Command<'_>, errors: &mut Vec<syn::Error>) {
    for arg in &cmd.args {
        if let Some(impl_trait) = find_impl_trait(arg.ty) {
            errors.push(syn::Error::new_spanned(
                impl_trait,
                "a command argument cannot be `impl Trait`: the request cannot choose a type; use a concrete type",
            ));
        }
    }
}

fn find_impl_trait(ty: &Type) -> Option<&syn::TypeImplTrait> {
    match ty {
        Type::ImplTrait(t) => Some(t),
        Type::Reference(r) => find_impl_trait(&r.elem),
        Type::Paren(p) => find_impl_trait(&p.elem),
        Type::Group(g) => find_impl_trait(&g.elem),
        Type::Slice(s) => find_impl_trait(&s.elem),
        Type::Array(a) => find_impl_trait(&a.elem),
        Type::Tuple(t) => t.elems.iter().find_map(find_impl_trait),
        Type::Path(p) => p.path.segments.iter().find_map(|s| match &s.arguments {
            syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
                syn::GenericArgument::Type(t) => find_impl_trait(t),
                _ => None,
            }),
            _ => None,
        }),
        _ => None,
    }
}

// Arguments are taken by name, so each needs one.
fn plain_argument_patterns(cmd: &Command<'_>, errors: &mut Vec<syn::Error>) {
    for arg in &cmd.args {
        if arg.key.is_none() {
            errors.push(syn::Error::new_spanned(
                arg.pat,
                "a command argument must be a plain name (`name: Type`), since requests pass arguments by name",
            ));
        }
    }
}

// Two arguments must not map to the same key after renaming.
fn distinct_keys(cmd: &Command<'_>, errors: &mut Vec<syn::Error>) {
    let mut seen: HashMap<&str, &syn::Pat> = HashMap::new();
    for arg in &cmd.args {
        let Some(key) = arg.key.as_deref() else {
            continue;
        };
        if let Some(first) = seen.insert(key, arg.pat) {
            errors.push(syn::Error::new_spanned(
                arg.pat,
                format!(
                    "arguments `{}` and `{}` both map to the key `{key}`; rename one of them",
                    quote::ToTokens::to_token_stream(first),
                    quote::ToTokens::to_token_stream(arg.pat),
                ),
            ));
        }
    }
}

// `blocking` moves a sync body to the blocking pool; an async body has nothing to move.
fn blocking_is_sync(cmd: &Command<'_>, errors: &mut Vec<syn::Error>) {
    if let (Some(span), true) = (cmd.blocking, cmd.is_async) {
        errors.push(syn::Error::new(
            span,
            "`blocking` is for sync functions: an `async fn` already runs without blocking; remove `blocking` or `async`",
        ));
    }
}

// The router calls commands as plain safe functions.
fn not_unsafe_or_const(cmd: &Command<'_>, errors: &mut Vec<syn::Error>) {
    let sig = &cmd.original.sig;
    if let Some(u) = &sig.unsafety {
        errors.push(syn::Error::new(
            u.span,
            "a command cannot be `unsafe fn`: requests come from outside the core; wrap the unsafe call in a safe function",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            "a command cannot have an `extern` ABI",
        ));
    }
    if let Some(v) = &sig.variadic {
        errors.push(syn::Error::new(v.span(), "a command cannot be variadic"));
    }
}
