//! The command, lowered from `syn::ItemFn` into what expansion needs, borrowing the user's tokens
//! so that every stage can point at them.

use proc_macro2::Span;
use syn::visit_mut::VisitMut;
use syn::{FnArg, Ident, ItemFn, Lifetime, Pat, Path, ReturnType, Type};

use crate::attr::Attrs;

/// A `#[command]` function.
pub(crate) struct Command<'a> {
    pub(crate) original: &'a ItemFn,
    /// The name callers use.
    pub(crate) name: String,
    pub(crate) args: Vec<Arg<'a>>,
    pub(crate) is_async: bool,
    pub(crate) blocking: Option<Span>,
    pub(crate) krate: Path,
}

/// One argument of the function.
pub(crate) struct Arg<'a> {
    pub(crate) pat: &'a Pat,
    pub(crate) ty: &'a Type,
    /// The key in a `params` object; `None` when the pattern is not a plain identifier.
    pub(crate) key: Option<String>,
}

impl<'a> Command<'a> {
    pub(crate) fn from_syn(original: &'a ItemFn, attrs: Attrs) -> Self {
        let sig = &original.sig;
        let args = sig
            .inputs
            .iter()
            .filter_map(|input| match input {
                FnArg::Typed(pat_type) => Some(Arg {
                    pat: &pat_type.pat,
                    ty: &pat_type.ty,
                    key: match &*pat_type.pat {
                        Pat::Ident(p) => Some(attrs.rename_all.apply(&ident_text(&p.ident))),
                        _ => None,
                    },
                }),
                FnArg::Receiver(_) => None,
            })
            .collect();
        Command {
            original,
            name: {
                let name = attrs
                    .rename
                    .as_ref()
                    .map_or_else(|| ident_text(&sig.ident), |lit| lit.value());
                match &attrs.plugin {
                    Some(plugin) => format!("plugin:{}|{name}", plugin.value()),
                    None => name,
                }
            },
            args,
            is_async: sig.asyncness.is_some(),
            blocking: attrs.blocking,
            krate: attrs
                .krate
                .unwrap_or_else(|| syn::parse_quote!(::gatehouse)),
        }
    }

    pub(crate) fn ident(&self) -> &'a Ident {
        &self.original.sig.ident
    }

    /// The span error messages about the result point at.
    pub(crate) fn output_span(&self) -> Span {
        match &self.original.sig.output {
            ReturnType::Type(_, ty) => syn::spanned::Spanned::span(&**ty),
            ReturnType::Default => self.ident().span(),
        }
    }
}

/// An identifier as the user means it (`r#type` is `type`).
pub(crate) fn ident_text(ident: &Ident) -> String {
    let text = ident.to_string();
    text.strip_prefix("r#").map_or(text.clone(), str::to_owned)
}

/// The argument type with every lifetime, named or elided, replaced by `lifetime`: arguments
/// borrow from the request or the router for exactly as long as the call.
pub(crate) fn with_lifetime(ty: &Type, lifetime: &Lifetime) -> Type {
    struct Rewrite<'l>(&'l Lifetime);
    impl VisitMut for Rewrite<'_> {
        fn visit_lifetime_mut(&mut self, l: &mut Lifetime) {
            *l = Lifetime::new(&format!("'{}", self.0.ident), l.span());
        }
        fn visit_type_reference_mut(&mut self, r: &mut syn::TypeReference) {
            if r.lifetime.is_none() {
                r.lifetime = Some(Lifetime::new(
                    &format!("'{}", self.0.ident),
                    r.and_token.span,
                ));
            }
            syn::visit_mut::visit_type_reference_mut(self, r);
        }
    }
    let mut ty = ty.clone();
    Rewrite(lifetime).visit_type_mut(&mut ty);
    ty
}
