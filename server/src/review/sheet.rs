//! Exports for people rather than machines: an Excel workbook (`.xlsx`) and a
//! `;`-separated CSV that a Dutch Excel opens in columns with a double click.
//!
//! Both carry the same columns as the machine CSV ([`super::export`]), but
//! as a person reads them: Dutch column headings, catalog labels instead of
//! category, severity, partner and wijk ids, authors by name, and times in
//! the municipality's time zone (Europe/Amsterdam, summer time included)
//! instead of UTC. The machine CSV and the GeoJSON stay as they are, for
//! scripts.
//!
//! Formula injection: in the workbook every text is written as a string
//! cell, which a spreadsheet never evaluates; in the `;` CSV every text cell
//! goes through [`super::export::neutralise_formula`], as in the machine CSV.

use std::collections::HashMap;
use std::io::{Seek, Write};

use super::ReviewDb;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Workbook, XlsxError};
use serde_json::Value;
use wijklog_shared::Catalog;

use super::export::{BOM, ExportSummary, neutralise_formula};
use super::query::{Filters, Scope, Sort, for_each_item, has_resident_contact};
use crate::edge::ApiError;

/// The time zone of the exports' dates and times.
pub const TIME_ZONE: &str = "Europe/Amsterdam";

/// Column headings (without the personal ones), in order.
pub const COLUMNS: &[&str] = &[
    "Soort",
    "Wandeling of spreekuur",
    "Wijk",
    "Team",
    "Datum en tijd",
    "Auteur",
    "Categorie",
    "Ernst",
    "Tekst",
    "Plaats",
    "Breedtegraad",
    "Lengtegraad",
    "Nauwkeurigheid (m)",
    "Foto's",
    "Opvolging",
    "Terugkoppeling nodig",
    "Terugkoppeling gegeven op",
    "Terugkoppeling via",
    "Document",
    "Item",
];

/// The extra headings with resident contact details.
pub const PERSONAL_COLUMNS: &[&str] = &[
    "Naam bewoner",
    "Telefoon bewoner",
    "E-mail bewoner",
    "Toestemming",
    "Wil teruggebeld worden",
];

/// What turns ids into words: the catalog and the people's display names.
#[derive(Debug, Clone)]
pub struct Labels {
    catalog: Catalog,
    people: HashMap<String, String>,
    tz: TimeZone,
}

impl Labels {
    /// Labels from `catalog` and the `users` table of `db`.
    pub fn load(db: &ReviewDb, catalog: Catalog) -> Result<Self, ApiError> {
        let mut people = HashMap::new();
        db.each_row("SELECT id, display_name FROM users", &[], |r| {
            people.insert(r.text(0)?, r.text(1)?);
            Ok(())
        })?;
        Ok(Self {
            catalog,
            people,
            tz: amsterdam(),
        })
    }

    fn category(&self, id: &str) -> String {
        label(&self.catalog.categories, id, |c| &c.label)
    }

    fn severity(&self, id: &str) -> String {
        label(&self.catalog.severities, id, |s| &s.label)
    }

    fn partner(&self, id: &str) -> String {
        label(&self.catalog.partners, id, |p| &p.label)
    }

    fn wijk(&self, id: &str) -> String {
        label(&self.catalog.wijken, id, |w| &w.label)
    }

    fn team(&self, id: &str) -> String {
        label(&self.catalog.teams, id, |t| &t.label)
    }

    fn person(&self, id: &str) -> String {
        self.people
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    /// `ms` since the epoch as local (Amsterdam) date and time parts.
    fn local(&self, ms: i64) -> Option<jiff::civil::DateTime> {
        let ts = Timestamp::from_millisecond(ms).ok()?;
        Some(ts.to_zoned_datetime(self.tz.clone()).datetime())
    }

    /// The local date of `ms`, for file names: `2026-12-07`.
    pub fn local_date(&self, ms: i64) -> String {
        self.local(ms)
            .map(|d| d.date().to_string())
            .unwrap_or_default()
    }
}

/// The catalog label of `id` in `entries`; the id itself when the catalog
/// does not know it or the entry has no label.
fn label<E>(
    entries: &std::collections::BTreeMap<String, E>,
    id: &str,
    label_of: impl Fn(&E) -> &Option<String>,
) -> String {
    entries
        .get(id)
        .and_then(|e| label_of(e).clone())
        .unwrap_or_else(|| id.to_owned())
}

/// Europe/Amsterdam from the time zone database bundled into the binary, so
/// a server without `/usr/share/zoneinfo` still writes local times.
pub fn amsterdam() -> TimeZone {
    TimeZone::get(TIME_ZONE).expect("Europe/Amsterdam is in the bundled time zone database")
}

/// The day of `ms` in Amsterdam in Dutch words (`8 december 2026`): the one
/// rendering of a date in the mails and pages residents and partners read.
pub fn dutch_day(ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ];
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            let d = t.to_zoned_datetime(amsterdam()).date();
            format!(
                "{} {} {}",
                d.day(),
                MONTHS[(d.month() - 1) as usize],
                d.year()
            )
        })
        .unwrap_or_default()
}

