//! `#[command]`: IR → tokens.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Lifetime, LitInt};

use crate::ast::{with_lifetime, Command};
use crate::{attr, check};

/// Expands `#[command(args)] item`.
pub(crate) fn command(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    let attrs = attr::parse(args, &mut errors);
    let original: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let e = syn::Error::new(
                Span::call_site(),
                "`#[command]` goes on a function: `#[command] fn name(arg: Type) -> Reply { … }`",
            );
            let error = e.to_compile_error();
            return quote! { #error #item };
        }
    };
    let cmd = Command::from_syn(&original, attrs);
    check::check(&cmd, &mut errors);
    if errors.is_empty() {
        expand(&cmd)
    } else {
        fallback(&cmd, errors)
    }
}

/// On error: the user's function unchanged, the errors, and a stub command so that
/// `commands![…]` naming it does not add errors of its own.
fn fallback(cmd: &Command<'_>, errors: Vec<syn::Error>) -> TokenStream {
    let original = cmd.original;
    let errors = errors.iter().map(syn::Error::to_compile_error);
    let has_receiver = original
        .sig
        .inputs
        .iter()
        .any(|i| matches!(i, FnArg::Receiver(_)));
    if has_receiver {
        // Inside an `impl` block no struct may follow; the function alone carries the error.
        return quote! { #(#errors)* #original };
    }
    let ident = cmd.ident();
    let vis = &original.vis;
    let krate = &cmd.krate;
    let name = &cmd.name;
    quote! {
        #(#errors)*
        #original
        #[doc(hidden)]
        #[allow(non_camel_case_types, missing_docs, unreachable_pub, dead_code)]
        #vis struct #ident {}
        const _: () = {
            use #krate::__private as __gh;
            fn __invoke<'__gh>(_: __gh::Invocation<'__gh>) -> __gh::Handled<'__gh> {
                ::core::unreachable!()
            }
            const __INFO: __gh::CommandInfo = __gh::CommandInfo { name: #name, args: &[], file: "", line: 0 };
            impl __gh::Command for #ident {
                const ENTRY: __gh::CommandEntry = __gh::CommandEntry::new(&__INFO, __invoke, |_| {});
            }
        };
    }
}

