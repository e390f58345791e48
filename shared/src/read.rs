//! Tolerant field readers.
//!
//! Documents may be written by this crate, by older clients or by the official
//! `@automerge/automerge` JS package (which stores plain strings as Text unless
//! told otherwise, and whole numbers as ints). Each reader accepts every
//! representation that can sensibly mean the expected value and returns
//! [`Got::Invalid`] with a short reason otherwise. [`Fields`] turns those into
//! `Option`s and records the reasons in an `invalid` map (`path -> reason`).
//! Reasons never contain the offending value (it might be personal data).

use std::collections::BTreeMap;

use automerge::{ObjId, ObjType, ReadDoc, ScalarValue, Value};

/// The outcome of reading one field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Got<T> {
    Missing,
    Ok(T),
    Invalid(String),
}

impl<T> Got<T> {
    pub(crate) fn ok(self) -> Option<T> {
        match self {
            Got::Ok(v) => Some(v),
            _ => None,
        }
    }
}

fn describe(v: &Value<'_>) -> &'static str {
    match v {
        Value::Object(ObjType::Map) => "map",
        Value::Object(ObjType::Table) => "table",
        Value::Object(ObjType::List) => "list",
        Value::Object(ObjType::Text) => "text",
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Bytes(_) => "bytes",
            ScalarValue::Str(_) => "string",
            ScalarValue::Int(_) => "int",
            ScalarValue::Uint(_) => "uint",
            ScalarValue::F64(_) => "float",
            ScalarValue::Counter(_) => "counter",
            ScalarValue::Timestamp(_) => "timestamp",
            ScalarValue::Boolean(_) => "boolean",
            ScalarValue::Unknown { .. } => "unknown scalar",
            ScalarValue::Null => "null",
        },
    }
}

fn wrong<T>(expected: &str, v: &Value<'_>) -> Got<T> {
    Got::Invalid(format!("expected {expected}, found {}", describe(v)))
}

fn wrong_scalar<T>(expected: &str, s: &ScalarValue) -> Got<T> {
    wrong(expected, &Value::Scalar(std::borrow::Cow::Borrowed(s)))
}

/// A property of a map (string key) or list (index).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Key<'a> {
    Map(&'a str),
    Index(usize),
}

impl<'a> From<&'a str> for Key<'a> {
    fn from(s: &'a str) -> Self {
        Key::Map(s)
    }
}

impl From<usize> for Key<'_> {
    fn from(i: usize) -> Self {
        Key::Index(i)
    }
}

fn raw<'d, D: ReadDoc>(doc: &'d D, obj: &ObjId, key: Key<'_>) -> Option<(Value<'d>, ObjId)> {
    let got = match key {
        Key::Map(k) => doc.get(obj, k),
        Key::Index(i) => doc.get(obj, i),
    };
    // A read error means the object is not what we think it is; treat as absent.
    got.ok().flatten()
}

/// A string: `Str` or `Text` (JS writes plain strings as Text by default).
pub(crate) fn get_str<'k, D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: impl Into<Key<'k>>,
) -> Got<String> {
    match raw(doc, obj, key.into()) {
        None => Got::Missing,
        Some((Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::Null) => Got::Missing,
        Some((Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::Str(_)) => {
            match s.as_ref() {
                ScalarValue::Str(s) => Got::Ok(s.to_string()),
                _ => Got::Invalid("expected string".into()),
            }
        }
        Some((Value::Object(ObjType::Text), id)) => match doc.text(&id) {
            Ok(t) => Got::Ok(t),
            Err(_) => Got::Invalid("unreadable text".into()),
        },
        Some((v, _)) => wrong("string", &v),
    }
}

/// Free text: `Text` or `Str` (an `ImmutableString` from JS).
pub(crate) fn get_text<'k, D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: impl Into<Key<'k>>,
) -> Got<String> {
    match get_str(doc, obj, key) {
        Got::Invalid(r) => Got::Invalid(r.replace("expected string", "expected text")),
        other => other,
    }
}

/// The id of the Text object at `key`, if it is one.
pub(crate) fn get_text_obj<'k, D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: impl Into<Key<'k>>,
) -> Option<ObjId> {
    match raw(doc, obj, key.into()) {
        Some((Value::Object(ObjType::Text), id)) => Some(id),
        _ => None,
    }
}

/// A timestamp in ms: `Timestamp`, `Int`, `Uint` or an integral `F64`
/// (JS `Date` objects become timestamps, `Date.now()` numbers become ints or floats).
pub(crate) fn get_timestamp<'k, D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: impl Into<Key<'k>>,
) -> Got<i64> {
    match raw(doc, obj, key.into()) {
        None => Got::Missing,
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Null => Got::Missing,
            ScalarValue::Timestamp(t) | ScalarValue::Int(t) => Got::Ok(*t),
            ScalarValue::Uint(u) => i64::try_from(*u)
                .map_or_else(|_| Got::Invalid("timestamp out of range".into()), Got::Ok),
            ScalarValue::F64(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Got::Ok(*f as i64)
            }
            other => wrong_scalar("timestamp", other),
        },
        Some((v, _)) => wrong("timestamp", &v),
    }
}

