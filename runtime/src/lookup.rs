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
#[inline(always)]
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    let mut h = (len as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        h = mix(h, word(chunk));
    }
    let rest = chunks.remainder().len();
    if rest > 0 {
        // Read the tail with loads that stay inside the slice (overlapping the last full word
        // where there is one) instead of copying it into a zeroed buffer.
        let tail = if len >= 8 {
            word(&bytes[len - 8..]) >> ((8 - rest) * 8)
        } else if rest >= 4 {
            let lo = u64::from(half(&bytes[..4]));
            let hi = u64::from(half(&bytes[rest - 4..]));
            lo | (hi << ((rest - 4) * 8))
        } else {
            let (a, b, c) = (bytes[0], bytes[rest / 2], bytes[rest - 1]);
            u64::from(a) | (u64::from(b) << ((rest / 2) * 8)) | (u64::from(c) << ((rest - 1) * 8))
        };
        h = mix(h, tail);
    }
    h ^= h >> 32;
    h = h.wrapping_mul(K);
    h ^ (h >> 29)
}

#[inline(always)]
fn mix(h: u64, word: u64) -> u64 {
    (h ^ word).wrapping_mul(K).rotate_left(31)
}

#[inline(always)]
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn half(bytes: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(w)
}

/// One slot: the high half of the name's hash (to skip most comparisons) and its id.
#[derive(Debug, Clone, Copy)]
struct Slot {
    tag: u32,
    id: u32,
}

/// A table from command name to [`CommandId`].
///
/// Names live in one contiguous buffer, so a lookup touches the slot array, one span and the
/// name's bytes: no pointer chasing through separately allocated strings.
#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    slots: Box<[Slot]>,
    mask: usize,
    /// `(start, end)` of each name in `text`, by id.
    spans: Box<[(u32, u32)]>,
    text: Box<str>,
}

impl Lookup {
    /// Builds the table over `names`; the id of `names[i]` is `i`. Names must be distinct.
    pub(crate) fn new<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> Self {
        let size = (names.len() * 2).next_power_of_two().max(8);
        let mask = size - 1;
        let mut slots = vec![Slot { tag: 0, id: EMPTY }; size].into_boxed_slice();
        let mut text = String::new();
        let mut spans = Vec::with_capacity(names.len());
        for (id, name) in names.enumerate() {
            let start = text.len() as u32;
            text.push_str(name);
            spans.push((start, text.len() as u32));
            let h = hash(name.as_bytes());
            let mut slot = h as usize & mask;
            while slots[slot].id != EMPTY {
                slot = (slot + 1) & mask;
            }
            slots[slot] = Slot {
                tag: (h >> 32) as u32,
                id: id as u32,
            };
        }
        Self {
            slots,
            mask,
            spans: spans.into(),
            text: text.into(),
        }
    }

    /// The id of `name`, if it is in the table.
    #[inline]
    pub(crate) fn get(&self, name: &str) -> Option<CommandId> {
        let h = hash(name.as_bytes());
        let tag = (h >> 32) as u32;
        let mut slot = h as usize & self.mask;
        loop {
            let Slot { tag: t, id } = self.slots[slot];
            if id == EMPTY {
                return None;
            }
            if t == tag {
                let (start, end) = self.spans[id as usize];
                if self.text.as_bytes().get(start as usize..end as usize) == Some(name.as_bytes()) {
                    return Some(CommandId::new(id));
                }
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
        // Every tail length reads only its own bytes.
        let text = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let hashes: Vec<u64> = (0..text.len()).map(|n| hash(&text[..n])).collect();
        let mut unique = hashes.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), hashes.len());
    }
}
