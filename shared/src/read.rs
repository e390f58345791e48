//! Tolerant field readers.
//!
//! Documents may be written by this crate, by older clients or by the official
//! `@automerge/automerge` JS package (which stores plain strings as Text unless
//! told otherwise, and whole numbers as ints). Each reader accepts every
//! representation that can sensibly mean the expected value and returns
//! [`Got::Invalid`] with a short reason otherwise. [`Fields`] turns those into
//! `Option`s and records the reasons in an `invalid` map (`path -> reason`).
//! Reasons never contain the offending value (it might be personal data).
//!
//! Two front ends share one interpretation of scalars: the `get_*` functions
//! read single fields from a live document (used by edits), the [`h`] module
//! reads from a hydrated snapshot (used by the read models, which read every
//! field: one `hydrate` is several times faster than a `get` per field).

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

fn describe_scalar(s: &ScalarValue) -> &'static str {
    match s {
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
    }
}

fn describe_obj(t: ObjType) -> &'static str {
    match t {
        ObjType::Map => "map",
        ObjType::Table => "table",
        ObjType::List => "list",
        ObjType::Text => "text",
    }
}

fn wrong<T>(expected: &str, found: &str) -> Got<T> {
    Got::Invalid(format!("expected {expected}, found {found}"))
}

fn scalar_str(s: &ScalarValue) -> Got<String> {
    match s {
        ScalarValue::Null => Got::Missing,
        ScalarValue::Str(s) => Got::Ok(s.to_string()),
        other => wrong("string", describe_scalar(other)),
    }
}

fn scalar_timestamp(s: &ScalarValue) -> Got<i64> {
    match s {
        ScalarValue::Null => Got::Missing,
        ScalarValue::Timestamp(t) | ScalarValue::Int(t) => Got::Ok(*t),
        ScalarValue::Uint(u) => i64::try_from(*u)
            .map_or_else(|_| Got::Invalid("timestamp out of range".into()), Got::Ok),
        ScalarValue::F64(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Got::Ok(*f as i64)
        }
        other => wrong("timestamp", describe_scalar(other)),
    }
}

fn scalar_f64(s: &ScalarValue) -> Got<f64> {
    match s {
        ScalarValue::Null => Got::Missing,
        ScalarValue::F64(f) if f.is_finite() => Got::Ok(*f),
        ScalarValue::F64(_) => Got::Invalid("expected a finite number".into()),
        ScalarValue::Int(i) => Got::Ok(*i as f64),
        ScalarValue::Uint(u) => Got::Ok(*u as f64),
        other => wrong("number", describe_scalar(other)),
    }
}

fn scalar_int(s: &ScalarValue) -> Got<i64> {
    match s {
        ScalarValue::Null => Got::Missing,
        ScalarValue::Int(i) => Got::Ok(*i),
        ScalarValue::Uint(u) => {
            i64::try_from(*u).map_or_else(|_| Got::Invalid("integer out of range".into()), Got::Ok)
        }
        ScalarValue::Counter(c) => Got::Ok(i64::from(c)),
        ScalarValue::F64(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Got::Ok(*f as i64)
        }
        other => wrong("integer", describe_scalar(other)),
    }
}

fn scalar_bool(s: &ScalarValue) -> Got<bool> {
    match s {
        ScalarValue::Null => Got::Missing,
        ScalarValue::Boolean(b) => Got::Ok(*b),
        other => wrong("boolean", describe_scalar(other)),
    }
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

/// Reads a scalar with `f`; objects are reported as the wrong type.
fn scalar_at<'k, D: ReadDoc, T>(
    doc: &D,
    obj: &ObjId,
    key: impl Into<Key<'k>>,
    expected: &str,
    f: fn(&ScalarValue) -> Got<T>,
) -> Got<T> {
    match raw(doc, obj, key.into()) {
        None => Got::Missing,
        Some((Value::Scalar(s), _)) => f(s.as_ref()),
        Some((Value::Object(t), _)) => wrong(expected, describe_obj(t)),
    }
}

