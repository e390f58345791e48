//! Inspection of the automerge chunks carried by a sync message, *before*
//! automerge sees them.
//!
//! A sync message carries its changes as a list of automerge storage chunks:
//! plain change chunks (type 1), DEFLATE-compressed change chunks (type 2) and
//! whole-document chunks (type 0, whose columns may each be DEFLATE-compressed).
//! automerge inflates compressed data without any bound, so a few kilobytes of
//! crafted input could expand to gigabytes. [`inspect`] walks the chunk
//! headers, inflates every compressed part through a reader capped at the
//! configured bound (so inflation stops as soon as the bound is passed), and
//! returns the changes' hashes and actors so that the caller can count them and
//! check actor bindings before applying anything.
//!
//! Bundle chunks (type 3) are not produced by automerge's sync protocol and are
//! refused.

use std::io::Read;

use automerge::{ActorId, Automerge, Change, ChangeHash};

use super::ops;

/// The four magic bytes every automerge chunk starts with.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
use super::ops::DEFLATE_BIT;

/// Why a message's chunks were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChunkError {
    /// The chunks would inflate past the configured bound, or hold too many changes.
    #[error("{0}")]
    TooLarge(&'static str),
    /// The bytes are not well-formed automerge chunks.
    #[error("{0}")]
    Malformed(&'static str),
}

/// One change found in a message.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeInfo {
    /// The change's hash.
    pub hash: ChangeHash,
    /// The actor that made it.
    pub actor: ActorId,
    /// The change itself (its operations already counted and within the bounds).
    pub change: Change,
}

/// What [`inspect`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    /// Every change the chunks hold (document chunks contribute all of theirs).
    pub changes: Vec<ChangeInfo>,
    /// Size in bytes of all chunks once every compressed part is inflated.
    pub inflated_bytes: u64,
    /// Operations in all chunks.
    pub ops: u64,
}

/// Limits applied by [`inspect`].
#[derive(Debug, Clone, Copy)]
pub struct ChunkLimits {
    /// Bound on the total size after inflation of all chunks of one message.
    pub max_inflated_bytes: u64,
    /// Bound on the number of changes in one message.
    pub max_changes: usize,
    /// Bound on the operations of one change.
    pub max_ops_per_change: u64,
    /// Bound on the operations of all changes of one message.
    pub max_ops: u64,
}

/// The message of a refusal for too many operations in one change.
pub const TOO_MANY_OPS_CHANGE: &str = "a change has more operations than the limit";
/// The message of a refusal for too many operations in one message.
pub const TOO_MANY_OPS_MESSAGE: &str = "the message's changes have more operations than the limit";

