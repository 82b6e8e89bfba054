//! `#[command(…)]` arguments.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::{LitStr, Path};

use crate::case::Case;

/// The keys `#[command]` accepts.
const KEYS: &[&str] = &["rename", "rename_all", "plugin", "blocking", "crate"];

/// What the attribute said.
pub(crate) struct Attrs {
    pub(crate) rename: Option<LitStr>,
    pub(crate) rename_all: Case,
    pub(crate) blocking: Option<Span>,
    pub(crate) krate: Option<Path>,
    pub(crate) plugin: Option<LitStr>,
}

/// Parses the attribute's arguments, collecting every mistake into `errors`.
pub(crate) fn parse(args: TokenStream, errors: &mut Vec<syn::Error>) -> Attrs {
    let mut attrs = Attrs {
        rename: None,
        rename_all: Case::Camel,
        blocking: None,
        krate: None,
        plugin: None,
    };
    let mut seen: Vec<String> = Vec::new();
    let parser = syn::meta::parser(|meta| {
        let key = match meta.path.get_ident() {
            Some(ident) => ident.to_string(),
            None => return Err(meta.error(unknown_key_message(&path_text(&meta.path)))),
        };
        if seen.contains(&key) {
            return Err(meta.error(format!("duplicate argument `{key}`")));
        }
        seen.push(key.clone());
        match key.as_str() {
            "rename" => {
                let lit: LitStr = meta.value()?.parse()?;
                if lit.value().is_empty() {
                    return Err(syn::Error::new(
                        lit.span(),
                        "a command name cannot be empty",
                    ));
                }
                attrs.rename = Some(lit);
            }
            "rename_all" => {
                let lit: LitStr = meta.value()?.parse()?;
                attrs.rename_all = Case::from_name(&lit.value()).ok_or_else(|| {
                    let expected: Vec<String> =
                        Case::ALL.iter().map(|(n, _)| format!("\"{n}\"")).collect();
                    syn::Error::new(
                        lit.span(),
                        format!(
                            "unknown case {:?} for `rename_all`, expected one of {}",
                            lit.value(),
                            expected.join(", ")
                        ),
                    )
                })?;
            }
            "blocking" => {
                attrs.blocking = Some(
                    meta.path
                        .get_ident()
                        .map_or_else(Span::call_site, |i| i.span()),
                )
            }
            "crate" => attrs.krate = Some(meta.value()?.parse()?),
            "plugin" => {
                let lit: LitStr = meta.value()?.parse()?;
                let name = lit.value();
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Err(syn::Error::new(
                        lit.span(),
                        "a plugin name is letters, digits, `-` and `_`, like `fs` or `my-plugin`",
                    ));
                }
                attrs.plugin = Some(lit);
            }
            _ => return Err(meta.error(unknown_key_message(&key))),
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        errors.push(e);
    }
    attrs
}

fn unknown_key_message(key: &str) -> String {
    let expected: Vec<String> = KEYS.iter().map(|k| format!("`{k}`")).collect();
    format!(
        "unknown argument `{key}`, expected one of {}",
        expected.join(", ")
    )
}

fn path_text(path: &Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}
