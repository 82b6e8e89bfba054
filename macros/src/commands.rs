//! `commands![a, path::to::b]`: a static slice of command entries.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Path, Token};

struct Input {
    krate: Path,
    commands: Punctuated<Path, Token![,]>,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut krate = syn::parse_quote!(::gatehouse);
        if input.peek(Token![crate]) && input.peek2(Token![=]) {
            input.parse::<Token![crate]>()?;
            input.parse::<Token![=]>()?;
            krate = input.parse()?;
            input.parse::<Token![;]>()?;
        }
        let commands = Punctuated::parse_terminated(input)?;
        Ok(Input { krate, commands })
    }
}

/// Expands the macro's input.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let Input { krate, commands } = match syn::parse2(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for path in &commands {
        let text = path.to_token_stream().to_string().replace(' ', "");
        if seen.contains(&text) {
            errors.push(
                syn::Error::new(path.span(), format!("command `{text}` is listed twice"))
                    .to_compile_error(),
            );
        }
        seen.push(text);
    }
    let entries = commands
        .iter()
        .map(|path| quote_spanned!(path.span()=> <#path as #krate::__private::Command>::ENTRY));
    quote! {{
        #(#errors)*
        const __GATEHOUSE_COMMANDS: &[#krate::__private::CommandEntry] = &[#(#entries),*];
        __GATEHOUSE_COMMANDS
    }}
}