/// A string: `Str` or `Text` (JS writes plain strings as Text by default).
pub(crate) fn get_str<'k, D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: impl Into<Key<'k>>,
) -> Got<String> {
    match raw(doc, obj, key.into()) {
        None => Got::Missing,
        Some((Value::Scalar(s), _)) => scalar_str(s.as_ref()),
        Some((Value::Object(ObjType::Text), id)) => match doc.text(&id) {
            Ok(t) => Got::Ok(t),
            Err(_) => Got::Invalid("unreadable text".into()),
        },
        Some((Value::Object(t), _)) => wrong("string", describe_obj(t)),
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
    scalar_at(doc, obj, key, "timestamp", scalar_timestamp)
}

/// An integer: `Int`, `Uint`, `Counter` or an integral `F64`.
pub(crate) fn get_int<'k, D: ReadDoc>(doc: &D, obj: &ObjId, key: impl Into<Key<'k>>) -> Got<i64> {
    scalar_at(doc, obj, key, "integer", scalar_int)
}

/// A boolean (only `Boolean`; `0`/`1` are not guessed at).
pub(crate) fn get_bool<'k, D: ReadDoc>(doc: &D, obj: &ObjId, key: impl Into<Key<'k>>) -> Got<bool> {
    scalar_at(doc, obj, key, "boolean", scalar_bool)
}

fn object_at<'k, D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: impl Into<Key<'k>>,
    expected: &str,
    accept: fn(ObjType) -> bool,
) -> Got<ObjId> {
    match raw(doc, obj, key.into()) {
        None => Got::Missing,
        Some((Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::Null) => Got::Missing,
        Some((Value::Scalar(s), _)) => wrong(expected, describe_scalar(s.as_ref())),
        Some((Value::Object(t), id)) if accept(t) => Got::Ok(id),
        Some((Value::Object(t), _)) => wrong(expected, describe_obj(t)),
    }
}

/// A map (or a table, which reads the same).
pub(crate) fn get_map<'k, D: ReadDoc>(doc: &D, obj: &ObjId, key: impl Into<Key<'k>>) -> Got<ObjId> {
    object_at(doc, obj, key, "map", |t| {
        matches!(t, ObjType::Map | ObjType::Table)
    })
}

/// A list.
pub(crate) fn get_list<'k, D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: impl Into<Key<'k>>,
) -> Got<ObjId> {
    object_at(doc, obj, key, "list", |t| t == ObjType::List)
}

/// Readers over a hydrated snapshot (`ReadDoc::hydrate`), same rules as above.
pub(crate) mod h {
    use automerge::ScalarValue;
    use automerge::hydrate::{List, Map, Value};

    use super::{
        Got, describe_scalar, scalar_bool, scalar_f64, scalar_int, scalar_str, scalar_timestamp,
        wrong,
    };

