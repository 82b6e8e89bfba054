//! Bit sets over command ids: [`Bits`] and [`CommandId`] come from `gatehouse-acl`; a caller's
//! grant words are tested here.

pub use gatehouse_acl::{Bits, CommandId};

/// How many 64-bit words hold `len` ids.
pub(crate) fn words_for(len: usize) -> usize {
    len.div_ceil(64)
}

/// Whether bit `id` is set in `words` (bit `i % 64` of word `i / 64`); ids past the end are not.
#[inline(always)]
pub(crate) fn contains(words: &[u64], id: CommandId) -> bool {
    match words.get(id.index() / 64) {
        Some(word) => (word >> (id.index() % 64)) & 1 == 1,
        None => false,
    }
}
