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
                "`#[command]` can only be used on a function, like `#[command] fn name(arg: Type) -> T { … }`",
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
            #[diagnostic::do_not_recommend]
            impl __gh::Command for #ident {
                const ENTRY: __gh::CommandEntry = __gh::CommandEntry::new(&__INFO, __invoke, ::core::option::Option::None, |_| {});
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

    let keys: Vec<&str> = cmd.args.iter().filter_map(|a| a.key.as_deref()).collect();
    let tys: Vec<syn::Type> = cmd.args.iter().map(|a| with_lifetime(a.ty, &lt)).collect();
    let spans: Vec<Span> = cmd.args.iter().map(|a| a.ty.span()).collect();
    let indexes: Vec<LitInt> = (0..cmd.args.len())
        .map(|i| LitInt::new(&i.to_string(), Span::call_site()))
        .collect();
    let vars: Vec<syn::Ident> = (0..cmd.args.len())
        .map(|i| format_ident!("__arg{}", i))
        .collect();

    // A type that is neither deserialisable nor injected must be reported once, at the
    // argument's type, in the words of `FromInvoke`. So every generated body that uses argument
    // types first asks for `<T as FromInvoke<'_>>` (`check`), and every later use is blamed on
    // the same span (a turbofish of the user's type): rustc reports the first failure in a body
    // and drops later ones at that span. The bodies' reports are then identical, and cargo
    // prints them once. Lifetimes are elided in `check` so that the message reads `&Note`, not
    // `&'__gh Note`.
    let check = |i: usize| {
        let ty = with_lifetime(cmd.args[i].ty, &Lifetime::new("'_", Span::call_site()));
        quote_spanned!(spans[i]=> let _: bool = <#ty as __gh::FromInvoke<'_>>::FROM_PARAMS;)
    };
    let fill_key = tys.iter().enumerate().map(|(i, ty)| {
        let (check, index) = (check(i), &indexes[i]);
        let next = quote_spanned!(spans[i]=> __gh::next_value::<#ty, __A>(__map));
        quote! {
            #index => {
                #check
                self.#index = ::core::option::Option::Some(#next?);
            }
        }
    });
    let fill_seq = tys.iter().enumerate().map(|(i, ty)| {
        let (check, index) = (check(i), &indexes[i]);
        let next = quote_spanned!(spans[i]=> __gh::next_element::<#ty, __A>(__seq));
        quote! {
            #check
            if <#ty as __gh::FromInvoke<'__gh>>::FROM_PARAMS {
                *__current = ::core::option::Option::Some(#index);
                match #next? {
                    ::core::option::Option::Some(__v) => {
                        self.#index = ::core::option::Option::Some(__v);
                    }
                    ::core::option::Option::None => {
                        *__current = ::core::option::Option::None;
                        return ::core::result::Result::Ok(());
                    }
                }
            }
        }
    });
    let checks: Vec<TokenStream> = (0..tys.len()).map(check).collect();
    // Spanned and elided as in `check`, so a type that is not an argument is reported once.
    let from_params = cmd.args.iter().zip(&spans).map(|(a, &span)| {
        let ty = with_lifetime(a.ty, &Lifetime::new("'_", Span::call_site()));
        quote_spanned!(span=> <#ty as __gh::FromInvoke<'_>>::FROM_PARAMS)
    });
    let finish = tys.iter().enumerate().map(|(i, ty)| {
        let (index, var, key) = (&indexes[i], &vars[i], keys[i]);
        let call = quote_spanned!(spans[i]=> __gh::finish::<#ty>(__slots.#index, &__inv, #key));
        quote! {
            let #var: #ty = match #call {
                ::core::result::Result::Ok(__v) => __v,
                ::core::result::Result::Err(__e) => return __fail(__e),
            };
        }
    });
    let requirements = tys
        .iter()
        .enumerate()
        .map(|(i, ty)| quote_spanned!(spans[i]=> __gh::requires::<#ty>(__r);));
    let reply = quote_spanned! {cmd.output_span()=>
        {
            #[allow(unused_imports)]
            use __gh::{
                ReplyResultFallback as _, ReplyValueFallback as _, ResultKind as _,
                SerializeKind as _, Unsendable as _,
            };
            (&__value).reply_kind().reply(__value)
        }
    };
    let parse = quote! {
        match __gh::parse_params::<__Slots<'__gh>>(__inv.params()) {
            ::core::result::Result::Ok(__s) => __s,
            ::core::result::Result::Err(__e) => return __fail(__e),
        }
    };
    let call = quote! { #ident(#(#vars),*) };

    // `__call` takes filled slots to a reply; `__invoke` (two-pass) and `__scan` (single-pass)
    // only differ in how the slots are filled. A blocking command runs whole on the blocking
    // pool from `__run`, so it has no single-pass path.
    let (invoke, scan) = if cmd.blocking.is_some() {
        let invoke = quote! {
            fn __run<'__gh>(__inv: __gh::Invocation<'__gh>) -> __gh::Reply {
                let __fail = ::core::result::Result::Err;
                #(#checks)*
                let __slots = #parse;
                #(#finish)*
                let __value = #call;
                #reply
            }
            fn __invoke<'__gh>(_: __gh::Invocation<'__gh>) -> __gh::Handled<'__gh> {
                __gh::Handled::Blocking(__run)
            }
        };
        (invoke, quote!(::core::option::Option::None))
    } else {
        let body = if cmd.is_async {
            quote! {
                __gh::pending(async move {
                    let __value = #call.await;
                    #reply
                })
            }
        } else {
            quote! {
                let __value = #call;
                __gh::Handled::Ready(#reply)
            }
        };
        let invoke = quote! {
            #[inline]
            fn __call<'__gh>(
                __inv: __gh::Invocation<'__gh>,
                __slots: __Slots<'__gh>,
            ) -> __gh::Handled<'__gh> {
                let __fail = |__e| __gh::Handled::Ready(::core::result::Result::Err(__e));
                #(#checks)*
                #(#finish)*
                #body
            }
            fn __invoke<'__gh>(__inv: __gh::Invocation<'__gh>) -> __gh::Handled<'__gh> {
                let __fail = |__e| __gh::Handled::Ready(::core::result::Result::Err(__e));
                let __slots = #parse;
                __call(__inv, __slots)
            }
            fn __scan<'__gh>(
                __inv: __gh::Invocation<'__gh>,
                __scanner: &mut __gh::Scanner<'__gh>,
            ) -> ::core::option::Option<__gh::Handled<'__gh>> {
                let (__slots, __inv) = __scanner.params::<__Slots<'__gh>>(__inv)?;
                ::core::option::Option::Some(__call(__inv, __slots))
            }
        };
        (invoke, quote!(::core::option::Option::Some(__scan)))
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
                const FROM_PARAMS: &'static [bool] = &[#(#from_params),*];

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

            fn __requirements<'__gh>(__r: &mut __gh::Requirements) {
                let _ = &__r;
                #(#checks)*
                #(#requirements)*
            }

            const __INFO: __gh::CommandInfo = __gh::CommandInfo {
                name: #name,
                args: &[#(#keys),*],
                file: #file,
                line: #line,
            };

            #[automatically_derived]
            #[diagnostic::do_not_recommend]
            impl __gh::Command for #ident {
                const ENTRY: __gh::CommandEntry =
                    __gh::CommandEntry::new(&__INFO, __invoke, #scan, __requirements);
            }
        };
    }
}