    fn describe(v: &Value) -> &'static str {
        match v {
            Value::Scalar(s) => describe_scalar(s),
            Value::Map(_) => "map",
            Value::List(_) => "list",
            Value::Text(_) => "text",
        }
    }

    fn scalar<T>(v: Option<&Value>, expected: &str, f: fn(&ScalarValue) -> Got<T>) -> Got<T> {
        match v {
            None => Got::Missing,
            Some(Value::Scalar(s)) => f(s),
            Some(other) => wrong(expected, describe(other)),
        }
    }

    /// A string value: `Str` or Text.
    pub(crate) fn v_str(v: Option<&Value>) -> Got<String> {
        match v {
            Some(Value::Text(t)) => Got::Ok(String::from(t)),
            other => scalar(other, "string", scalar_str),
        }
    }

    /// A string field: `Str` or Text.
    pub(crate) fn str(m: &Map, key: &str) -> Got<String> {
        v_str(m.get(key))
    }

    /// A free-text field: Text or `Str`.
    pub(crate) fn text(m: &Map, key: &str) -> Got<String> {
        match str(m, key) {
            Got::Invalid(r) => Got::Invalid(r.replace("expected string", "expected text")),
            other => other,
        }
    }

    /// A timestamp value (ms).
    pub(crate) fn v_timestamp(v: Option<&Value>) -> Got<i64> {
        scalar(v, "timestamp", scalar_timestamp)
    }

    /// A timestamp field (ms).
    pub(crate) fn timestamp(m: &Map, key: &str) -> Got<i64> {
        v_timestamp(m.get(key))
    }

    /// A number value.
    pub(crate) fn v_f64(v: Option<&Value>) -> Got<f64> {
        scalar(v, "number", scalar_f64)
    }

    /// A number field.
    pub(crate) fn f64(m: &Map, key: &str) -> Got<f64> {
        v_f64(m.get(key))
    }

    /// An integer field.
    pub(crate) fn int(m: &Map, key: &str) -> Got<i64> {
        scalar(m.get(key), "integer", scalar_int)
    }

    /// A boolean field.
    pub(crate) fn bool(m: &Map, key: &str) -> Got<bool> {
        scalar(m.get(key), "boolean", scalar_bool)
    }

    /// A map value.
    pub(crate) fn v_map(v: Option<&Value>) -> Got<&Map> {
        match v {
            None | Some(Value::Scalar(ScalarValue::Null)) => Got::Missing,
            Some(Value::Map(m)) => Got::Ok(m),
            Some(other) => wrong("map", describe(other)),
        }
    }

    /// A map field.
    pub(crate) fn map<'a>(m: &'a Map, key: &str) -> Got<&'a Map> {
        v_map(m.get(key))
    }

    /// A list field.
    pub(crate) fn list<'a>(m: &'a Map, key: &str) -> Got<&'a List> {
        match m.get(key) {
            None | Some(Value::Scalar(ScalarValue::Null)) => Got::Missing,
            Some(Value::List(l)) => Got::Ok(l),
            Some(other) => wrong("list", describe(other)),
        }
    }

    /// The entries of a map, sorted by key.
    pub(crate) fn entries(m: &Map) -> Vec<(&String, &Value)> {
        let mut v: Vec<(&String, &Value)> = m.iter().map(|(k, mv)| (k, &mv.value)).collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
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

    fn hydrated(d: &AutoCommit) -> automerge::hydrate::Map {
        match d.hydrate(ROOT, None).unwrap() {
            automerge::hydrate::Value::Map(m) => m,
            other => panic!("root is {other:?}"),
        }
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
        let root = hydrated(&d);
        assert_eq!(h::str(&root, "text"), Got::Ok("b".to_owned()));
        assert_eq!(h::text(&root, "str"), Got::Ok("a".to_owned()));
        assert_eq!(h::str(&root, "null"), Got::Missing);
        assert_eq!(h::str(&root, "int"), bad("expected string, found int"));
        assert_eq!(h::text(&root, "map"), bad("expected text, found map"));
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
        let root = hydrated(&d);
        assert_eq!(h::f64(&root, "int"), Got::Ok(7.0));
        assert_eq!(h::f64(&root, "f"), Got::Ok(1.5));
        assert_eq!(h::f64(&root, "nan"), bad("expected a finite number"));
        assert_eq!(h::timestamp(&root, "whole"), Got::Ok(3));
        assert_eq!(
            h::timestamp(&root, "list"),
            bad("expected timestamp, found list")
        );
        assert_eq!(h::int(&root, "counter"), Got::Ok(4));
        assert_eq!(h::bool(&root, "bool"), Got::Ok(true));
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
        let root = hydrated(&d);
        assert!(matches!(h::map(&root, "map"), Got::Ok(_)));
        assert!(matches!(h::list(&root, "list"), Got::Ok(_)));
        assert_eq!(h::map(&root, "null"), Got::Missing);
        assert_eq!(h::list(&root, "map"), bad("expected list, found map"));
        assert_eq!(h::map(&root, "str"), bad("expected map, found string"));
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
