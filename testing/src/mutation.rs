//! Byte mutations for the property-based fuzz tests: a valid input (a real
//! change, frame or image) with bits flipped, bytes overwritten, the tail
//! cut off or bytes inserted. Positions are taken modulo the input's length,
//! so every generated mutation applies to every input.

use proptest::prelude::*;

/// One mutation of a corpus entry.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Flips bit `bit` of the byte at `at`.
    Flip {
        /// Position (modulo the length).
        at: usize,
        /// Bit, 0 to 7.
        bit: u8,
    },
    /// Overwrites the byte at `at`.
    Set {
        /// Position (modulo the length).
        at: usize,
        /// The new byte.
        byte: u8,
    },
    /// Cuts the input at `at`.
    Truncate {
        /// Position (modulo the length).
        at: usize,
    },
    /// Inserts `bytes` at `at`.
    Insert {
        /// Position (modulo the length plus one).
        at: usize,
        /// What is inserted (1 to 15 bytes).
        bytes: Vec<u8>,
    },
}

/// Any one mutation.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
    ]
}

/// `bytes` with `mutations` applied in order.
pub fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let n = bytes.len().max(1);
        match m {
            Mutation::Flip { at, bit } => {
                if let Some(b) = bytes.get_mut(at % n) {
                    *b ^= 1 << bit;
                }
            }
            Mutation::Set { at, byte } => {
                if let Some(b) = bytes.get_mut(at % n) {
                    *b = *byte;
                }
            }
            Mutation::Truncate { at } => bytes.truncate(at % n),
            Mutation::Insert { at, bytes: more } => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, more.iter().copied());
            }
        }
    }
    bytes
}