/// A float: `F64`, `Int` or `Uint` (JS stores whole numbers as ints).
pub(crate) fn get_f64<'k, D: ReadDoc>(doc: &D, obj: &ObjId, key: impl Into<Key<'k>>) -> Got<f64> {
    match raw(doc, obj, key.into()) {
        None => Got::Missing,
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Null => Got::Missing,
            ScalarValue::F64(f) if f.is_finite() => Got::Ok(*f),
            ScalarValue::F64(_) => Got::Invalid("expected a finite number".into()),
            ScalarValue::Int(i) => Got::Ok(*i as f64),
            ScalarValue::Uint(u) => Got::Ok(*u as f64),
            other => wrong_scalar("number", other),
        },
        Some((v, _)) => wrong("number", &v),
    }
}

/// An integer: `Int`, `Uint`, `Counter` or an integral `F64`.
pub(crate) fn get_int<'k, D: ReadDoc>(doc: &D, obj: &ObjId, key: impl Into<Key<'k>>) -> Got<i64> {
    match raw(doc, obj, key.into()) {
        None => Got::Missing,
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Null => Got::Missing,
            ScalarValue::Int(i) => Got::Ok(*i),
            ScalarValue::Uint(u) => i64::try_from(*u)
                .map_or_else(|_| Got::Invalid("integer out of range".into()), Got::Ok),
            ScalarValue::Counter(c) => Got::Ok(i64::from(c)),
            ScalarValue::F64(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Got::Ok(*f as i64)
            }
            other => wrong_scalar("integer", other),
        },
        Some((v, _)) => wrong("integer", &v),
    }
}

/// A boolean (only `Boolean`; `0`/`1` are not guessed at).
pub(crate) fn get_bool<'k, D: ReadDoc>(doc: &D, obj: &ObjId, key: impl Into<Key<'k>>) -> Got<bool> {
    match raw(doc, obj, key.into()) {
        None => Got::Missing,
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Null => Got::Missing,
            ScalarValue::Boolean(b) => Got::Ok(*b),
            other => wrong_scalar("boolean", other),
        },
        Some((v, _)) => wrong("boolean", &v),
    }
}

/// A map (or a table, which reads the same).
pub(crate) fn get_map<'k, D: ReadDoc>(doc: &D, obj: &ObjId, key: impl Into<Key<'k>>) -> Got<ObjId> {
    match raw(doc, obj, key.into()) {
        None => Got::Missing,
        Some((Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::Null) => Got::Missing,
        Some((Value::Object(ObjType::Map | ObjType::Table), id)) => Got::Ok(id),
        Some((v, _)) => wrong("map", &v),
    }
}

/// A list.
pub(crate) fn get_list<'k, D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: impl Into<Key<'k>>,
) -> Got<ObjId> {
    match raw(doc, obj, key.into()) {
        None => Got::Missing,
        Some((Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::Null) => Got::Missing,
        Some((Value::Object(ObjType::List), id)) => Got::Ok(id),
        Some((v, _)) => wrong("list", &v),
    }
}

/// Collects invalid fields under a path prefix while converting [`Got`]s to `Option`s.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    invalid: &'a mut BTreeMap<String, String>,
    prefix: String,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(invalid: &'a mut BTreeMap<String, String>) -> Self {
        Fields {
            invalid,
            prefix: String::new(),
        }
    }

    /// A collector writing to the same map with `name.` prepended to paths.
    pub(crate) fn nested(&mut self, name: &str) -> Fields<'_> {
        let prefix = self.path(name) + ".";
        Fields {
            invalid: self.invalid,
            prefix,
        }
    }

    /// The full path of `name`; an empty name is the prefix itself.
    pub(crate) fn path(&self, name: &str) -> String {
        if name.is_empty() {
            self.prefix.trim_end_matches('.').to_owned()
        } else {
            format!("{}{}", self.prefix, name)
        }
    }

    pub(crate) fn mark(&mut self, name: &str, reason: &str) {
        let path = self.path(name);
        self.invalid.insert(path, reason.to_owned());
    }

    /// A field that must be present: missing is recorded as invalid.
    pub(crate) fn req<T>(&mut self, name: &str, got: Got<T>) -> Option<T> {
        match got {
            Got::Ok(v) => Some(v),
            Got::Missing => {
                self.mark(name, "missing");
                None
            }
            Got::Invalid(r) => {
                self.mark(name, &r);
                None
            }
        }
    }

    /// A field that may be absent: only a wrong value is recorded.
    pub(crate) fn opt<T>(&mut self, name: &str, got: Got<T>) -> Option<T> {
        match got {
            Got::Ok(v) => Some(v),
            Got::Missing => None,
            Got::Invalid(r) => {
                self.mark(name, &r);
                None
            }
        }
    }

    /// Parses a present string with `parse`; a failing parse is recorded as "unknown value".
    pub(crate) fn parsed<T, E>(
        &mut self,
        name: &str,
        value: Option<String>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let s = value?;
        match parse(&s) {
            Ok(v) => Some(v),
            Err(_) => {
                self.mark(name, "unknown value");
                None
            }
        }
    }
}