/// A follow-up status as a word (`in_behandeling` -> `in behandeling`).
fn status_label(status: &str) -> String {
    status.replace('_', " ")
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "walk" => "waarneming",
        _ => "notitie",
    }
}

fn yes_no(v: &Value) -> &'static str {
    match v.as_bool() {
        Some(true) => "ja",
        Some(false) => "nee",
        None => "",
    }
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// One cell of a row: text, a number or a local date-time.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Text(String),
    Number(f64),
    When(jiff::civil::DateTime),
    Empty,
}

impl Cell {
    fn text(s: impl Into<String>) -> Self {
        let s = s.into();
        if s.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s)
        }
    }
}

/// The cells of one projection row, in [`COLUMNS`] (+ [`PERSONAL_COLUMNS`]) order.
fn cells(
    labels: &Labels,
    kind: &str,
    item_id: &str,
    row: &Value,
    include_personal: bool,
) -> Vec<Cell> {
    let when = |v: &Value| {
        v.as_i64()
            .and_then(|ms| labels.local(ms))
            .map_or(Cell::Empty, Cell::When)
    };
    let number = |v: &Value| v.as_f64().map_or(Cell::Empty, Cell::Number);
    let follow_up = row["follow_up"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(partner, e)| {
                    format!(
                        "{}: {}",
                        labels.partner(partner),
                        status_label(str_of(&e["status"]))
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    let mut out = vec![
        Cell::text(kind_label(kind)),
        Cell::text(str_of(&row["doc_title"])),
        Cell::text(
            row["wijk"]
                .as_str()
                .map(|w| labels.wijk(w))
                .unwrap_or_default(),
        ),
        Cell::text(
            row["team"]
                .as_str()
                .map(|t| labels.team(t))
                .unwrap_or_default(),
        ),
        when(&row["created_at"]),
        Cell::text(
            row["created_by"]
                .as_str()
                .map(|u| labels.person(u))
                .unwrap_or_default(),
        ),
        Cell::text(
            row["category"]
                .as_str()
                .map(|c| labels.category(c))
                .unwrap_or_default(),
        ),
        Cell::text(
            row["severity"]
                .as_str()
                .map(|s| labels.severity(s))
                .unwrap_or_default(),
        ),
        Cell::text(str_of(&row["text"])),
        Cell::text(str_of(&row["place"])),
        number(&row["location"]["lat"]),
        number(&row["location"]["lon"]),
        number(&row["location"]["accuracy_m"]),
        Cell::Number(row["photos"].as_array().map_or(0, Vec::len) as f64),
        Cell::text(follow_up),
        Cell::text(yes_no(&row["feedback"]["needed"])),
        when(&row["feedback"]["given_at"]),
        Cell::text(str_of(&row["feedback"]["channel"])),
        Cell::text(str_of(&row["doc_id"])),
        Cell::text(item_id),
    ];
    if include_personal {
        let r = &row["resident"];
        out.extend([
            Cell::text(str_of(&r["name"])),
            Cell::text(str_of(&r["phone"])),
            Cell::text(str_of(&r["email"])),
            Cell::text(yes_no(&r["consent"])),
            Cell::text(yes_no(&row["callback"]["requested"])),
        ]);
    }
    out
}

fn parse(row_json: &str) -> Result<Value, ApiError> {
    serde_json::from_str(row_json)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("stored row_json")))
}

fn headings(include_personal: bool) -> Vec<&'static str> {
    let mut h = COLUMNS.to_vec();
    if include_personal {
        h.extend_from_slice(PERSONAL_COLUMNS);
    }
    h
}

/// Visits every matching item's cells, newest first, filling `summary`.
fn each_row(
    db: &ReviewDb,
    scope: &Scope,
    filters: &Filters,
    labels: &Labels,
    include_personal: bool,
    summary: &mut ExportSummary,
    mut each: impl FnMut(Vec<Cell>) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    for_each_item(db, scope, filters, Sort::CreatedAt, None, None, |raw| {
        let row = parse(&raw.row_json)?;
        if include_personal && has_resident_contact(&row) {
            summary
                .personal_items
                .push(format!("{}/{}", str_of(&row["doc_id"]), raw.item_id));
        }
        each(cells(
            labels,
            raw.kind,
            &raw.item_id,
            &row,
            include_personal,
        ))?;
        summary.count += 1;
        Ok(())
    })
}

