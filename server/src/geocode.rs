//! Addresses for positions and positions for addresses, asked of an address
//! service (PDOK's Locatieserver 3.1 by default) on behalf of the app: the
//! nearest address of a GPS position (`reverse`) and the coordinator map's
//! address search (`search`).
//!
//! The app never talks to the service itself: the server asks it, so that
//! the service sees only the server, never a phone or a token. What goes out
//! is the position, rounded to 5 decimals (about 1 m), or the search words,
//! and nothing about the user. Every request is bounded: per account per
//! minute, a few under way at once (more are answered `busy`), a deadline
//! for the whole answer, and at most [`MAX_ANSWER_BYTES`] read of it.
//! Answers (also "no address here") are kept in memory for a while, oldest
//! out first; failures are not kept.
//!
//! Positions and search words are never logged.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::GeocodingConfig;

/// Most bytes of one answer of the service that are read.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// Results of one search.
pub const SEARCH_ROWS: usize = 5;
/// Longest label handed on (characters); longer ones are cut.
const MAX_LABEL_CHARS: usize = 200;
/// Most accounts whose minute is remembered at once.
const MAX_TRACKED_USERS: usize = 10_000;

/// Why a lookup has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeocodeError {
    /// `[geocoding] enabled = false`.
    #[error("geocoding is off")]
    Off,
    /// The service could not be reached, did not answer in time, or
    /// answered with an error status. The reason is a fixed word.
    #[error("the address service is unreachable ({0})")]
    Unreachable(&'static str),
    /// The service answered something that is not its JSON.
    #[error("the address service sent an unreadable answer")]
    BadAnswer,
    /// Too many lookups are under way.
    #[error("too many address lookups under way")]
    Busy,
    /// This account used its lookups of the minute.
    #[error("address lookups of this account are used up for now")]
    RateLimited {
        /// Seconds until the next minute starts.
        retry_after_secs: u64,
    },
}

/// A place the service knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// How people write it: `Stationsplein 1, 3511ED Utrecht`.
    pub label: String,
    /// The service's kind of place (`adres`, `weg`, `postcode`, `woonplaats`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Latitude of the place (WGS84), when the service gives one.
    pub lat: Option<f64>,
    /// Longitude of the place (WGS84), when the service gives one.
    pub lon: Option<f64>,
    /// Metres from the asked position (reverse only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
}

/// A position rounded to 5 decimals, as integers (the cache key and what
/// is sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoundedPosition {
    lat_e5: i64,
    lon_e5: i64,
}

impl RoundedPosition {
    /// Rounds a position; `None` unless it is a finite WGS84 position.
    pub fn new(lat: f64, lon: f64) -> Option<Self> {
        let ok = lat.is_finite()
            && lon.is_finite()
            && (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lon);
        ok.then(|| Self {
            lat_e5: (lat * 1e5).round() as i64,
            lon_e5: (lon * 1e5).round() as i64,
        })
    }

    fn lat(self) -> String {
        decimal5(self.lat_e5)
    }

    fn lon(self) -> String {
        decimal5(self.lon_e5)
    }
}

fn decimal5(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:05}", a / 100_000, a % 100_000)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Reverse(RoundedPosition),
    Search(String),
}

#[derive(Debug, Clone)]
enum Answer {
    Reverse(Option<Place>),
    Search(Vec<Place>),
}

#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<Key, (Instant, Answer)>,
    /// Keys in the order they were stored (a key stored again appears
    /// twice; the older copy is skipped when it comes up).
    order: VecDeque<(Instant, Key)>,
}

impl Cache {
    fn get(&self, key: &Key, now: Instant, ttl: Duration) -> Option<Answer> {
        let (at, answer) = self.entries.get(key)?;
        (now.duration_since(*at) < ttl).then(|| answer.clone())
    }

    fn put(&mut self, key: Key, answer: Answer, now: Instant, max: usize) {
        self.entries.insert(key.clone(), (now, answer));
        self.order.push_back((now, key));
        while self.entries.len() > max || self.order.len() > 2 * max {
            let Some((at, old)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&old).is_some_and(|(t, _)| *t == at) {
                self.entries.remove(&old);
            }
        }
    }
}

