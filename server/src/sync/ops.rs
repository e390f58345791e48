//! Counting the operations of automerge chunks without decoding them.
//!
//! automerge stores a change's (or a document's) operations as columns, each
//! run-length encoded: a 236-byte change can hold a million operations, and
//! automerge decodes (and on apply, materialises) every one of them. To
//! bound that work the server counts the operations *before* automerge sees
//! them, by reading only the columns' run headers: the cost is linear in the
//! chunk's bytes, whatever the count.
//!
//! A chunk's operation count is the number of rows of its columns. This
//! module returns the largest row count of any top-level column (columns
//! nested in a group, like the predecessors of each operation, and raw value
//! columns, which have no rows of their own, are skipped). automerge never
//! decodes more operations than that, so refusing a chunk whose count is
//! over a bound is sound; for well-formed chunks the count is exact (the
//! tests compare it with `Change::len`).

/// Why a chunk could not be counted (it is not well-formed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub &'static str);

/// Column types (the low three bits of a column specification).
const GROUP: u64 = 0;
const STRING: u64 = 5;
const DELTA: u64 = 3;
const BOOLEAN: u64 = 4;
const VALUE: u64 = 7;
/// Bit 3 of a column specification: DEFLATE-compressed.
pub(crate) const DEFLATE_BIT: u64 = 0b1000;

/// Reads an unsigned LEB128 integer; returns it and the bytes used.
pub(crate) fn read_uleb(input: &[u8]) -> Result<(u64, usize), Malformed> {
    let mut value: u64 = 0;
    for (i, byte) in input.iter().enumerate().take(10) {
        let part = u64::from(byte & 0x7f);
        let shift = 7 * i as u32;
        if shift == 63 && part > 1 {
            return Err(Malformed("LEB128 integer overflows 64 bits"));
        }
        value |= part << shift;
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(Malformed("truncated or overlong LEB128 integer"))
}

/// Reads a signed LEB128 integer; returns it and the bytes used.
fn read_sleb(input: &[u8]) -> Result<(i64, usize), Malformed> {
    let mut value: i64 = 0;
    let mut shift = 0u32;
    for (i, byte) in input.iter().enumerate().take(10) {
        let part = i64::from(byte & 0x7f);
        if shift < 64 {
            value |= part.wrapping_shl(shift);
        }
        shift += 7;
        if byte & 0x80 == 0 {
            if shift < 64 && byte & 0x40 != 0 {
                value |= -1i64 << shift;
            }
            return Ok((value, i + 1));
        }
    }
    Err(Malformed("truncated or overlong LEB128 integer"))
}

fn take(input: &[u8], n: u64) -> Result<(&[u8], &[u8]), Malformed> {
    let n = usize::try_from(n).map_err(|_| Malformed("length out of range"))?;
    if input.len() < n {
        return Err(Malformed("truncated chunk"));
    }
    Ok(input.split_at(n))
}

fn skip_uleb(input: &[u8]) -> Result<&[u8], Malformed> {
    let (_, used) = read_uleb(input)?;
    Ok(&input[used..])
}

/// Skips one value of an RLE column of type `ty`.
fn skip_value(input: &[u8], ty: u64) -> Result<&[u8], Malformed> {
    match ty {
        STRING => {
            let (len, used) = read_uleb(input)?;
            Ok(take(&input[used..], len)?.1)
        }
        DELTA => {
            let (_, used) = read_sleb(input)?;
            Ok(&input[used..])
        }
        _ => skip_uleb(input),
    }
}

/// The rows of one column, counting stops once past `cap` (the result is
/// then some number above `cap`).
pub(crate) fn column_rows(mut data: &[u8], ty: u64, cap: u64) -> Result<u64, Malformed> {
    let mut rows: u64 = 0;
    match ty {
        VALUE => return Ok(0),
        BOOLEAN => {
            while !data.is_empty() && rows <= cap {
                let (n, used) = read_uleb(data)?;
                data = &data[used..];
                rows = rows.saturating_add(n);
            }
        }
        _ => {
            while !data.is_empty() && rows <= cap {
                let (n, used) = read_sleb(data)?;
                data = &data[used..];
                if n > 0 {
                    data = skip_value(data, ty)?;
                    rows = rows.saturating_add(n as u64);
                } else if n < 0 {
                    // A literal run: that many values follow, each at least one byte.
                    let k = n.unsigned_abs();
                    if k > data.len() as u64 {
                        return Err(Malformed("literal run longer than its column"));
                    }
                    for _ in 0..k {
                        data = skip_value(data, ty)?;
                    }
                    rows = rows.saturating_add(k);
                } else {
                    let (k, used) = read_uleb(data)?;
                    data = &data[used..];
                    rows = rows.saturating_add(k);
                }
            }
        }
    }
    Ok(rows)
}

/// Column metadata: `(spec, length)` pairs.
pub(crate) type Columns = Vec<(u64, u64)>;

/// Reads column metadata; returns it and the bytes after it.
pub(crate) fn read_columns(mut input: &[u8]) -> Result<(Columns, &[u8]), Malformed> {
    let (n, used) = read_uleb(input)?;
    input = &input[used..];
    // Each column takes at least two bytes of metadata.
    if n > input.len() as u64 {
        return Err(Malformed("more columns than bytes"));
    }
    let mut cols = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let (spec, used) = read_uleb(input)?;
        input = &input[used..];
        let (len, used) = read_uleb(input)?;
        input = &input[used..];
        cols.push((spec, len));
    }
    Ok((cols, input))
}