fn xlsx_err(e: XlsxError) -> ApiError {
    ApiError::Internal(anyhow::Error::new(e).context("writing the workbook"))
}

fn io_err(e: std::io::Error) -> ApiError {
    ApiError::Internal(anyhow::Error::new(e).context("writing the export"))
}

/// Writes the workbook: one sheet "Meldingen" with a bold, frozen heading
/// row, an autofilter, dates as real Excel dates (`dd-mm-jjjj uu:mm`, local
/// time) and coordinates as numbers. The sheet runs in constant-memory mode
/// (rows go to a temporary file as they are written) and the workbook is
/// assembled in `spool`, a temporary file, so memory does not grow with the
/// number of rows; then the file is copied into `out`.
#[allow(clippy::too_many_arguments)]
pub fn write_xlsx_to<W: Write>(
    db: &ReviewDb,
    scope: &Scope,
    filters: &Filters,
    labels: &Labels,
    include_personal: bool,
    mut spool: std::fs::File,
    mut out: W,
    summary: &mut ExportSummary,
) -> Result<(), ApiError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold().set_align(FormatAlign::Top);
    let date = Format::new().set_num_format("dd-mm-yyyy hh:mm");
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    let heads = headings(include_personal);
    let sheet = book
        .add_worksheet_with_constant_memory()
        .map_err(xlsx_err)?;
    sheet.set_name("Meldingen").map_err(xlsx_err)?;
    for (col, h) in heads.iter().enumerate() {
        let col = col as u16;
        sheet
            .write_string_with_format(0, col, *h, &bold)
            .map_err(xlsx_err)?;
        let width = match *h {
            "Tekst" => 60.0,
            "Opvolging" | "Wandeling of spreekuur" => 30.0,
            "Datum en tijd" | "Terugkoppeling gegeven op" => 17.0,
            "Document" | "Item" => 38.0,
            _ => 16.0,
        };
        sheet.set_column_width(col, width).map_err(xlsx_err)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_err)?;
    let mut row_no: u32 = 0;
    each_row(
        db,
        scope,
        filters,
        labels,
        include_personal,
        summary,
        |cells| {
            row_no += 1;
            for (col, cell) in cells.into_iter().enumerate() {
                let col = col as u16;
                match cell {
                    Cell::Text(s) if heads[col as usize] == "Tekst" => {
                        sheet
                            .write_string_with_format(row_no, col, s, &wrap)
                            .map_err(xlsx_err)?;
                    }
                    Cell::Text(s) => {
                        sheet.write_string(row_no, col, s).map_err(xlsx_err)?;
                    }
                    Cell::Number(n) => {
                        sheet.write_number(row_no, col, n).map_err(xlsx_err)?;
                    }
                    Cell::When(d) => {
                        let t = ExcelDateTime::from_ymd(
                            d.year() as u16,
                            d.month() as u8,
                            d.day() as u8,
                        )
                        .and_then(|x| x.and_hms(d.hour() as u16, d.minute() as u8, d.second()))
                        .map_err(xlsx_err)?;
                        sheet
                            .write_datetime_with_format(row_no, col, &t, &date)
                            .map_err(xlsx_err)?;
                    }
                    Cell::Empty => {}
                }
            }
            Ok(())
        },
    )?;
    sheet
        .autofilter(0, 0, row_no, (heads.len() - 1) as u16)
        .map_err(xlsx_err)?;
    book.save_to_writer(&mut spool).map_err(xlsx_err)?;
    spool.rewind().map_err(io_err)?;
    std::io::copy(&mut spool, &mut out).map_err(io_err)?;
    out.flush().map_err(io_err)?;
    Ok(())
}