/// Walks the concatenated chunks `bytes` (an automerge sync message's
/// `changes`, joined) without ever inflating past `limits.max_inflated_bytes`.
pub fn inspect(chunks: &[&[u8]], limits: ChunkLimits) -> Result<Inspection, ChunkError> {
    let mut out = Inspection::default();
    for bytes in chunks {
        let mut rest: &[u8] = bytes;
        while !rest.is_empty() {
            let (header, after) = parse_header(rest)?;
            let data_len = usize::try_from(header.data_len)
                .map_err(|_| ChunkError::Malformed("chunk length out of range"))?;
            if after.len() < data_len {
                return Err(ChunkError::Malformed("truncated chunk"));
            }
            let chunk_len = header.header_len + data_len;
            let chunk = &rest[..chunk_len];
            let data = &after[..data_len];
            rest = &after[data_len..];
            match header.chunk_type {
                1 => {
                    add_size(&mut out, chunk_len as u64, limits)?;
                    add_ops(
                        &mut out,
                        ops::change_ops(data, limits.max_ops_per_change)?,
                        limits,
                    )?;
                    push_change(&mut out, chunk.to_vec(), limits)?;
                }
                2 => {
                    let budget = remaining(&out, limits);
                    let inflated = inflate_bounded(data, budget)?;
                    add_size(&mut out, inflated.len() as u64, limits)?;
                    add_ops(
                        &mut out,
                        ops::change_ops(&inflated, limits.max_ops_per_change)?,
                        limits,
                    )?;
                    let mut plain = Vec::with_capacity(inflated.len() + 16);
                    plain.extend_from_slice(&MAGIC);
                    plain.extend_from_slice(&header.checksum);
                    plain.push(1);
                    write_uleb(&mut plain, inflated.len() as u64);
                    plain.extend_from_slice(&inflated);
                    push_change(&mut out, plain, limits)?;
                }
                0 => {
                    let ops_cap = limits.max_ops.saturating_sub(out.ops);
                    let (size, ops) =
                        document_inflated_size(data, remaining(&out, limits), ops_cap)?;
                    add_size(&mut out, size + header.header_len as u64, limits)?;
                    add_ops(&mut out, 0, limits)?;
                    if ops > ops_cap {
                        return Err(ChunkError::TooLarge(TOO_MANY_OPS_MESSAGE));
                    }
                    let doc = Automerge::load(chunk)
                        .map_err(|_| ChunkError::Malformed("document chunk does not load"))?;
                    let changes = doc.get_changes(&[]);
                    if out.changes.len() + changes.len() > limits.max_changes {
                        return Err(ChunkError::TooLarge("too many changes in one message"));
                    }
                    for c in changes {
                        if c.len() as u64 > limits.max_ops_per_change {
                            return Err(ChunkError::TooLarge(TOO_MANY_OPS_CHANGE));
                        }
                        add_ops(&mut out, c.len() as u64, limits)?;
                        out.changes.push(ChangeInfo {
                            hash: c.hash(),
                            actor: c.actor_id().clone(),
                            change: c,
                        });
                    }
                }
                3 => {
                    return Err(ChunkError::Malformed(
                        "bundle chunks are not accepted in sync",
                    ));
                }
                _ => return Err(ChunkError::Malformed("unknown chunk type")),
            }
        }
    }
    Ok(out)
}

/// The operation count of concatenated chunks (stored changes, a saved
/// document), without decoding or loading them; counting stops once past
/// `cap` (the result is then some number above it). Compressed parts are
/// inflated through readers bounded by `max_inflated_bytes`.
pub fn count_ops(chunks: &[&[u8]], cap: u64, max_inflated_bytes: u64) -> Result<u64, ChunkError> {
    let mut total = 0u64;
    for bytes in chunks {
        let mut rest: &[u8] = bytes;
        while !rest.is_empty() && total <= cap {
            let (header, after) = parse_header(rest)?;
            let data_len = usize::try_from(header.data_len)
                .map_err(|_| ChunkError::Malformed("chunk length out of range"))?;
            if after.len() < data_len {
                return Err(ChunkError::Malformed("truncated chunk"));
            }
            let data = &after[..data_len];
            rest = &after[data_len..];
            let left = cap.saturating_sub(total);
            let n = match header.chunk_type {
                1 => ops::change_ops(data, left)?,
                2 => ops::change_ops(&inflate_bounded(data, max_inflated_bytes)?, left)?,
                0 => document_inflated_size(data, max_inflated_bytes, left)?.1,
                _ => return Err(ChunkError::Malformed("unknown chunk type")),
            };
            total = total.saturating_add(n);
        }
    }
    Ok(total)
}

fn remaining(out: &Inspection, limits: ChunkLimits) -> u64 {
    limits.max_inflated_bytes.saturating_sub(out.inflated_bytes)
}

fn add_size(out: &mut Inspection, n: u64, limits: ChunkLimits) -> Result<(), ChunkError> {
    out.inflated_bytes = out.inflated_bytes.saturating_add(n);
    if out.inflated_bytes > limits.max_inflated_bytes {
        return Err(ChunkError::TooLarge(
            "the message's changes exceed the size limit once decompressed",
        ));
    }
    Ok(())
}

