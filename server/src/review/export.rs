//! Exports of the filtered list: CSV (RFC 4180 via the `csv` crate, UTF-8
//! with a byte order mark so that Excel reads the accents, CRLF line ends,
//! one row per observation or note) and GeoJSON (RFC 7946: a
//! FeatureCollection of Points `[lon, lat]`, only items with a location).
//!
//! Resident contact columns are only written when the caller asked for
//! them with a reason (checked and audited by the route); GeoJSON never
//! carries them.

use super::ReviewDb;
use serde_json::{Value, json};

use super::iso8601;
use super::query::{Filters, Scope, Sort, for_each_item};
use crate::edge::ApiError;

/// The UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// CSV columns, in order (without the personal ones).
pub const CSV_COLUMNS: &[&str] = &[
    "kind",
    "doc_id",
    "item_id",
    "doc_title",
    "wijk",
    "team",
    "created_at",
    "created_by",
    "category",
    "severity",
    "text",
    "place",
    "lat",
    "lon",
    "accuracy_m",
    "photos",
    "follow_up",
    "feedback_needed",
    "feedback_given_at",
    "feedback_channel",
];

/// The extra columns with `include_personal`.
pub const PERSONAL_COLUMNS: &[&str] = &[
    "resident_name",
    "resident_phone",
    "resident_email",
    "resident_consent",
    "callback_requested",
];

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Rows / features written.
    pub count: usize,
    /// `doc_id/item_id` of the rows whose resident contact details were written.
    pub personal_items: Vec<String>,
}

/// A cell a spreadsheet would run as a formula (first character `=`, `+`,
/// `-`, `@`, tab, carriage return, line feed or NUL: OWASP "CSV Injection",
/// ASVS 1.2.10) gets a leading `'`, which spreadsheets show as text. Applied to
/// every text that comes from a document or a user; the numbers the server
/// writes itself (coordinates, counts) are left as numbers.
pub fn neutralise_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\n' | '\0') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => neutralise_formula(s).into_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn time(v: &Value) -> String {
    v.as_i64().map(iso8601).unwrap_or_default()
}

/// `partner: status` pairs, `; `-separated, in partner order.
fn follow_up_summary(row: &Value) -> String {
    row["follow_up"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(partner, e)| format!("{partner}: {}", text(&e["status"])))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .map(|s| neutralise_formula(&s).into_owned())
        .unwrap_or_default()
}

fn parse(row_json: &str) -> Result<Value, ApiError> {
    serde_json::from_str(row_json)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("stored row_json")))
}

fn csv_err(e: csv::Error) -> ApiError {
    ApiError::Internal(anyhow::Error::new(e).context("writing CSV"))
}

/// Writes the CSV export of `filters` for `scope` (newest first) into memory.
pub fn write_csv(
    db: &ReviewDb,
    scope: &Scope,
    filters: &Filters,
    include_personal: bool,
) -> Result<(Vec<u8>, ExportSummary), ApiError> {
    let mut out = Vec::new();
    let mut summary = ExportSummary::default();
    write_csv_to(db, scope, filters, include_personal, &mut out, &mut summary)?;
    Ok((out, summary))
}

fn io_err(e: std::io::Error) -> ApiError {
    ApiError::Internal(anyhow::Error::new(e).context("writing the export"))
}