/// Writes the `;`-separated CSV for a Dutch Excel: byte order mark, `;`
/// between fields, CRLF, headings and values as in the workbook, local
/// times as `07-12-2026 18:15`, decimal commas, formula cells neutralised.
pub fn write_excel_csv_to<W: Write>(
    db: &ReviewDb,
    scope: &Scope,
    filters: &Filters,
    labels: &Labels,
    include_personal: bool,
    mut out: W,
    summary: &mut ExportSummary,
) -> Result<(), ApiError> {
    out.write_all(BOM).map_err(io_err)?;
    let csv_err = |e: csv::Error| ApiError::Internal(anyhow::Error::new(e).context("CSV"));
    {
        let mut w = csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(&mut out);
        w.write_record(headings(include_personal))
            .map_err(csv_err)?;
        let mut record: Vec<String> = Vec::new();
        each_row(
            db,
            scope,
            filters,
            labels,
            include_personal,
            summary,
            |cells| {
                record.clear();
                record.extend(cells.into_iter().map(|c| match c {
                    Cell::Text(s) => neutralise_formula(&s).into_owned(),
                    Cell::Number(n) => n.to_string().replace('.', ","),
                    Cell::When(d) => d.strftime("%d-%m-%Y %H:%M").to_string(),
                    Cell::Empty => String::new(),
                }));
                w.write_record(&record).map_err(csv_err)
            },
        )?;
        w.flush().map_err(io_err)?;
    }
    out.flush().map_err(io_err)?;
    Ok(())
}

/// The call-back list's columns for people (`dialect=excel`): only what
/// calling back needs; no e-mail address, no note text, no consent.
pub const CALLBACK_COLUMNS: &[&str] = &[
    "Terugbellen vóór",
    "Te laat",
    "Toegewezen aan",
    "Wijk",
    "Team",
    "Spreekuur",
    "Categorie",
    "Naam bewoner",
    "Telefoon bewoner",
    "Pogingen",
    "Document",
    "Item",
];

/// The same columns for machines (`dialect=rfc4180`): codes, ids, UTC.
pub const CALLBACK_MACHINE_COLUMNS: &[&str] = &[
    "due_at",
    "overdue",
    "assignee",
    "wijk",
    "team",
    "doc_title",
    "category",
    "resident_name",
    "resident_phone",
    "attempts",
    "doc_id",
    "item_id",
];

