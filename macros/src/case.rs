//! Argument key cases, as `rename_all` names them.

/// A naming convention for argument keys.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Case {
    Camel,
    Snake,
    Pascal,
    Kebab,
    ScreamingSnake,
}

impl Case {
    /// Every accepted `rename_all` value, as written.
    pub(crate) const ALL: &'static [(&'static str, Case)] = &[
        ("camelCase", Case::Camel),
        ("snake_case", Case::Snake),
        ("PascalCase", Case::Pascal),
        ("kebab-case", Case::Kebab),
        ("SCREAMING_SNAKE_CASE", Case::ScreamingSnake),
    ];

    pub(crate) fn from_name(name: &str) -> Option<Case> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
    }

    /// Applies the case to a Rust identifier written in snake_case.
    pub(crate) fn apply(self, ident: &str) -> String {
        let words: Vec<&str> = ident.split('_').filter(|w| !w.is_empty()).collect();
        let capitalize = |w: &str| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        };
        match self {
            Case::Snake => ident.to_owned(),
            Case::Camel => words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    if i == 0 {
                        (*w).to_owned()
                    } else {
                        capitalize(w)
                    }
                })
                .collect(),
            Case::Pascal => words.iter().map(|w| capitalize(w)).collect(),
            Case::Kebab => words.join("-"),
            Case::ScreamingSnake => words.join("_").to_uppercase(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Case;

    #[test]
    fn cases() {
        assert_eq!(Case::Camel.apply("file_path"), "filePath");
        assert_eq!(Case::Camel.apply("a"), "a");
        assert_eq!(Case::Camel.apply("max_len_2"), "maxLen2");
        assert_eq!(Case::Snake.apply("file_path"), "file_path");
        assert_eq!(Case::Pascal.apply("file_path"), "FilePath");
        assert_eq!(Case::Kebab.apply("file_path"), "file-path");
        assert_eq!(Case::ScreamingSnake.apply("file_path"), "FILE_PATH");
    }
}
