//! A resident's submission: the body of `POST /api/v1/public/points` (and
//! of the HTML form), its checks, and storing it. Each refusal has a stable
//! code and sentence; nothing is stored unless everything is right, and the
//! form is given back filled in (the HTML page) so nothing typed is lost.

use std::net::IpAddr;
use std::sync::Arc;

use serde::Deserialize;
use wijklog_shared::Catalog;
use wijklog_shared::contact::{MAX_CONTACT_CHARS, check_email, check_phone};

use super::Public;
use super::limits::Counted;
use super::points::{self, Contact, NewPoint};
use super::receipt::Receipt;
use super::token::TokenProblem;
use crate::domain::now_ms;
use crate::edge::ApiError;
use crate::edge::blocking;
use crate::review::ReviewDb;
use crate::storage::Store;

/// Largest body the submission endpoints read (bytes).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Shortest and longest point text (characters, after trimming).
pub const MIN_TEXT_CHARS: usize = 3;
/// Longest point text.
pub const MAX_TEXT_CHARS: usize = 1000;
/// Longest place (street and number).
pub const MAX_PLACE_CHARS: usize = 200;

/// The submission as sent. Unknown fields are refused.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// Catalog wijk id.
    pub wijk: String,
    /// What should be looked at.
    pub text: String,
    /// Catalog category id.
    #[serde(default)]
    pub category: Option<String>,
    /// Street and number.
    #[serde(default)]
    pub place: Option<String>,
    /// A point on the map.
    #[serde(default)]
    pub location: Option<LocationIn>,
    /// Contact details; need `consent: true`.
    #[serde(default)]
    pub contact: Option<ContactIn>,
    /// The form token (`GET /api/v1/public/form-token`).
    #[serde(default)]
    pub token: Option<String>,
    /// The honeypot: a field people do not see and leave empty.
    #[serde(default)]
    pub website: Option<String>,
}

/// `{"lat","lon"}`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationIn {
    /// Latitude (WGS84).
    pub lat: f64,
    /// Longitude (WGS84).
    pub lon: f64,
}

/// `{"name"?,"email"?,"phone"?,"consent"}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// The resident agrees to be contacted about this point.
    #[serde(default)]
    pub consent: bool,
}