/// The call-back list: every open call back of `filters`, due date first.
/// `excel`: `;`, Dutch headings, words, local time (`07-12-2026 18:15`);
/// otherwise RFC 4180 with codes, user ids and UTC. Both with a byte order
/// mark and CRLF, every text cell neutralised against formulas. `summary`
/// counts the rows and names the items whose name or phone was written.
#[allow(clippy::too_many_arguments)]
pub fn write_callbacks_csv_to<W: Write>(
    db: &ReviewDb,
    scope: &Scope,
    filters: &super::callbacks::WorkFilters,
    now: i64,
    labels: &Labels,
    excel: bool,
    mut out: W,
    summary: &mut ExportSummary,
) -> Result<(), ApiError> {
    out.write_all(BOM).map_err(io_err)?;
    let csv_err = |e: csv::Error| ApiError::Internal(anyhow::Error::new(e).context("CSV"));
    {
        let mut w = csv::WriterBuilder::new()
            .delimiter(if excel { b';' } else { b',' })
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(&mut out);
        w.write_record(if excel {
            CALLBACK_COLUMNS
        } else {
            CALLBACK_MACHINE_COLUMNS
        })
        .map_err(csv_err)?;
        super::callbacks::for_each_callback(db, scope, filters, now, |cb| {
            let row = &cb.row;
            let r = &row["resident"];
            let (name, phone) = (str_of(&r["name"]).trim(), str_of(&r["phone"]).trim());
            let doc_id = str_of(&row["doc_id"]);
            if !name.is_empty() || !phone.is_empty() {
                summary
                    .personal_items
                    .push(format!("{doc_id}/{}", cb.item_id));
            }
            let attempts = row["callback"]["attempts"]
                .as_object()
                .map_or(0, serde_json::Map::len)
                .to_string();
            let overdue = cb.due_at.is_some_and(|d| d < now);
            // An id as its label; nothing for none.
            let word = |key: &str, label: &dyn Fn(&str) -> String| match str_of(&row[key]) {
                "" => String::new(),
                id => label(id),
            };
            let record: Vec<String> = if excel {
                vec![
                    cb.due_at
                        .and_then(|ms| labels.local(ms))
                        .map(|d| d.strftime("%d-%m-%Y %H:%M").to_string())
                        .unwrap_or_default(),
                    (if overdue { "ja" } else { "nee" }).to_owned(),
                    cb.assignee
                        .as_deref()
                        .map_or_else(|| "team".to_owned(), |a| labels.person(a)),
                    word("wijk", &|w| labels.wijk(w)),
                    word("team", &|t| labels.team(t)),
                    str_of(&row["doc_title"]).to_owned(),
                    word("category", &|c| labels.category(c)),
                    name.to_owned(),
                    phone.to_owned(),
                    attempts,
                    doc_id.to_owned(),
                    cb.item_id.clone(),
                ]
            } else {
                vec![
                    cb.due_at.map(super::iso8601).unwrap_or_default(),
                    overdue.to_string(),
                    cb.assignee.clone().unwrap_or_default(),
                    str_of(&row["wijk"]).to_owned(),
                    str_of(&row["team"]).to_owned(),
                    str_of(&row["doc_title"]).to_owned(),
                    str_of(&row["category"]).to_owned(),
                    name.to_owned(),
                    phone.to_owned(),
                    attempts,
                    doc_id.to_owned(),
                    cb.item_id.clone(),
                ]
            };
            let record: Vec<String> = record
                .into_iter()
                .map(|c| neutralise_formula(&c).into_owned())
                .collect();
            w.write_record(&record).map_err(csv_err)?;
            summary.count += 1;
            Ok(())
        })?;
        w.flush().map_err(io_err)?;
    }
    out.flush().map_err(io_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_dutch_day_is_the_day_in_amsterdam_not_in_utc() {
        // 2026-12-02T23:30Z is past midnight in Amsterdam (UTC+1), and
        // 2026-07-31T22:30Z too in summer time (UTC+2).
        assert_eq!(dutch_day(1_796_254_200_000), "3 december 2026");
        assert_eq!(dutch_day(1_785_537_000_000), "1 augustus 2026");
        // The same days at noon UTC.
        assert_eq!(dutch_day(1_796_212_800_000), "2 december 2026");
    }

    fn labels() -> Labels {
        Labels {
            catalog: Catalog::defaults(),
            people: HashMap::from([("u-sanne".to_owned(), "Sanne de Vries".to_owned())]),
            tz: amsterdam(),
        }
    }

    #[test]
    fn local_time_follows_amsterdam_summer_and_winter_time() {
        let l = labels();
        // 2026-07-01 10:00 UTC is 12:00 in summer time (UTC+2).
        let summer = l.local(1_782_900_000_000).expect("valid");
        assert_eq!(summer.to_string(), "2026-07-01T12:00:00");
        // 2026-12-07 17:15 UTC is 18:15 in winter time (UTC+1).
        let winter = l.local(1_796_663_700_000).expect("valid");
        assert_eq!(winter.to_string(), "2026-12-07T18:15:00");
        // Just before midnight UTC is already the next day in Amsterdam.
        assert_eq!(l.local_date(1_796_687_700_000), "2026-12-08");
    }

    #[test]
    fn a_row_reads_as_words_not_codes() {
        let row = json!({
            "doc_id": "d1", "doc_title": "Ronde Centrum", "wijk": "centrum", "team": "team-oost",
            "created_at": 1_796_663_700_000_i64, "created_by": "u-sanne",
            "category": "jeugdoverlast", "severity": "urgent", "text": "=1+1 groep jongeren",
            "place": "De Roef", "location": {"lat": 52.3, "lon": 5.24, "accuracy_m": 8},
            "photos": ["sha256:aa"], "follow_up": {"politie": {"status": "open"}},
            "feedback": {"needed": true},
            "resident": {"name": "Jan", "phone": "06 1234 5678", "consent": true},
            "callback": {"requested": true}
        });
        let c = cells(&labels(), "walk", "i1", &row, true);
        assert_eq!(c.len(), COLUMNS.len() + PERSONAL_COLUMNS.len());
        assert_eq!(c[0], Cell::text("waarneming"));
        assert_eq!(c[2], Cell::text("Centrum"));
        assert_eq!(
            c[4],
            Cell::When("2026-12-07T18:15:00".parse().expect("datetime"))
        );
        assert_eq!(c[5], Cell::text("Sanne de Vries"));
        assert_eq!(c[6], Cell::text("Jeugdoverlast"));
        assert_eq!(c[7], Cell::text("Urgent"));
        assert_eq!(c[10], Cell::Number(52.3));
        assert_eq!(c[13], Cell::Number(1.0));
        assert_eq!(c[14], Cell::text("Politie (wijkagent): open"));
        assert_eq!(c[15], Cell::text("ja"));
        assert_eq!(c[20], Cell::text("Jan"));
        assert_eq!(c[24], Cell::text("ja"));
        // Unknown ids stay readable as themselves.
        let odd = json!({"category": "onbekend", "created_by": "u-x"});
        let c = cells(&labels(), "spreekuur", "i2", &odd, false);
        assert_eq!(c[0], Cell::text("notitie"));
        assert_eq!(c[5], Cell::text("u-x"));
        assert_eq!(c[6], Cell::text("onbekend"));
        assert_eq!(c.len(), COLUMNS.len());
    }
}