fn add_ops(out: &mut Inspection, n: u64, limits: ChunkLimits) -> Result<(), ChunkError> {
    if n > limits.max_ops_per_change {
        return Err(ChunkError::TooLarge(TOO_MANY_OPS_CHANGE));
    }
    out.ops = out.ops.saturating_add(n);
    if out.ops > limits.max_ops {
        return Err(ChunkError::TooLarge(TOO_MANY_OPS_MESSAGE));
    }
    Ok(())
}

fn push_change(
    out: &mut Inspection,
    bytes: Vec<u8>,
    limits: ChunkLimits,
) -> Result<(), ChunkError> {
    if out.changes.len() + 1 > limits.max_changes {
        return Err(ChunkError::TooLarge("too many changes in one message"));
    }
    let change = Change::from_bytes(bytes)
        .map_err(|_| ChunkError::Malformed("change chunk does not parse"))?;
    out.changes.push(ChangeInfo {
        hash: change.hash(),
        actor: change.actor_id().clone(),
        change,
    });
    Ok(())
}

struct Header {
    checksum: [u8; 4],
    chunk_type: u8,
    data_len: u64,
    header_len: usize,
}

fn parse_header(input: &[u8]) -> Result<(Header, &[u8]), ChunkError> {
    if input.len() < 9 {
        return Err(ChunkError::Malformed("truncated chunk header"));
    }
    if input[..4] != MAGIC {
        return Err(ChunkError::Malformed(
            "chunk does not start with automerge's magic bytes",
        ));
    }
    let mut checksum = [0u8; 4];
    checksum.copy_from_slice(&input[4..8]);
    let chunk_type = input[8];
    let (data_len, used) = read_uleb(&input[9..])?;
    let header_len = 9 + used;
    Ok((
        Header {
            checksum,
            chunk_type,
            data_len,
            header_len,
        },
        &input[header_len..],
    ))
}