/// Whether column `i` of `cols` belongs to a group opened by an earlier column.
pub(crate) fn nested(cols: &[(u64, u64)], i: usize) -> bool {
    let id = cols[i].0 >> 4;
    cols[..i]
        .iter()
        .any(|(spec, _)| spec & 0b111 == GROUP && spec >> 4 == id)
}

/// The operation count of a set of columns whose (inflated) data is given
/// by `data(i)`: the largest row count of a top-level column.
pub(crate) fn rows_of<'a>(
    cols: &[(u64, u64)],
    mut data: impl FnMut(usize) -> Result<std::borrow::Cow<'a, [u8]>, crate::sync::chunks::ChunkError>,
    cap: u64,
) -> Result<u64, crate::sync::chunks::ChunkError> {
    let mut most = 0u64;
    for i in 0..cols.len() {
        let ty = cols[i].0 & 0b111;
        if ty == VALUE || nested(cols, i) {
            continue;
        }
        let bytes = data(i)?;
        let rows = column_rows(&bytes, ty, cap)
            .map_err(|Malformed(why)| crate::sync::chunks::ChunkError::Malformed(why))?;
        most = most.max(rows);
        if most > cap {
            break;
        }
    }
    Ok(most)
}

/// The operation count of a change chunk's data (what follows the chunk
/// header), or some number above `cap`.
pub fn change_ops(data: &[u8], cap: u64) -> Result<u64, crate::sync::chunks::ChunkError> {
    use crate::sync::chunks::ChunkError;
    let m = |Malformed(why)| ChunkError::Malformed(why);
    // dependencies
    let (n, used) = read_uleb(data).map_err(m)?;
    let deps_len = n
        .checked_mul(32)
        .ok_or(ChunkError::Malformed("too many deps"))?;
    let (_, mut i) = take(&data[used..], deps_len).map_err(m)?;
    // actor
    let (len, used) = read_uleb(i).map_err(m)?;
    i = take(&i[used..], len).map_err(m)?.1;
    // seq, start op, time
    i = skip_uleb(i).map_err(m)?;
    i = skip_uleb(i).map_err(m)?;
    let (_, used) = read_sleb(i).map_err(m)?;
    i = &i[used..];
    // message
    let (len, used) = read_uleb(i).map_err(m)?;
    i = take(&i[used..], len).map_err(m)?.1;
    // other actors
    let (n, used) = read_uleb(i).map_err(m)?;
    i = &i[used..];
    if n > i.len() as u64 {
        return Err(ChunkError::Malformed("more actors than bytes"));
    }
    for _ in 0..n {
        let (len, used) = read_uleb(i).map_err(m)?;
        i = take(&i[used..], len).map_err(m)?.1;
    }
    let (cols, rest) = read_columns(i).map_err(m)?;
    if cols.iter().any(|(spec, _)| spec & DEFLATE_BIT != 0) {
        return Err(ChunkError::Malformed("compressed columns in a change"));
    }
    let mut offsets = Vec::with_capacity(cols.len());
    let mut at = 0u64;
    for (_, len) in &cols {
        offsets.push(at);
        at = at
            .checked_add(*len)
            .ok_or(ChunkError::Malformed("column length"))?;
    }
    if at > rest.len() as u64 {
        return Err(ChunkError::Malformed("truncated column data"));
    }
    rows_of(
        &cols,
        |c| {
            let start = offsets[c] as usize;
            Ok(std::borrow::Cow::Borrowed(
                &rest[start..start + cols[c].1 as usize],
            ))
        },
        cap,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT, ScalarValue};

    /// The data of a plain change chunk (after its header).
    fn data_of(bytes: &[u8]) -> &[u8] {
        assert_eq!(bytes[8], 1, "an uncompressed change chunk");
        let (_, used) = read_uleb(&bytes[9..]).unwrap();
        &bytes[9 + used..]
    }

    #[test]
    fn counts_equal_automerges_own_for_every_kind_of_operation() {
        let mut d = AutoCommit::new();
        d.put(ROOT, "kind", "walk").unwrap();
        d.commit();
        let t = d.put_object(ROOT, "text", ObjType::Text).unwrap();
        d.splice_text(&t, 0, 0, "hallo wereld, een lange notitie")
            .unwrap();
        d.commit();
        d.splice_text(&t, 3, 10, "").unwrap();
        let l = d.put_object(ROOT, "list", ObjType::List).unwrap();
        for i in 0..50 {
            d.insert(&l, i, i as i64).unwrap();
        }
        d.put(ROOT, "c", ScalarValue::counter(1)).unwrap();
        d.commit();
        d.increment(ROOT, "c", 5).unwrap();
        d.delete(ROOT, "kind").unwrap();
        let m = d.put_object(ROOT, "m", ObjType::Map).unwrap();
        for i in 0..20 {
            d.put(&m, format!("k{i}"), format!("v{i}")).unwrap();
        }
        d.commit();
        let changes = d.get_changes(&[]);
        assert_eq!(changes.len(), 4);
        for c in changes {
            let counted = change_ops(data_of(c.raw_bytes()), u64::MAX).unwrap();
            assert_eq!(counted, c.len() as u64);
        }
    }

    #[test]
    fn counting_stops_past_the_cap_however_many_rows_a_run_claims() {
        // One RLE run claiming 2^62 rows: counted from its header alone.
        let mut col = Vec::new();
        let mut n: u64 = 1 << 62;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 && byte & 0x40 == 0 {
                col.push(byte);
                break;
            }
            col.push(byte | 0x80);
        }
        col.push(4); // the repeated value
        assert!(column_rows(&col, 2, 1000).unwrap() > 1000);
        // A literal run claiming more values than there are bytes is malformed.
        assert!(column_rows(&[0x7d, 1], 2, 1000).is_err());
    }
}