fn expand(cmd: &Command<'_>) -> TokenStream {
    let original = cmd.original;
    let ident = cmd.ident();
    let vis = &original.vis;
    let krate = &cmd.krate;
    let name = &cmd.name;
    let lt = Lifetime::new("'__gh", Span::call_site());
    let st = Lifetime::new("'static", Span::call_site());

    let keys: Vec<&str> = cmd.args.iter().filter_map(|a| a.key.as_deref()).collect();
    let tys: Vec<syn::Type> = cmd.args.iter().map(|a| with_lifetime(a.ty, &lt)).collect();
    let static_tys: Vec<syn::Type> = cmd.args.iter().map(|a| with_lifetime(a.ty, &st)).collect();
    let indexes: Vec<LitInt> = (0..cmd.args.len())
        .map(|i| LitInt::new(&i.to_string(), Span::call_site()))
        .collect();
    let vars: Vec<syn::Ident> = (0..cmd.args.len())
        .map(|i| format_ident!("__arg{}", i))
        .collect();

    // Each use of an argument's type is spanned on it, so a type that is neither deserialisable
    // nor injected is reported at that type.
    let seed = |ty: &syn::Type| quote_spanned!(ty.span()=> __gh::ArgSeed::<#ty>::new());
    let fill_key = tys.iter().zip(&indexes).map(|(ty, i)| {
        let seed = seed(ty);
        quote! {
            #i => {
                self.#i = ::core::option::Option::Some(
                    __gh::serde::de::MapAccess::next_value_seed(__map, #seed)?,
                );
            }
        }
    });
    let fill_seq = tys.iter().zip(&indexes).map(|(ty, i)| {
        let seed = seed(ty);
        quote! {
            if <#ty as __gh::FromInvoke<'__gh>>::FROM_PARAMS {
                *__current = ::core::option::Option::Some(#i);
                match __gh::serde::de::SeqAccess::next_element_seed(__seq, #seed)? {
                    ::core::option::Option::Some(__v) => self.#i = ::core::option::Option::Some(__v),
                    ::core::option::Option::None => {
                        *__current = ::core::option::Option::None;
                        return ::core::result::Result::Ok(());
                    }
                }
            }
        }
    });
    let finish = tys
        .iter()
        .zip(&indexes)
        .zip(&vars)
        .zip(&keys)
        .map(|(((ty, i), var), key)| {
            let call = quote_spanned!(ty.span()=> __gh::finish::<#ty>(__slots.#i, &__inv, #key));
            quote! {
                let #var: #ty = match #call {
                    ::core::result::Result::Ok(__v) => __v,
                    ::core::result::Result::Err(__e) => return __fail(__e),
                };
            }
        });
    let requirements = static_tys.iter().map(
        |ty| quote_spanned!(ty.span()=> <#ty as __gh::FromInvoke<'static>>::requirements(__r);),
    );
    let reply = quote_spanned! {cmd.output_span()=>
        {
            #[allow(unused_imports)]
            use __gh::{ResultKind as _, SerializeKind as _};
            (&__value).reply_kind().reply(__value)
        }
    };
    let extract = quote! {
        let __slots = match __gh::parse_params::<__Slots<'__gh>>(__inv.params()) {
            ::core::result::Result::Ok(__s) => __s,
            ::core::result::Result::Err(__e) => return __fail(__e),
        };
        #(#finish)*
    };
    let call = quote! { #ident(#(#vars),*) };

    let invoke = if cmd.is_async {
        quote! {
            fn __invoke<'__gh>(__inv: __gh::Invocation<'__gh>) -> __gh::Handled<'__gh> {
                let __fail = |__e| __gh::Handled::Ready(::core::result::Result::Err(__e));
                #extract
                __gh::pending(async move {
                    let __value = #call.await;
                    #reply
                })
            }
        }
    } else {
        let run = quote! {
            fn __run<'__gh>(__inv: __gh::Invocation<'__gh>) -> __gh::Reply {
                let __fail = ::core::result::Result::Err;
                #extract
                let __value = #call;
                #reply
            }
        };
        if cmd.blocking.is_some() {
            quote! {
                #run
                fn __invoke<'__gh>(_: __gh::Invocation<'__gh>) -> __gh::Handled<'__gh> {
                    __gh::Handled::Blocking(__run)
                }
            }
        } else {
            quote! {
                #run
                #[inline]
                fn __invoke<'__gh>(__inv: __gh::Invocation<'__gh>) -> __gh::Handled<'__gh> {
                    __gh::Handled::Ready(__run(__inv))
                }
            }
        }
    };
    let line = quote_spanned!(ident.span()=> ::core::line!());
    let file = quote_spanned!(ident.span()=> ::core::file!());

    quote! {
        #original

        #[doc(hidden)]
        #[allow(non_camel_case_types, missing_docs, unreachable_pub)]
        #vis struct #ident {}

        #[doc(hidden)]
        #[allow(non_snake_case, unused_qualifications, clippy::all, clippy::pedantic)]
        const _: () = {
            use #krate::__private as __gh;

            struct __Slots<'__gh>(
                #(::core::option::Option<#tys>,)*
                ::core::marker::PhantomData<&'__gh ()>,
            );

            #[automatically_derived]
            impl<'__gh> __gh::ArgSlots<'__gh> for __Slots<'__gh> {
                const KEYS: &'static [&'static str] = &[#(#keys),*];

                fn empty() -> Self {
                    __Slots(#(::core::option::Option::None::<#tys>,)* ::core::marker::PhantomData)
                }

                fn fill_key<__A: __gh::serde::de::MapAccess<'__gh>>(
                    &mut self,
                    __index: usize,
                    __map: &mut __A,
                ) -> ::core::result::Result<(), __A::Error> {
                    match __index {
                        #(#fill_key)*
                        _ => {
                            __gh::serde::de::MapAccess::next_value::<__gh::serde::de::IgnoredAny>(__map)?;
                        }
                    }
                    ::core::result::Result::Ok(())
                }

                #[allow(unused_variables)]
                fn fill_seq<__A: __gh::serde::de::SeqAccess<'__gh>>(
                    &mut self,
                    __seq: &mut __A,
                    __current: &mut ::core::option::Option<usize>,
                ) -> ::core::result::Result<(), __A::Error> {
                    #(#fill_seq)*
                    *__current = ::core::option::Option::None;
                    ::core::result::Result::Ok(())
                }
            }

            #invoke

            fn __requirements(__r: &mut __gh::Requirements) {
                let _ = &__r;
                #(#requirements)*
            }

            const __INFO: __gh::CommandInfo = __gh::CommandInfo {
                name: #name,
                args: &[#(#keys),*],
                file: #file,
                line: #line,
            };

            #[automatically_derived]
            impl __gh::Command for #ident {
                const ENTRY: __gh::CommandEntry =
                    __gh::CommandEntry::new(&__INFO, __invoke, __requirements);
            }
        };
    }
}