/// The keys of a map object, in key order.
pub(crate) fn map_keys<D: ReadDoc>(doc: &D, obj: &ObjId) -> Vec<String> {
    doc.keys(obj).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    fn doc() -> AutoCommit {
        let mut d = AutoCommit::new();
        d.put(ROOT, "str", "a").unwrap();
        let t = d.put_object(ROOT, "text", ObjType::Text).unwrap();
        d.splice_text(&t, 0, 0, "b").unwrap();
        d.put(ROOT, "null", ScalarValue::Null).unwrap();
        d.put(ROOT, "int", 7).unwrap();
        d.put(ROOT, "uint", ScalarValue::Uint(8)).unwrap();
        d.put(ROOT, "big", ScalarValue::Uint(u64::MAX)).unwrap();
        d.put(ROOT, "f", 1.5).unwrap();
        d.put(ROOT, "whole", 3.0).unwrap();
        d.put(ROOT, "nan", f64::NAN).unwrap();
        d.put(ROOT, "ts", ScalarValue::Timestamp(9)).unwrap();
        d.put(ROOT, "counter", ScalarValue::counter(4)).unwrap();
        d.put(ROOT, "bool", true).unwrap();
        d.put_object(ROOT, "map", ObjType::Map).unwrap();
        d.put_object(ROOT, "list", ObjType::List).unwrap();
        d
    }

    fn bad<T>(reason: &str) -> Got<T> {
        Got::Invalid(reason.to_owned())
    }

    #[test]
    fn strings_accept_str_and_text() {
        let d = doc();
        assert_eq!(get_str(&d, &ROOT, "str"), Got::Ok("a".to_owned()));
        assert_eq!(get_str(&d, &ROOT, "text"), Got::Ok("b".to_owned()));
        assert_eq!(get_str(&d, &ROOT, "null"), Got::Missing);
        assert_eq!(get_str(&d, &ROOT, "absent"), Got::Missing);
        assert_eq!(get_str(&d, &ROOT, "int"), bad("expected string, found int"));
        assert_eq!(get_text(&d, &ROOT, "map"), bad("expected text, found map"));
    }

    #[test]
    fn numbers_accept_every_whole_representation() {
        let d = doc();
        assert_eq!(get_timestamp(&d, &ROOT, "ts"), Got::Ok(9));
        assert_eq!(get_timestamp(&d, &ROOT, "int"), Got::Ok(7));
        assert_eq!(get_timestamp(&d, &ROOT, "uint"), Got::Ok(8));
        assert_eq!(get_timestamp(&d, &ROOT, "whole"), Got::Ok(3));
        assert_eq!(
            get_timestamp(&d, &ROOT, "f"),
            bad("expected timestamp, found float")
        );
        assert_eq!(
            get_timestamp(&d, &ROOT, "big"),
            bad("timestamp out of range")
        );
        assert_eq!(get_int(&d, &ROOT, "counter"), Got::Ok(4));
        assert_eq!(
            get_int(&d, &ROOT, "str"),
            bad("expected integer, found string")
        );
        assert_eq!(get_f64(&d, &ROOT, "int"), Got::Ok(7.0));
        assert_eq!(get_f64(&d, &ROOT, "f"), Got::Ok(1.5));
        assert_eq!(get_f64(&d, &ROOT, "nan"), bad("expected a finite number"));
        assert_eq!(get_bool(&d, &ROOT, "bool"), Got::Ok(true));
        assert_eq!(
            get_bool(&d, &ROOT, "int"),
            bad("expected boolean, found int")
        );
    }

    #[test]
    fn objects_are_checked_by_type() {
        let d = doc();
        assert!(matches!(get_map(&d, &ROOT, "map"), Got::Ok(_)));
        assert!(matches!(get_list(&d, &ROOT, "list"), Got::Ok(_)));
        assert_eq!(get_map(&d, &ROOT, "list"), bad("expected map, found list"));
        assert_eq!(
            get_list(&d, &ROOT, "text"),
            bad("expected list, found text")
        );
        assert!(get_text_obj(&d, &ROOT, "text").is_some());
        assert!(get_text_obj(&d, &ROOT, "str").is_none());
    }

    #[test]
    fn fields_record_paths_and_distinguish_required_from_optional() {
        let d = doc();
        let mut invalid = BTreeMap::new();
        let mut f = Fields::new(&mut invalid);
        assert_eq!(f.req::<String>("a", Got::Missing), None);
        assert_eq!(f.opt::<String>("b", Got::Missing), None);
        {
            let mut n = f.nested("x");
            let mut n = n.nested("y");
            assert_eq!(n.opt("c", get_str(&d, &ROOT, "int")), None);
            n.mark("", "whole entry");
            assert_eq!(
                n.parsed("sev", Some("kritiek".to_owned()), crate::Severity::parse),
                None
            );
        }
        let got: Vec<(&str, &str)> = invalid
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", "missing"),
                ("x.y", "whole entry"),
                ("x.y.c", "expected string, found int"),
                ("x.y.sev", "unknown value"),
            ]
        );
    }
}