#[derive(Debug, Default)]
struct Minutes {
    users: HashMap<String, (Instant, u32)>,
}

/// The address lookups of one server: configuration, cache, limits.
#[derive(Debug)]
pub struct Geocoder {
    config: GeocodingConfig,
    cache: Mutex<Cache>,
    minutes: Mutex<Minutes>,
    under_way: tokio::sync::Semaphore,
}

impl Geocoder {
    /// A geocoder with the `[geocoding]` section.
    pub fn new(config: &GeocodingConfig) -> Self {
        Self {
            under_way: tokio::sync::Semaphore::new(config.max_concurrent),
            config: config.clone(),
            cache: Mutex::default(),
            minutes: Mutex::default(),
        }
    }

    /// Whether lookups are switched on.
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// Counts one lookup of `user` (a minute's budget each).
    fn count(&self, user: &str, now: Instant) -> Result<(), GeocodeError> {
        let minute = Duration::from_secs(60);
        let mut m = self.minutes.lock().unwrap_or_else(|p| p.into_inner());
        if !m.users.contains_key(user) && m.users.len() >= MAX_TRACKED_USERS {
            m.users
                .retain(|_, (start, _)| now.duration_since(*start) < minute);
        }
        let entry = m.users.entry(user.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= minute {
            *entry = (now, 0);
        }
        if entry.1 >= self.config.per_user_per_minute {
            let left = minute.saturating_sub(now.duration_since(entry.0));
            return Err(GeocodeError::RateLimited {
                retry_after_secs: left.as_secs().max(1),
            });
        }
        entry.1 += 1;
        Ok(())
    }

    fn cached(&self, key: &Key) -> Option<Answer> {
        let ttl = Duration::from_secs(self.config.cache_ttl_secs);
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(key, Instant::now(), ttl)
    }

    fn store(&self, key: Key, answer: Answer) {
        if self.config.cache_ttl_secs == 0 {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.put(key, answer, Instant::now(), self.config.cache_entries);
    }

    /// The nearest address of a position within `max_distance_m`, or `None`.
    pub async fn reverse(
        &self,
        user: &str,
        at: RoundedPosition,
    ) -> Result<Option<Place>, GeocodeError> {
        if !self.config.enabled {
            return Err(GeocodeError::Off);
        }
        self.count(user, Instant::now())?;
        let key = Key::Reverse(at);
        if let Some(Answer::Reverse(a)) = self.cached(&key) {
            return Ok(a);
        }
        let distance = self.config.max_distance_m.to_string();
        let lat = at.lat();
        let lon = at.lon();
        let params: [(&str, &str); 6] = [
            ("lat", &lat),
            ("lon", &lon),
            ("type", "adres"),
            ("rows", "1"),
            ("distance", &distance),
            ("fl", "weergavenaam,type,centroide_ll,afstand"),
        ];
        let body = self.ask("reverse", &params).await?;
        let max = f64::from(self.config.max_distance_m);
        let place = parse_docs(&body)?
            .into_iter()
            .find(|p| p.distance_m.is_none_or(|d| d <= max));
        self.store(key, Answer::Reverse(place.clone()));
        Ok(place)
    }

    /// Places matching the search words (at most [`SEARCH_ROWS`]); `words`
    /// must be checked by [`check_search_words`].
    pub async fn search(&self, user: &str, words: &str) -> Result<Vec<Place>, GeocodeError> {
        if !self.config.enabled {
            return Err(GeocodeError::Off);
        }
        self.count(user, Instant::now())?;
        let key = Key::Search(words.to_lowercase());
        if let Some(Answer::Search(a)) = self.cached(&key) {
            return Ok(a);
        }
        let rows = SEARCH_ROWS.to_string();
        let params: [(&str, &str); 4] = [
            ("q", words),
            ("rows", &rows),
            ("fq", "type:(adres OR weg OR postcode OR woonplaats)"),
            ("fl", "weergavenaam,type,centroide_ll"),
        ];
        let body = self.ask("free", &params).await?;
        let places: Vec<Place> = parse_docs(&body)?
            .into_iter()
            .filter(|p| p.lat.is_some() && p.lon.is_some())
            .take(SEARCH_ROWS)
            .collect();
        self.store(key, Answer::Search(places.clone()));
        Ok(places)
    }

    /// Asks `<url>/<path>?<params>`; the answer's body, read within the
    /// deadline and the size bound.
    async fn ask(&self, path: &str, params: &[(&str, &str)]) -> Result<Vec<u8>, GeocodeError> {
        let _permit = self
            .under_way
            .try_acquire()
            .map_err(|_| GeocodeError::Busy)?;
        let timeout = Duration::from_millis(self.config.timeout_ms);
        let url = format!("{}/{path}", self.config.url.trim());
        let work = async move {
            // One client per lookup: awc's client lives on one worker thread,
            // and lookups are rare next to the answers from the cache.
            let client = awc::Client::builder()
                .connector(awc::Connector::new().timeout(timeout))
                .timeout(timeout)
                .disable_redirects()
                .no_default_headers()
                .add_default_header((awc::http::header::USER_AGENT, "Wijklog"))
                .add_default_header((awc::http::header::ACCEPT, "application/json"))
                .finish();
            let req = client
                .get(url)
                .query(&params)
                .map_err(|_| GeocodeError::Unreachable("request"))?;
            let mut res = req.send().await.map_err(|e| {
                GeocodeError::Unreachable(match e {
                    awc::error::SendRequestError::Timeout => "timeout",
                    awc::error::SendRequestError::Connect(_) => "connect",
                    _ => "send",
                })
            })?;
            if !res.status().is_success() {
                return Err(GeocodeError::Unreachable("status"));
            }
            let body = res
                .body()
                .limit(MAX_ANSWER_BYTES)
                .await
                .map_err(|e| match e {
                    awc::error::PayloadError::Overflow => GeocodeError::BadAnswer,
                    _ => GeocodeError::Unreachable("body"),
                })?;
            Ok(body.to_vec())
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(GeocodeError::Unreachable("timeout")),
        }
        .inspect_err(|e| tracing::warn!(error = %e, "address lookup failed"))
    }
}

/// Checks the search words: trimmed, 2 to 100 characters. The sentence for
/// the client when they are not.
pub fn check_search_words(q: &str) -> Result<&str, &'static str> {
    let q = q.trim();
    let n = q.chars().count();
    if !(2..=100).contains(&n) {
        return Err("q must be 2 to 100 characters.");
    }
    Ok(q)
}

#[derive(Deserialize)]
struct SolrAnswer {
    response: SolrResponse,
}

#[derive(Deserialize)]
struct SolrResponse {
    #[serde(default)]
    docs: Vec<SolrDoc>,
}

#[derive(Deserialize)]
struct SolrDoc {
    weergavenaam: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    centroide_ll: Option<String>,
    afstand: Option<f64>,
}

/// The places of a Locatieserver answer (`response.docs`), in its order;
/// documents without a name are left out.
fn parse_docs(body: &[u8]) -> Result<Vec<Place>, GeocodeError> {
    let answer: SolrAnswer = serde_json::from_slice(body).map_err(|_| GeocodeError::BadAnswer)?;
    Ok(answer
        .response
        .docs
        .into_iter()
        .filter_map(|d| {
            let label = clean_label(d.weergavenaam.as_deref()?)?;
            let (lon, lat) = d.centroide_ll.as_deref().and_then(parse_point).unzip();
            Some(Place {
                label,
                kind: d
                    .kind
                    .map(|k| clean_label(&k).unwrap_or_default())
                    .unwrap_or_default(),
                lat,
                lon,
                distance_m: d.afstand.filter(|a| a.is_finite() && *a >= 0.0),
            })
        })
        .collect())
}

/// A label without control characters, trimmed and cut to
/// [`MAX_LABEL_CHARS`]; `None` when nothing is left.
fn clean_label(s: &str) -> Option<String> {
    let s: String = s
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_LABEL_CHARS)
        .collect();
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// `POINT(lon lat)` (WGS84) as `(lon, lat)`.
fn parse_point(s: &str) -> Option<(f64, f64)> {
    let inner = s.trim().strip_prefix("POINT(")?.strip_suffix(')')?;
    let mut parts = inner.split_whitespace();
    let lon: f64 = parts.next()?.parse().ok()?;
    let lat: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    RoundedPosition::new(lat, lon).map(|_| (lon, lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_rounded_to_five_decimals_and_written_without_exponents() {
        let p = RoundedPosition::new(52.156_113_7, 5.387_826_4).expect("valid");
        assert_eq!((p.lat(), p.lon()), ("52.15611".into(), "5.38783".into()));
        let p = RoundedPosition::new(-0.000_004, -179.999_999).expect("valid");
        assert_eq!((p.lat(), p.lon()), ("0.00000".into(), "-180.00000".into()));
        let p = RoundedPosition::new(-1.5, 0.25).expect("valid");
        assert_eq!((p.lat(), p.lon()), ("-1.50000".into(), "0.25000".into()));
        assert!(RoundedPosition::new(91.0, 5.0).is_none());
        assert!(RoundedPosition::new(f64::NAN, 5.0).is_none());
    }

    #[test]
    fn a_locatieserver_answer_becomes_places() {
        let body = br#"{"response":{"numFound":2,"start":0,"docs":[
            {"type":"adres","weergavenaam":"Stationsplein 1, 3818LE Amersfoort","centroide_ll":"POINT(5.37474 52.15306)","afstand":4.2},
            {"type":"weg","weergavenaam":"  Kamp\u0007straat ","centroide_ll":"nonsense"},
            {"type":"adres"}
        ]}}"#;
        let places = parse_docs(body).expect("parses");
        assert_eq!(places.len(), 2);
        assert_eq!(places[0].label, "Stationsplein 1, 3818LE Amersfoort");
        assert_eq!(places[0].kind, "adres");
        assert_eq!(
            (places[0].lat, places[0].lon),
            (Some(52.15306), Some(5.37474))
        );
        assert_eq!(places[0].distance_m, Some(4.2));
        assert_eq!(places[1].label, "Kampstraat");
        assert_eq!((places[1].lat, places[1].lon), (None, None));
        assert_eq!(parse_docs(b"<html>"), Err(GeocodeError::BadAnswer));
        assert_eq!(parse_docs(br#"{"docs":[]}"#), Err(GeocodeError::BadAnswer));
    }

    #[test]
    fn the_cache_drops_the_oldest_and_forgets_after_its_time() {
        let mut c = Cache::default();
        let t0 = Instant::now();
        let ttl = Duration::from_secs(10);
        let key = |i: i64| {
            Key::Reverse(RoundedPosition {
                lat_e5: i,
                lon_e5: 0,
            })
        };
        for i in 0..3 {
            c.put(key(i), Answer::Reverse(None), t0, 2);
        }
        assert!(c.get(&key(0), t0, ttl).is_none(), "the oldest went");
        assert!(c.get(&key(1), t0, ttl).is_some());
        assert!(c.get(&key(2), t0, ttl).is_some());
        assert!(c.get(&key(2), t0 + ttl, ttl).is_none(), "too old");
        // Storing one key again and again keeps the queue bounded.
        for _ in 0..100 {
            c.put(key(2), Answer::Reverse(None), t0, 2);
        }
        assert!(c.order.len() <= 4 && c.entries.len() <= 2);
    }

    #[test]
    fn an_account_gets_its_lookups_per_minute() {
        let g = Geocoder::new(&GeocodingConfig {
            per_user_per_minute: 2,
            ..GeocodingConfig::default()
        });
        let t0 = Instant::now();
        g.count("a", t0).expect("1");
        g.count("a", t0).expect("2");
        assert_eq!(
            g.count("a", t0 + Duration::from_secs(45)),
            Err(GeocodeError::RateLimited {
                retry_after_secs: 15
            })
        );
        g.count("b", t0).expect("another account");
        g.count("a", t0 + Duration::from_secs(60))
            .expect("the next minute");
    }
}
