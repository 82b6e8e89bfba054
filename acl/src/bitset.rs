//! Fixed-size bit sets over command ids.

use std::borrow::Cow;
use std::fmt;

/// The dense index of a command in an [`Acl`](crate::Acl)'s sorted command universe.
///
/// Ids are assigned by the ACL, not by the router: the same ACL always gives a command the same id,
/// which is what lets the build step emit allow and deny sets as static bit sets.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(u32);

impl CommandId {
    /// The id with the given index. Only meaningful together with the ACL that defined it.
    pub const fn new(index: u32) -> Self {
        Self(index)
    }

    /// The index of this id into the ACL's command list.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A set of command ids, stored as 64-bit words (bit `i % 64` of word `i / 64` is id `i`).
///
/// It can borrow `'static` words, so tables generated at build time cost nothing to load,
/// or own its words when an ACL is built at run time.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Bits {
    words: Cow<'static, [u64]>,
}

impl Bits {
    /// A set over `'static` words, as generated code writes it.
    pub const fn from_static(words: &'static [u64]) -> Self {
        Self {
            words: Cow::Borrowed(words),
        }
    }

    /// An empty set with room for `len` ids.
    pub fn with_len(len: usize) -> Self {
        Self {
            words: Cow::Owned(vec![0; words_for(len)]),
        }
    }

    /// Whether `id` is in the set. Ids past the end are not.
    #[inline]
    pub fn contains(&self, id: CommandId) -> bool {
        contains(&self.words, id)
    }

    /// Adds `id`, growing the set if needed.
    pub fn insert(&mut self, id: CommandId) {
        let words = self.words.to_mut();
        let word = id.index() / 64;
        if words.len() <= word {
            words.resize(word + 1, 0);
        }
        words[word] |= 1 << (id.index() % 64);
    }

    /// The underlying words.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// The ids in the set, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = CommandId> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            (0..64u32)
                .filter(move |bit| word & (1 << bit) != 0)
                .map(move |bit| CommandId::new(w as u32 * 64 + bit))
        })
    }

    /// Whether the set has no id.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }
}

impl fmt::Debug for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(CommandId::index))
            .finish()
    }
}

impl FromIterator<CommandId> for Bits {
    fn from_iter<I: IntoIterator<Item = CommandId>>(iter: I) -> Self {
        let mut bits = Bits::default();
        for id in iter {
            bits.insert(id);
        }
        bits
    }
}

pub(crate) fn words_for(len: usize) -> usize {
    len.div_ceil(64)
}

#[inline(always)]
pub(crate) fn contains(words: &[u64], id: CommandId) -> bool {
    match words.get(id.index() / 64) {
        Some(word) => (word >> (id.index() % 64)) & 1 == 1,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_and_contains_across_words() {
        let mut bits = Bits::with_len(10);
        for i in [0, 5, 63, 64, 200] {
            bits.insert(CommandId::new(i));
        }
        for i in 0..300 {
            let expected = [0, 5, 63, 64, 200].contains(&i);
            assert_eq!(bits.contains(CommandId::new(i)), expected, "id {i}");
        }
        assert_eq!(
            bits.iter().map(CommandId::index).collect::<Vec<_>>(),
            vec![0, 5, 63, 64, 200]
        );
    }

    #[test]
    fn static_words_are_borrowed() {
        static WORDS: [u64; 2] = [0b101, 1];
        let bits = Bits::from_static(&WORDS);
        assert!(bits.contains(CommandId::new(0)));
        assert!(!bits.contains(CommandId::new(1)));
        assert!(bits.contains(CommandId::new(2)));
        assert!(bits.contains(CommandId::new(64)));
        assert!(!bits.contains(CommandId::new(128)));
        assert!(Bits::default().is_empty());
    }
}
