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

/// The four magic bytes every automerge chunk starts with.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Bit 3 of a column specification: the column is DEFLATE-compressed.
const DEFLATE_BIT: u64 = 0b1000;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeInfo {
    /// The change's hash.
    pub hash: ChangeHash,
    /// The actor that made it.
    pub actor: ActorId,
}

/// What [`inspect`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inspection {
    /// Every change the chunks hold (document chunks contribute all of theirs).
    pub changes: Vec<ChangeInfo>,
    /// Size in bytes of all chunks once every compressed part is inflated.
    pub inflated_bytes: u64,
}

/// Limits applied by [`inspect`].
#[derive(Debug, Clone, Copy)]
pub struct ChunkLimits {
    /// Bound on the total size after inflation of all chunks of one message.
    pub max_inflated_bytes: u64,
    /// Bound on the number of changes in one message.
    pub max_changes: usize,
}

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
                    push_change(&mut out, chunk.to_vec(), limits)?;
                }
                2 => {
                    let budget = remaining(&out, limits);
                    let inflated = inflate_bounded(data, budget)?;
                    add_size(&mut out, inflated.len() as u64, limits)?;
                    let mut plain = Vec::with_capacity(inflated.len() + 16);
                    plain.extend_from_slice(&MAGIC);
                    plain.extend_from_slice(&header.checksum);
                    plain.push(1);
                    write_uleb(&mut plain, inflated.len() as u64);
                    plain.extend_from_slice(&inflated);
                    push_change(&mut out, plain, limits)?;
                }
                0 => {
                    let size = document_inflated_size(data, remaining(&out, limits))?;
                    add_size(&mut out, size + header.header_len as u64, limits)?;
                    let doc = Automerge::load(chunk)
                        .map_err(|_| ChunkError::Malformed("document chunk does not load"))?;
                    let changes = doc.get_changes(&[]);
                    if out.changes.len() + changes.len() > limits.max_changes {
                        return Err(ChunkError::TooLarge("too many changes in one message"));
                    }
                    out.changes.extend(changes.iter().map(|c| ChangeInfo {
                        hash: c.hash(),
                        actor: c.actor_id().clone(),
                    }));
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
/// returns the size of its data with every compressed column inflated,
/// inflating each through a bounded reader.
fn document_inflated_size(data: &[u8], budget: u64) -> Result<u64, ChunkError> {
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
    let mut columns: Vec<(u64, u64)> = Vec::new();
    for _ in 0..2 {
        let (n_cols, used) = read_uleb(i)?;
        i = &i[used..];
        for _ in 0..n_cols {
            let (spec, used) = read_uleb(i)?;
            i = &i[used..];
            let (len, used) = read_uleb(i)?;
            i = &i[used..];
            columns.push((spec, len));
        }
    }
    let prefix_len = (data.len() - i.len()) as u64;
    let mut total = prefix_len;
    let mut rest_budget = budget.saturating_sub(prefix_len);
    for (spec, len) in columns {
        let len_us = usize::try_from(len).map_err(|_| ChunkError::Malformed("column length"))?;
        let col = i
            .get(..len_us)
            .ok_or(ChunkError::Malformed("truncated column data"))?;
        i = &i[len_us..];
        let size = if spec & DEFLATE_BIT != 0 {
            inflated_len(col, rest_budget)?
        } else {
            len
        };
        if size > rest_budget {
            return Err(ChunkError::TooLarge(
                "the message's changes exceed the size limit once decompressed",
            ));
        }
        rest_budget -= size;
        total += size;
    }
    // The remainder (head indices) is small and uncompressed.
    total += i.len() as u64;
    Ok(total)
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