fn trimmed(s: Option<&String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn plain(s: &str, allow_newlines: bool) -> bool {
    !s.chars()
        .any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t')))
}

/// Checks everything but the token against the catalog.
pub fn check(s: &Submission, catalog: &Catalog) -> Result<NewPoint, ApiError> {
    if s.website.as_deref().is_some_and(|w| !w.trim().is_empty()) {
        return Err(ApiError::Refused {
            code: "automated",
            message: "The form was filled in by a program (the field that must stay empty was filled).",
        });
    }
    let wijk = s.wijk.trim();
    if catalog.check_wijk(wijk).is_err() {
        return Err(ApiError::param("wijk", "Unknown wijk."));
    }
    let text = s.text.trim();
    let n = text.chars().count();
    if n < MIN_TEXT_CHARS {
        return Err(ApiError::param(
            "text",
            "Say in a sentence what should be looked at.",
        ));
    }
    if n > MAX_TEXT_CHARS || !plain(text, true) {
        return Err(ApiError::param(
            "text",
            "The text is longer than 1000 characters or holds control characters.",
        ));
    }
    let category = trimmed(s.category.as_ref());
    if let Some(c) = &category
        && catalog.check_category(c).is_err()
    {
        return Err(ApiError::param("category", "Unknown category."));
    }
    let place = trimmed(s.place.as_ref());
    if let Some(p) = &place
        && (p.chars().count() > MAX_PLACE_CHARS || !plain(p, false))
    {
        return Err(ApiError::param(
            "place",
            "The place is longer than 200 characters or holds control characters.",
        ));
    }
    let location = match s.location {
        None => None,
        Some(l) => {
            let in_range = l.lat.is_finite()
                && l.lon.is_finite()
                && (-90.0..=90.0).contains(&l.lat)
                && (-180.0..=180.0).contains(&l.lon);
            let in_wijk = catalog.wijken.get(wijk).and_then(|w| w.bbox).is_none_or(
                |[min_lon, min_lat, max_lon, max_lat]| {
                    // A margin of about 500 m around the wijk.
                    let m = 0.005;
                    (min_lat - m..=max_lat + m).contains(&l.lat)
                        && (min_lon - m..=max_lon + m).contains(&l.lon)
                },
            );
            if !in_range || !in_wijk {
                return Err(ApiError::param(
                    "location",
                    "The point on the map is not in this wijk.",
                ));
            }
            Some((l.lat, l.lon))
        }
    };
    let contact = match &s.contact {
        None => None,
        Some(c) => {
            let name = trimmed(c.name.as_ref());
            let email = trimmed(c.email.as_ref());
            let phone = trimmed(c.phone.as_ref());
            if name.is_none() && email.is_none() && phone.is_none() {
                None
            } else {
                if !c.consent {
                    return Err(ApiError::param(
                        "consent",
                        "Contact details are kept only with consent: tick it, or leave them out.",
                    ));
                }
                if let Some(n) = &name
                    && (n.chars().count() > MAX_CONTACT_CHARS || !plain(n, false))
                {
                    return Err(ApiError::param(
                        "name",
                        "The name is longer than 100 characters or holds control characters.",
                    ));
                }
                if let Some(e) = &email
                    && check_email(e).is_err()
                {
                    return Err(ApiError::param("email", "The e-mail address is not valid."));
                }
                if let Some(p) = &phone
                    && check_phone(p).is_err()
                {
                    return Err(ApiError::param("phone", "The phone number is not valid."));
                }
                if email.is_none() && phone.is_none() {
                    return Err(ApiError::param(
                        "contact",
                        "Give an e-mail address or a phone number to be contacted.",
                    ));
                }
                Some(Contact { name, email, phone })
            }
        }
    };
    Ok(NewPoint {
        wijk: wijk.to_owned(),
        text: text.to_owned(),
        category,
        place,
        location,
        contact,
    })
}

fn token_error(p: TokenProblem) -> ApiError {
    match p {
        TokenProblem::Invalid => ApiError::Refused {
            code: "form_token_invalid",
            message: "The form token is missing or not valid; open the form again.",
        },
        TokenProblem::TooFast => ApiError::Refused {
            code: "form_too_fast",
            message: "The form was sent too soon after it was opened; wait a few seconds and send it again.",
        },
        TokenProblem::Expired => ApiError::Refused {
            code: "form_expired",
            message: "The form was open too long; send it again.",
        },
        TokenProblem::Used => ApiError::Refused {
            code: "form_used",
            message: "This form was sent already; open the form again for another point.",
        },
        TokenProblem::Busy => busy(),
    }
}

/// 503 `busy`.
pub fn busy() -> ApiError {
    ApiError::Unavailable {
        code: "busy",
        message: "The server is busy; try again in a moment.",
    }
}

/// 429 for a refused limit.
pub fn too_many(r: super::limits::Refused) -> ApiError {
    ApiError::TooMany {
        code: "rate_limited",
        message: "Too many requests; try again later.",
        retry_after_secs: r.retry_after_secs(),
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    u64::try_from(now_ms() / 1000).unwrap_or(0)
}

/// Checks and stores a submission from `ip`: the fields, then
/// [`hand_in`]. The receipt of the stored point.
pub async fn submit(
    public: &Arc<Public>,
    store: &Arc<dyn Store>,
    review: &Arc<ReviewDb>,
    ip: Option<IpAddr>,
    s: Submission,
) -> Result<Receipt, ApiError> {
    {
        let store = store.clone();
        let db = review.clone();
        let p = public.clone();
        let _slot = public.db_gate.acquire().await.map_err(|_| busy())?;
        blocking::<_, ApiError>(move || {
            p.schedule.refresh_if_stale(store.as_ref(), &db);
            Ok(())
        })
        .await?;
    }
    let point = check(&s, &public.schedule.catalog())?;
    hand_in(public, review, ip, s.token.unwrap_or_default(), point).await
}

/// What a submission has taken before its point is stored: its form token
/// and its place in the submission budgets. The one rule: a claim that is
/// dropped without [`Claim::stored`] gives both back, whatever kept the
/// point from being stored (a limit, `busy`, a failed write, a request
/// given up on before the write). The budgets count stored points, and
/// the resident may send the same form again.
struct Claim {
    public: Arc<Public>,
    token: String,
    redeemed_at: u64,
    budget: Option<Counted>,
    stored: bool,
}

impl Claim {
    /// The point is stored: the token stays used, the budget spent.
    fn stored(mut self) {
        self.stored = true;
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.stored {
            return;
        }
        self.public.tokens.give_back(&self.token, self.redeemed_at);
        if let Some(counted) = self.budget.take() {
            self.public.submits.give_back(counted);
        }
    }
}

/// Stores a checked point from `ip` with its form `token`: redeems the
/// token, counts the point against the submission limits, then one insert
/// through the public database gate. A point that is not stored takes
/// nothing: see [`Claim`]. The receipt of the stored point.
pub async fn hand_in(
    public: &Arc<Public>,
    review: &Arc<ReviewDb>,
    ip: Option<IpAddr>,
    token: String,
    point: NewPoint,
) -> Result<Receipt, ApiError> {
    let now = now_secs();
    public.tokens.redeem(&token, now).map_err(token_error)?;
    let mut claim = Claim {
        public: public.clone(),
        token,
        redeemed_at: now,
        budget: None,
        stored: false,
    };
    claim.budget = public.submit(ip).map_err(too_many)?;
    let slot = public.db_gate.acquire().await.map_err(|_| busy())?;
    let db = review.clone();
    // The claim and the slot go into the write itself: if the request is
    // given up on meanwhile, the write still decides what is given back.
    blocking::<_, ApiError>(move || {
        let _slot = slot;
        let (_, receipt) = db.with_conn(|c| points::insert(c, &point, now_ms()))?;
        claim.stored();
        Ok(receipt)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::mac::MacKey;
    use crate::config::PublicConfig;
    use crate::storage::SqliteStore;

    fn point(i: usize) -> NewPoint {
        NewPoint {
            wijk: "centrum".into(),
            text: format!("Punt nummer {i}"),
            category: None,
            place: None,
            location: None,
            contact: None,
        }
    }

    fn stored(review: &ReviewDb) -> i64 {
        review
            .with_conn(|c| c.query_row("SELECT count(*) FROM resident_points", [], |r| r.get(0)))
            .expect("count")
    }

    /// The database gate is full (its slot taken, 16 waiting), so every
    /// point of one address gets `busy`; once the gate is free, the same
    /// form is stored and the address still has its whole budget. Before
    /// the budget was given back, the first point after the gate freed up
    /// was `rate_limited` although nothing had been stored.
    #[tokio::test]
    async fn points_refused_as_busy_cost_neither_budget_nor_form() {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(SqliteStore::open_in_dir(dir.path()).expect("store"));
        let review = Arc::new(ReviewDb::in_dir(dir.path()));
        let cfg = PublicConfig {
            form_min_secs: 0,
            submits_per_address: 2,
            submits_global: 3,
            ..PublicConfig::default()
        };
        let public = Arc::new(Public::new(&cfg, MacKey::derive(b"secret", "public-form")));
        let ip: Option<IpAddr> = "192.0.2.7".parse().ok();

        let slot = public.db_gate.acquire().await.expect("the slot");
        let mut waiters = Vec::new();
        for _ in 0..16 {
            let p = public.clone();
            waiters.push(tokio::spawn(async move {
                drop(p.db_gate.acquire().await.expect("a place in the queue"));
            }));
        }
        while public.db_gate.waiting() < 16 {
            tokio::task::yield_now().await;
        }
        let form = public.tokens.issue(now_secs()).expect("token");
        for i in 0..5 {
            let e = hand_in(&public, &review, ip, form.clone(), point(i))
                .await
                .expect_err("the gate is full");
            assert_eq!(e.code(), "busy");
        }
        assert_eq!(stored(&review), 0);

        drop(slot);
        for w in waiters {
            w.await.expect("waiter");
        }
        hand_in(&public, &review, ip, form.clone(), point(5))
            .await
            .expect("the same form, within the address's budget");
        let e = hand_in(&public, &review, ip, form, point(6))
            .await
            .expect_err("a stored form is used");
        assert_eq!(e.code(), "form_used");
        let second = public.tokens.issue(now_secs()).expect("token");
        hand_in(&public, &review, ip, second, point(7))
            .await
            .expect("the second point of the budget");
        let third = public.tokens.issue(now_secs()).expect("token");
        let e = hand_in(&public, &review, ip, third.clone(), point(8))
            .await
            .expect_err("the budget is spent");
        assert_eq!(e.code(), "rate_limited");
        // The refused form stays usable: from another address it is stored
        // (the third and last place of the global budget).
        hand_in(&public, &review, "192.0.2.8".parse().ok(), third, point(9))
            .await
            .expect("global budget: 2 of 3 used");
        assert_eq!(stored(&review), 3);
    }
}