/// Streams the CSV export (BOM, header, one row per item, RFC 4180 with
/// CRLF) into `out`, row by row: memory stays bounded by one row plus the
/// writer's buffer. `summary` is filled as rows are written, so it is
/// meaningful even when writing stops early (the reader went away).
pub fn write_csv_to<W: std::io::Write>(
    db: &ReviewDb,
    scope: &Scope,
    filters: &Filters,
    include_personal: bool,
    mut out: W,
    summary: &mut ExportSummary,
) -> Result<(), ApiError> {
    out.write_all(BOM).map_err(io_err)?;
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(&mut out);
        let mut header: Vec<&str> = CSV_COLUMNS.to_vec();
        if include_personal {
            header.extend_from_slice(PERSONAL_COLUMNS);
        }
        w.write_record(&header).map_err(csv_err)?;
        let mut record: Vec<String> = Vec::with_capacity(header.len());
        for_each_item(db, scope, filters, Sort::CreatedAt, None, None, |raw| {
            let row = parse(&raw.row_json)?;
            record.clear();
            record.extend([
                raw.kind.to_owned(),
                text(&row["doc_id"]),
                neutralise_formula(&raw.item_id).into_owned(),
                text(&row["doc_title"]),
                text(&row["wijk"]),
                text(&row["team"]),
                time(&row["created_at"]),
                text(&row["created_by"]),
                text(&row["category"]),
                text(&row["severity"]),
                text(&row["text"]),
                text(&row["place"]),
                text(&row["location"]["lat"]),
                text(&row["location"]["lon"]),
                text(&row["location"]["accuracy_m"]),
                row["photos"].as_array().map_or(0, Vec::len).to_string(),
                follow_up_summary(&row),
                text(&row["feedback"]["needed"]),
                time(&row["feedback"]["given_at"]),
                text(&row["feedback"]["channel"]),
            ]);
            if include_personal {
                let r = &row["resident"];
                if super::query::has_resident_contact(&row) {
                    summary.personal_items.push(format!(
                        "{}/{}",
                        text(&row["doc_id"]),
                        raw.item_id
                    ));
                }
                record.extend([
                    text(&r["name"]),
                    text(&r["phone"]),
                    text(&r["email"]),
                    text(&r["consent"]),
                    text(&row["callback"]["requested"]),
                ]);
            }
            w.write_record(&record).map_err(csv_err)?;
            summary.count += 1;
            Ok(())
        })?;
        w.flush()
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("writing CSV")))?;
    }
    out.flush().map_err(io_err)?;
    Ok(())
}

/// Writes the GeoJSON export (every matching item with a location) into memory.
pub fn write_geojson(
    db: &ReviewDb,
    scope: &Scope,
    filters: &Filters,
) -> Result<(Value, ExportSummary), ApiError> {
    let mut out = Vec::new();
    let mut summary = ExportSummary::default();
    write_geojson_to(db, scope, filters, &mut out, &mut summary)?;
    let value = serde_json::from_slice(&out)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("GeoJSON")))?;
    Ok((value, summary))
}

/// Streams the GeoJSON export into `out`, one feature at a time (a
/// `FeatureCollection`; memory bounded by one feature plus the buffer).
pub fn write_geojson_to<W: std::io::Write>(
    db: &ReviewDb,
    scope: &Scope,
    filters: &Filters,
    mut out: W,
    summary: &mut ExportSummary,
) -> Result<(), ApiError> {
    let mut filters = filters.clone();
    filters.with_location = true;
    out.write_all(br#"{"type":"FeatureCollection","features":["#)
        .map_err(io_err)?;
    for_each_item(db, scope, &filters, Sort::CreatedAt, None, None, |raw| {
        let row = parse(&raw.row_json)?;
        let (Some(lat), Some(lon)) = (
            row["location"]["lat"].as_f64(),
            row["location"]["lon"].as_f64(),
        ) else {
            return Ok(());
        };
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Ok(());
        }
        let feature = json!({
            "type": "Feature",
            "id": format!("{}/{}", text(&row["doc_id"]), raw.item_id),
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "kind": raw.kind,
                "doc_id": row["doc_id"],
                "item_id": raw.item_id,
                "doc_title": row["doc_title"],
                "wijk": row["wijk"],
                "team": row["team"],
                "created_at": row["created_at"],
                "category": row["category"],
                "severity": row["severity"],
                "text": row["text"],
                "place": row["place"],
                "accuracy_m": row["location"]["accuracy_m"],
                "follow_up": follow_up_summary(&row),
                "feedback_needed": row["feedback"]["needed"],
                "feedback_given_at": row["feedback"]["given_at"],
            }
        });
        if summary.count > 0 {
            out.write_all(b",").map_err(io_err)?;
        }
        serde_json::to_writer(&mut out, &feature)
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("GeoJSON")))?;
        summary.count += 1;
        Ok(())
    })?;
    out.write_all(b"]}").map_err(io_err)?;
    out.flush().map_err(io_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_ordinary_ones_left_alone() {
        for (raw, want) in [
            (
                "=HYPERLINK(\"http://x\",\"klik\")",
                "'=HYPERLINK(\"http://x\",\"klik\")",
            ),
            ("+31 6 1234", "'+31 6 1234"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("\0x", "'\0x"),
            ("Losliggende stoeptegel", "Losliggende stoeptegel"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(neutralise_formula(raw), want, "{raw:?}");
        }
        // Text from documents is neutralised, numbers the server writes are not.
        assert_eq!(text(&json!("=1+1")), "'=1+1");
        assert_eq!(text(&json!(-4.25)), "-4.25");
    }
}
