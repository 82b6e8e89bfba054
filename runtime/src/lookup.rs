//! Name → id lookup: an open-addressed table built once per router.
//!
//! The hash is our own and fixed (no random seed), so a table can also be generated at build
//! time. The key set is the ACL's command universe, chosen by the application, and the table is
//! kept at most half full, so the longest probe sequence is bounded when the table is built and
//! no request can make a lookup slower than that.

use crate::bitset::CommandId;

const EMPTY: u32 = u32::MAX;
const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// The stable hash used by the lookup table.
#[inline]
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word))
            .wrapping_mul(K)
            .rotate_left(31);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(word))
            .wrapping_mul(K)
            .rotate_left(31);
    }
    h ^= h >> 32;
    h = h.wrapping_mul(K);
    h ^ (h >> 29)
}

/// A table from command name to [`CommandId`].
#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    /// Slot → index into `names`, or `EMPTY`.
    slots: Box<[u32]>,
    mask: usize,
    names: Box<[Box<str>]>,
}

impl Lookup {
    /// Builds the table over `names`; the id of `names[i]` is `i`. Names must be distinct.
    pub(crate) fn new<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> Self {
        let names: Box<[Box<str>]> = names.map(Box::from).collect();
        let size = (names.len() * 2).next_power_of_two().max(8);
        let mask = size - 1;
        let mut slots = vec![EMPTY; size].into_boxed_slice();
        for (id, name) in names.iter().enumerate() {
            let mut slot = hash(name.as_bytes()) as usize & mask;
            while slots[slot] != EMPTY {
                slot = (slot + 1) & mask;
            }
            slots[slot] = id as u32;
        }
        Self { slots, mask, names }
    }

    /// The id of `name`, if it is in the table.
    #[inline]
    pub(crate) fn get(&self, name: &str) -> Option<CommandId> {
        let mut slot = hash(name.as_bytes()) as usize & self.mask;
        loop {
            let id = self.slots[slot];
            if id == EMPTY {
                return None;
            }
            if *self.names[id as usize] == *name {
                return Some(CommandId::new(id));
            }
            slot = (slot + 1) & self.mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_name_and_nothing_else() {
        let names: Vec<String> = (0..5000).map(|i| format!("command_{i}")).collect();
        let lookup = Lookup::new(names.iter().map(String::as_str));
        for (i, name) in names.iter().enumerate() {
            assert_eq!(lookup.get(name), Some(CommandId::new(i as u32)));
        }
        for probe in [
            "",
            "command_",
            "command_5000",
            "Command_1",
            "command_1 ",
            "x",
        ] {
            assert_eq!(lookup.get(probe), None, "{probe:?}");
        }
    }

    #[test]
    fn empty_table_finds_nothing() {
        let lookup = Lookup::new(std::iter::empty());
        assert_eq!(lookup.get("add"), None);
    }

    #[test]
    fn hash_is_stable() {
        // Generated tables depend on this value never changing.
        assert_eq!(hash(b"add"), hash(b"add"));
        assert_ne!(hash(b"add"), hash(b"adc"));
        assert_ne!(hash(b"a"), hash(b"a\0"));
    }
}
