//! Finding the application's commands in its sources: `#[command]` functions (with their
//! `rename`) and the paths listed in `commands![…]`, so that nobody has to list them twice.

use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A `#[command]` function found in the sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// The function's name.
    pub(crate) function: String,
    /// The command's name (the function's, or its `rename`).
    pub(crate) command: String,
}

/// A path listed in `commands![…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    /// The last segment of the path (the function's name).
    pub(crate) function: String,
    /// Where the list is.
    pub(crate) file: PathBuf,
    /// Its line.
    pub(crate) line: usize,
}

/// What the sources hold.
#[derive(Debug, Default)]
pub(crate) struct Discovery {
    pub(crate) commands: Vec<Found>,
    pub(crate) listed: Vec<Listed>,
    /// Every file read, for `rerun-if-changed`.
    pub(crate) files: Vec<PathBuf>,
}

/// Scans every `.rs` file under `dir`. A file that does not parse is skipped: the compiler will
/// report it better than we can.
pub(crate) fn scan(dir: &Path) -> std::io::Result<Discovery> {
    let mut discovery = Discovery::default();
    let mut stack = vec![dir.to_owned()];
    let mut files = Vec::new();
    while let Some(dir) = stack.pop() {
        if !dir.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        if let Ok(file) = syn::parse_file(&text) {
            let mut visitor = Visitor {
                discovery: &mut discovery,
                file: &path,
            };
            visitor.visit_file(&file);
        }
        discovery.files.push(path);
    }
    Ok(discovery)
}

struct Visitor<'d> {
    discovery: &'d mut Discovery,
    file: &'d Path,
}

fn last_segment(path: &syn::Path) -> Option<String> {
    path.segments.last().map(|s| s.ident.to_string())
}

impl<'ast> Visit<'ast> for Visitor<'_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        for attr in &f.attrs {
            if last_segment(attr.path()).as_deref() != Some("command") {
                continue;
            }
            let function = f.sig.ident.to_string();
            let mut command = function.trim_start_matches("r#").to_owned();
            if let syn::Meta::List(list) = &attr.meta {
                let _ = list.parse_nested_meta(|meta| {
                    if meta.path.is_ident("rename") {
                        let lit: syn::LitStr = meta.value()?.parse()?;
                        command = lit.value();
                    } else if meta.input.peek(syn::Token![=]) {
                        let _: syn::Expr = meta.value()?.parse()?;
                    }
                    Ok(())
                });
            }
            self.discovery.commands.push(Found { function, command });
        }
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if last_segment(&m.path).as_deref() == Some("commands") {
            let line = m
                .path
                .segments
                .first()
                .map_or(0, |s| s.ident.span().start().line);
            let parser = |input: syn::parse::ParseStream<'_>| {
                if input.peek(syn::Token![crate]) && input.peek2(syn::Token![=]) {
                    input.parse::<syn::Token![crate]>()?;
                    input.parse::<syn::Token![=]>()?;
                    input.parse::<syn::Path>()?;
                    input.parse::<syn::Token![;]>()?;
                }
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated(input)
            };
            if let Ok(paths) = syn::parse::Parser::parse2(parser, m.tokens.clone()) {
                for path in paths {
                    if let Some(function) = last_segment(&path) {
                        self.discovery.listed.push(Listed {
                            function,
                            file: self.file.to_owned(),
                            line,
                        });
                    }
                }
            }
        }
        syn::visit::visit_macro(self, m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_commands_renames_and_lists() {
        let dir = std::env::temp_dir().join(format!("gatehouse-discover-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("nested")).expect("temp dir");
        std::fs::write(
            dir.join("main.rs"),
            r#"
            #[gatehouse::command]
            fn greet(name: String) -> String { name }
            mod notes {
                #[command(rename = "notes.read", rename_all = "snake_case")]
                pub fn read_note() {}
            }
            fn main() {
                let _ = gatehouse::commands![greet, notes::read_note];
            }
            "#,
        )
        .expect("write");
        std::fs::write(
            dir.join("nested/more.rs"),
            "#[command(blocking)] fn slow() {}",
        )
        .expect("write");
        let d = scan(&dir).expect("scan");
        let names: Vec<&str> = d.commands.iter().map(|c| c.command.as_str()).collect();
        assert_eq!(names, ["greet", "notes.read", "slow"]);
        let listed: Vec<&str> = d.listed.iter().map(|l| l.function.as_str()).collect();
        assert_eq!(listed, ["greet", "read_note"]);
        assert_eq!(d.listed[0].line, 9);
        assert_eq!(d.files.len(), 2);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