/// Reads an unsigned LEB128 integer; returns it and the number of bytes used.
fn read_uleb(input: &[u8]) -> Result<(u64, usize), ChunkError> {
    let mut value: u64 = 0;
    for (i, byte) in input.iter().enumerate().take(10) {
        let part = u64::from(byte & 0x7f);
        let shift = 7 * i as u32;
        if shift == 63 && part > 1 {
            return Err(ChunkError::Malformed("LEB128 integer overflows 64 bits"));
        }
        value |= part << shift;
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(ChunkError::Malformed(
        "truncated or overlong LEB128 integer",
    ))
}

fn write_uleb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Inflates `data`, failing as soon as the output would pass `budget` bytes.
fn inflate_bounded(data: &[u8], budget: u64) -> Result<Vec<u8>, ChunkError> {
    let decoder = flate2::bufread::DeflateDecoder::new(data);
    let mut out = Vec::new();
    decoder
        .take(budget.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|_| ChunkError::Malformed("compressed data does not inflate"))?;
    if out.len() as u64 > budget {
        return Err(ChunkError::TooLarge(
            "the message's changes exceed the size limit once decompressed",
        ));
    }
    Ok(out)
}

/// Counts how many bytes inflating (with `take`) a reader yields, up to `budget + 1`.
fn inflated_len(data: &[u8], budget: u64) -> Result<u64, ChunkError> {
    let decoder = flate2::bufread::DeflateDecoder::new(data);
    let n = std::io::copy(
        &mut decoder.take(budget.saturating_add(1)),
        &mut std::io::sink(),
    )
    .map_err(|_| ChunkError::Malformed("compressed column does not inflate"))?;
    if n > budget {
        return Err(ChunkError::TooLarge(
            "the message's changes exceed the size limit once decompressed",
        ));
    }
    Ok(n)
}

/// Parses a document chunk's prefix (actors, heads, column metadata) and
/// returns the size of its data with every compressed column inflated
/// (each through a bounded reader) and its operation count (or some number
/// above `ops_cap`).
fn document_inflated_size(
    data: &[u8],
    budget: u64,
    ops_cap: u64,
) -> Result<(u64, u64), ChunkError> {
    let mut i = data;
    // actors: count, then length-prefixed byte strings
    let (n_actors, used) = read_uleb(i)?;
    i = &i[used..];
    for _ in 0..n_actors {
        let (len, used) = read_uleb(i)?;
        let len = usize::try_from(len).map_err(|_| ChunkError::Malformed("actor length"))?;
        i = i
            .get(used + len..)
            .ok_or(ChunkError::Malformed("truncated actor id"))?;
    }
    // heads: count, then 32-byte hashes
    let (n_heads, used) = read_uleb(i)?;
    i = &i[used..];
    let heads_len = usize::try_from(n_heads)
        .ok()
        .and_then(|n| n.checked_mul(32))
        .ok_or(ChunkError::Malformed("too many heads"))?;
    i = i
        .get(heads_len..)
        .ok_or(ChunkError::Malformed("truncated heads"))?;
    // change columns, then op columns: count, then (spec, len) pairs
    let m = |ops::Malformed(why)| ChunkError::Malformed(why);
    let (change_cols, rest) = ops::read_columns(i).map_err(m)?;
    let (op_cols, rest) = ops::read_columns(rest).map_err(m)?;
    i = rest;
    let prefix_len = (data.len() - i.len()) as u64;
    let mut total = prefix_len;
    let mut rest_budget = budget.saturating_sub(prefix_len);
    let mut most_ops = 0u64;
    let n_change_cols = change_cols.len();
    let columns: Vec<(u64, u64)> = change_cols
        .into_iter()
        .chain(op_cols.iter().copied())
        .collect();
    for (c, (spec, len)) in columns.iter().copied().enumerate() {
        let len_us = usize::try_from(len).map_err(|_| ChunkError::Malformed("column length"))?;
        let col = i
            .get(..len_us)
            .ok_or(ChunkError::Malformed("truncated column data"))?;
        i = &i[len_us..];
        let op_col = c.checked_sub(n_change_cols);
        let counted = op_col.filter(|&k| spec & 0b111 != 7 && !ops::nested(&op_cols, k));
        let size = match (spec & DEFLATE_BIT != 0, counted) {
            (true, Some(_)) => {
                let inflated = inflate_bounded(col, rest_budget)?;
                let rows = ops::column_rows(&inflated, spec & 0b111, ops_cap).map_err(m)?;
                most_ops = most_ops.max(rows);
                inflated.len() as u64
            }
            (true, None) => inflated_len(col, rest_budget)?,
            (false, Some(_)) => {
                let rows = ops::column_rows(col, spec & 0b111, ops_cap).map_err(m)?;
                most_ops = most_ops.max(rows);
                len
            }
            (false, None) => len,
        };
        if size > rest_budget {
            return Err(ChunkError::TooLarge(
                "the message's changes exceed the size limit once decompressed",
            ));
        }
        rest_budget -= size;
        total += size;
        if most_ops > ops_cap {
            return Ok((total, most_ops));
        }
    }
    // The remainder (head indices) is small and uncompressed.
    total += i.len() as u64;
    Ok((total, most_ops))
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};
    use flate2::{Compression, write::DeflateEncoder};
    use std::io::Write;

    const LIMITS: ChunkLimits = ChunkLimits {
        max_inflated_bytes: 1 << 20,
        max_changes: 1000,
        max_ops_per_change: u64::MAX,
        max_ops: u64::MAX,
    };

    fn doc_with_changes(n: usize, text_len: usize) -> AutoCommit {
        let mut doc = AutoCommit::new();
        for i in 0..n {
            doc.put(ROOT, format!("k{i}"), "x".repeat(text_len))
                .expect("put");
            doc.commit();
        }
        doc
    }

    #[test]
    fn plain_changes_are_listed_with_their_actor() {
        let mut doc = doc_with_changes(3, 4);
        let changes: Vec<Vec<u8>> = doc
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        let refs: Vec<&[u8]> = changes.iter().map(|c| c.as_slice()).collect();
        let found = inspect(&refs, LIMITS).expect("inspect");
        assert_eq!(found.changes.len(), 3);
        let actor = doc.get_actor().clone();
        assert!(found.changes.iter().all(|c| c.actor == actor));
    }

    #[test]
    fn a_compressed_change_is_inflated_within_the_bound() {
        // A change larger than automerge's 256-byte threshold is stored compressed.
        let mut doc = doc_with_changes(1, 5000);
        let mut change = doc.get_changes(&[])[0].clone();
        let compressed = change.bytes().to_vec();
        assert_eq!(compressed[8], 2, "automerge compresses large changes");
        let found = inspect(&[&compressed], LIMITS).expect("inspect");
        assert_eq!(found.changes.len(), 1);
        assert_eq!(found.changes[0].hash, change.hash());
        let small = ChunkLimits {
            max_inflated_bytes: 1000,
            max_changes: 10,
            max_ops_per_change: u64::MAX,
            max_ops: u64::MAX,
        };
        assert!(matches!(
            inspect(&[&compressed], small),
            Err(ChunkError::TooLarge(_))
        ));
    }

    #[test]
    fn a_deflate_bomb_is_refused_before_it_is_inflated() {
        // 1 GiB of zeros compresses to about 1 MiB; stream it so the test stays cheap.
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
        let block = vec![0u8; 1 << 20];
        for _ in 0..64 {
            enc.write_all(&block).expect("deflate");
        }
        let body = enc.finish().expect("deflate");
        let mut chunk = MAGIC.to_vec();
        chunk.extend_from_slice(&[1, 2, 3, 4, 2]);
        write_uleb(&mut chunk, body.len() as u64);
        chunk.extend_from_slice(&body);
        let started = std::time::Instant::now();
        let err = inspect(&[&chunk], LIMITS).expect_err("bomb refused");
        assert!(matches!(err, ChunkError::TooLarge(_)));
        // Only ~1 MiB was inflated (the bound), not 64 MiB.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_document_chunk_lists_all_its_changes_and_its_columns_are_bounded() {
        let mut doc = doc_with_changes(20, 400);
        let saved = doc.save();
        assert_eq!(saved[8], 0, "a saved document is a document chunk");
        let found = inspect(&[&saved], LIMITS).expect("inspect");
        assert_eq!(found.changes.len(), 20);
        let tight = ChunkLimits {
            max_inflated_bytes: 2000,
            max_changes: 1000,
            max_ops_per_change: u64::MAX,
            max_ops: u64::MAX,
        };
        assert!(matches!(
            inspect(&[&saved], tight),
            Err(ChunkError::TooLarge(_))
        ));
    }

    #[test]
    fn too_many_changes_is_too_large() {
        let mut doc = doc_with_changes(5, 1);
        let changes: Vec<Vec<u8>> = doc
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        let refs: Vec<&[u8]> = changes.iter().map(|c| c.as_slice()).collect();
        let limits = ChunkLimits {
            max_inflated_bytes: 1 << 20,
            max_changes: 4,
            max_ops_per_change: u64::MAX,
            max_ops: u64::MAX,
        };
        assert_eq!(
            inspect(&refs, limits),
            Err(ChunkError::TooLarge("too many changes in one message"))
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for bytes in [
            &b""[..],
            &b"\x85\x6f\x4a\x83"[..],
            &b"\x85\x6f\x4a\x83\0\0\0\0\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"[..],
            &b"\x85\x6f\x4a\x83\0\0\0\0\x01\x05abc"[..],
            &b"\x85\x6f\x4a\x83\0\0\0\0\x00\x03\xff\xff\xff"[..],
            &b"hello world, not a chunk"[..],
        ] {
            if bytes.is_empty() {
                assert_eq!(inspect(&[bytes], LIMITS).map(|i| i.changes.len()), Ok(0));
            } else {
                assert!(matches!(
                    inspect(&[bytes], LIMITS),
                    Err(ChunkError::Malformed(_))
                ));
            }
        }
    }
}
