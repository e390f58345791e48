//! The residents' pages under `/bewoners/` (docs/user-guide-bewoners.md):
//! server-rendered HTML in Dutch at B1 level, without the app shell and
//! without JavaScript, readable on a 320 px phone. They use the same checks,
//! limits and storage as the public JSON endpoints
//! ([`crate::routes::public`]); a refused form comes back filled in with
//! the reason next to it, so nothing typed is lost.
//!
//! - `GET /bewoners/`: the wijken, and a box to look up a receipt code.
//! - `GET /bewoners/{wijk}`: coming walks and spreekuren, the published
//!   wijkbericht ("U meldde, wij deden"), and the form.
//! - `POST /bewoners/{wijk}`: hand in (form fields) → 303 to the status page.
//! - `GET /bewoners/status?code=` and `GET /bewoners/status/{code}`: the status.
//! - `GET /bewoners/stijl.css`: the style sheet.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::public::{
    bounded_body, category_list, count_read, fresh_schedule, local_date_time, lookup,
    published_wijkbericht, start_of_today, wijk_list,
};
use crate::domain::{DocKind, now_ms};
use crate::edge::ApiError;
use crate::public::queue::status_sentence;
use crate::public::submit::{self, ContactIn, LocationIn, Submission};
use crate::review::sheet::dutch_day;
use crate::review::wijkbericht::{Block, Published, blocks, period_words};

/// Registers the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/bewoners", web::get().to(index))
        .route("/bewoners/", web::get().to(index))
        .route("/bewoners/stijl.css", web::get().to(style))
        .route("/bewoners/status", web::get().to(status_query))
        .route("/bewoners/status/{code}", web::get().to(status_page))
        .route("/bewoners/{wijk}", web::get().to(wijk_page))
        .route("/bewoners/{wijk}", web::post().to(wijk_post));
}

const CSS: &str = include_str!("bewoners.css");

async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(CSS)
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} – Bewoners</title>\n<link rel=\"stylesheet\" href=\"/bewoners/stijl.css\">\n</head>\n\
         <body>\n<header><a href=\"/bewoners/\">Bewoners: meld wat er speelt</a></header>\n\
         <main id=\"inhoud\">\n{body}\n</main>\n</body>\n</html>\n",
        esc(title)
    );
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

fn ok_page(title: &str, body: &str) -> HttpResponse {
    page(actix_web::http::StatusCode::OK, title, body)
}

/// An error as a page: the Dutch sentence for its code, and its status.
fn error_page(e: &ApiError) -> HttpResponse {
    use actix_web::ResponseError;
    let (title, text) = match e.code() {
        "not_found" => (
            "Niet gevonden",
            "Deze pagina bestaat niet. Kijk of u het adres goed heeft overgenomen.",
        ),
        "rate_limited" => (
            "Even wachten",
            "Er komen nu te veel verzoeken binnen. Probeer het over een paar minuten opnieuw.",
        ),
        "busy" => (
            "Even wachten",
            "Het is nu erg druk. Probeer het over een minuut opnieuw.",
        ),
        "sqlite_only" => (
            "Niet beschikbaar",
            "Deze pagina's werken nog niet op deze server.",
        ),
        _ => (
            "Er ging iets mis",
            "Er ging iets mis. Probeer het later opnieuw.",
        ),
    };
    let mut res = page(
        e.status_code(),
        title,
        &format!(
            "<h1>{}</h1>\n<p>{}</p>\n<p><a href=\"/bewoners/\">Terug naar het begin</a></p>",
            esc(title),
            esc(text)
        ),
    );
    if let Some(v) = e.error_response().headers().get(header::RETRY_AFTER) {
        res.headers_mut().insert(header::RETRY_AFTER, v.clone());
    }
    res
}

fn status_form() -> String {
    "<section aria-labelledby=\"code-kop\">\n<h2 id=\"code-kop\">Hoe staat het met mijn punt?</h2>\n\
     <form method=\"get\" action=\"/bewoners/status\">\n\
     <label for=\"code\">Uw ontvangstcode</label>\n\
     <input id=\"code\" name=\"code\" autocomplete=\"off\" autocapitalize=\"characters\" maxlength=\"20\" required>\n\
     <button type=\"submit\">Bekijk</button>\n</form>\n</section>"
        .into()
}

async fn index(req: HttpRequest, state: web::Data<crate::state::AppState>) -> HttpResponse {
    if let Err(e) = count_read(&state, &req) {
        return error_page(&e);
    }
    if let Err(e) = fresh_schedule(&state).await {
        return error_page(&e);
    }
    let catalog = state.public.schedule.catalog();
    let links: String = wijk_list(&catalog)
        .into_iter()
        .map(|(id, label)| {
            format!(
                "<li><a href=\"/bewoners/{}\">{}</a></li>\n",
                esc(&id),
                esc(&label)
            )
        })
        .collect();
    ok_page(
        "Uw wijk",
        &format!(
            "<h1>Wat moeten we in uw wijk bekijken?</h1>\n\
             <p>Boa's lopen geregeld door de wijk. U kunt vooraf zeggen waar ze op moeten letten. \
             Kies uw wijk.</p>\n<ul class=\"wijken\">\n{links}</ul>\n{}",
            status_form()
        ),
    )
}

/// The form's fields as typed (to give them back after a refusal).
#[derive(Debug, Default)]
struct Typed(HashMap<String, String>);

impl Typed {
    fn get(&self, k: &str) -> &str {
        self.0.get(k).map_or("", String::as_str)
    }
}

fn dutch_error(e: &ApiError) -> (Option<&'static str>, &'static str) {
    match e {
        ApiError::InvalidParam { param, .. } => match *param {
            "text" => (
                Some("text"),
                "Schrijf in een zin wat we moeten bekijken (3 tot 1000 tekens).",
            ),
            "category" => (Some("category"), "Kies een onderwerp uit de lijst."),
            "place" => (Some("place"), "De plek is te lang (hoogstens 200 tekens)."),
            "location" => (
                Some("place"),
                "Dit punt op de kaart ligt niet in deze wijk.",
            ),
            "consent" => (
                Some("consent"),
                "Wilt u dat we contact opnemen? Zet dan een vinkje. Wilt u dat niet? Maak de velden dan leeg.",
            ),
            "name" => (Some("name"), "De naam is te lang (hoogstens 100 tekens)."),
            "email" => (
                Some("email"),
                "Dit e-mailadres klopt niet. Kijk het nog eens na.",
            ),
            "phone" => (
                Some("phone"),
                "Dit telefoonnummer klopt niet. Kijk het nog eens na.",
            ),
            "contact" => (
                Some("email"),
                "Geef een e-mailadres of telefoonnummer, dan kunnen we u bereiken.",
            ),
            _ => (
                None,
                "Er klopt iets niet in het formulier. Kijk het nog eens na.",
            ),
        },
        ApiError::Refused { code, .. } => match *code {
            "form_too_fast" => (
                None,
                "Dat ging erg snel. Wacht een paar tellen en verstuur het formulier opnieuw.",
            ),
            "form_expired" => (
                None,
                "Het formulier stond te lang open. Verstuur het opnieuw.",
            ),
            "form_used" => (
                None,
                "Dit formulier is al verstuurd. Wilt u nog iets melden? Verstuur het dan opnieuw.",
            ),
            "automated" => (
                None,
                "Het formulier is niet goed ingevuld. Laat het veld 'Niet invullen' leeg.",
            ),
            _ => (None, "Het formulier is verlopen. Verstuur het opnieuw."),
        },
        ApiError::TooMany { .. } => (
            None,
            "U heeft al veel punten gestuurd. Probeer het later opnieuw.",
        ),
        ApiError::TooLarge { .. } => (
            Some("text"),
            "Het formulier is te groot. Maak de tekst korter.",
        ),
        ApiError::Unavailable { .. } => (
            None,
            "Het is nu erg druk. Probeer het over een minuut opnieuw.",
        ),
        _ => (None, "Er ging iets mis. Probeer het later opnieuw."),
    }
}

fn field_error(err: Option<(Option<&str>, &str)>, field: &str) -> (String, String) {
    match err {
        Some((Some(f), text)) if f == field => (
            format!("<p class=\"fout\" id=\"{field}-fout\">{}</p>\n", esc(text)),
            format!(" aria-invalid=\"true\" aria-describedby=\"{field}-fout\""),
        ),
        _ => (String::new(), String::new()),
    }
}

async fn wijk_page(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<crate::state::AppState>,
) -> HttpResponse {
    if let Err(e) = count_read(&state, &req) {
        return error_page(&e);
    }
    if let Err(e) = fresh_schedule(&state).await {
        return error_page(&e);
    }
    let wijk = path.into_inner();
    let bericht = match published_wijkbericht(&state, &wijk).await {
        Ok(b) => b,
        Err(e) => return error_page(&e),
    };
    render_wijk(&state, &wijk, &Typed::default(), None, bericht.as_ref())
}

/// The published wijkbericht as HTML: its blocks (headings, paragraphs,
/// lists) escaped, under a heading with the period.
fn bericht_section(w: &Published) -> String {
    let mut body = String::new();
    for b in blocks(&w.text) {
        match b {
            Block::Heading(h) => body.push_str(&format!("<h3>{}</h3>\n", esc(&h))),
            Block::Paragraph(lines) => body.push_str(&format!(
                "<p>{}</p>\n",
                lines
                    .iter()
                    .map(|l| esc(l))
                    .collect::<Vec<_>>()
                    .join("<br>\n")
            )),
            Block::List(items) => {
                body.push_str("<ul>\n");
                for i in items {
                    body.push_str(&format!("<li>{}</li>\n", esc(&i)));
                }
                body.push_str("</ul>\n");
            }
        }
    }
    format!(
        "<section class=\"wijkbericht\" aria-labelledby=\"bericht-kop\">\n\
         <h2 id=\"bericht-kop\">Wijkbericht: u meldde, wij deden</h2>\n\
         <p class=\"periode\">Over {}</p>\n{body}</section>\n",
        esc(&period_words(&w.from, &w.to))
    )
}

fn render_wijk(
    state: &crate::state::AppState,
    wijk: &str,
    typed: &Typed,
    err: Option<&ApiError>,
    bericht: Option<&Published>,
) -> HttpResponse {
    let catalog = state.public.schedule.catalog();
    let Some(label) = catalog
        .wijken
        .get(wijk)
        .filter(|w| !w.retired)
        .map(|w| w.label.clone().unwrap_or_else(|| wijk.to_owned()))
    else {
        return error_page(&ApiError::NotFound);
    };
    let coming = state.public.schedule.coming(
        wijk,
        start_of_today(now_ms()),
        crate::public::schedule::MAX_SHOWN,
    );
    let agenda = if coming.is_empty() {
        "<p>Er staan nu geen wandelingen of spreekuren gepland.</p>".to_owned()
    } else {
        let items: String = coming
            .iter()
            .map(|e| {
                let (_, time) = local_date_time(e.starts_at);
                let day = dutch_day(e.starts_at);
                match e.kind {
                    DocKind::Spreekuur => format!(
                        "<li><strong>Spreekuur</strong> op {} om {}{}</li>\n",
                        esc(&day),
                        esc(&time),
                        e.place
                            .as_deref()
                            .map(|p| format!(", {}", esc(p)))
                            .unwrap_or_default()
                    ),
                    _ => format!(
                        "<li><strong>Wandeling</strong> op {} om {}</li>\n",
                        esc(&day),
                        esc(&time)
                    ),
                }
            })
            .collect();
        format!("<ul class=\"agenda\">\n{items}</ul>")
    };
    let e = err.map(dutch_error);
    let general = match e {
        Some((None, text)) => format!("<p class=\"fout\" role=\"alert\">{}</p>\n", esc(text)),
        Some((Some(_), _)) => "<p class=\"fout\" role=\"alert\">Het formulier is nog niet verstuurd. Kijk naar de melding bij het veld.</p>\n".to_owned(),
        None => String::new(),
    };
    let options: String = category_list(&catalog)
        .into_iter()
        .map(|(id, l)| {
            let sel = if typed.get("category") == id {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{}\"{sel}>{}</option>\n", esc(&id), esc(&l))
        })
        .collect();
    let token = state
        .public
        .tokens
        .issue(submit::now_secs())
        .unwrap_or_default();
    let (text_err, text_aria) = field_error(e, "text");
    let (cat_err, cat_aria) = field_error(e, "category");
    let (place_err, place_aria) = field_error(e, "place");
    let (name_err, name_aria) = field_error(e, "name");
    let (email_err, email_aria) = field_error(e, "email");
    let (phone_err, phone_aria) = field_error(e, "phone");
    let (consent_err, consent_aria) = field_error(e, "consent");
    let checked = if typed.get("consent") == "ja" {
        " checked"
    } else {
        ""
    };
    let body = format!(
        "<h1>Wijk {label}</h1>\n\
         <section aria-labelledby=\"agenda-kop\">\n<h2 id=\"agenda-kop\">Wanneer zijn we in de wijk?</h2>\n{agenda}\n</section>\n{bericht}\
         <section aria-labelledby=\"form-kop\">\n<h2 id=\"form-kop\">Geef een punt door</h2>\n\
         <p>Uw punt ziet niemand anders. U krijgt een code. Daarmee ziet u wat we ermee doen.</p>\n\
         {general}\
         <form method=\"post\" action=\"/bewoners/{wijk_attr}\" novalidate>\n\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\n\
         <label for=\"text\">Wat moeten we bekijken? <span class=\"nodig\">(nodig)</span></label>\n{text_err}\
         <textarea id=\"text\" name=\"text\" rows=\"4\" maxlength=\"1000\" required{text_aria}>{text}</textarea>\n\
         <label for=\"category\">Waar gaat het over?</label>\n{cat_err}\
         <select id=\"category\" name=\"category\"{cat_aria}>\n<option value=\"\">Weet ik niet</option>\n{options}</select>\n\
         <label for=\"place\">Waar is het? Straat en huisnummer</label>\n{place_err}\
         <input id=\"place\" name=\"place\" maxlength=\"200\" autocomplete=\"street-address\" value=\"{place}\"{place_aria}>\n\
         <fieldset>\n<legend>Mogen we contact met u opnemen? Dat hoeft niet.</legend>\n\
         <label for=\"name\">Uw naam</label>\n{name_err}\
         <input id=\"name\" name=\"name\" maxlength=\"100\" autocomplete=\"name\" value=\"{name}\"{name_aria}>\n\
         <label for=\"email\">E-mailadres</label>\n{email_err}\
         <input id=\"email\" name=\"email\" type=\"email\" maxlength=\"100\" autocomplete=\"email\" value=\"{email}\"{email_aria}>\n\
         <label for=\"phone\">Telefoonnummer</label>\n{phone_err}\
         <input id=\"phone\" name=\"phone\" type=\"tel\" maxlength=\"100\" autocomplete=\"tel\" value=\"{phone}\"{phone_aria}>\n\
         {consent_err}<p class=\"vink\"><input id=\"consent\" name=\"consent\" type=\"checkbox\" value=\"ja\"{checked}{consent_aria}>\n\
         <label for=\"consent\">Ja, u mag mij bellen of mailen over dit punt. Ik krijg dan ook een e-mail als er iets verandert.</label></p>\n\
         </fieldset>\n\
         <p class=\"leeg\" aria-hidden=\"true\"><label for=\"website\">Niet invullen</label>\n\
         <input id=\"website\" name=\"website\" tabindex=\"-1\" autocomplete=\"off\"></p>\n\
         <button type=\"submit\">Verstuur</button>\n</form>\n</section>\n{status}",
        label = esc(&label),
        wijk_attr = esc(wijk),
        text = esc(typed.get("text")),
        place = esc(typed.get("place")),
        name = esc(typed.get("name")),
        email = esc(typed.get("email")),
        phone = esc(typed.get("phone")),
        status = status_form(),
        bericht = bericht.map(bericht_section).unwrap_or_default(),
    );
    let status = err.map_or(actix_web::http::StatusCode::OK, |e| {
        use actix_web::ResponseError;
        e.status_code()
    });
    page(status, &format!("Wijk {label}"), &body)
}

async fn wijk_post(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<crate::state::AppState>,
) -> HttpResponse {
    let wijk = path.into_inner();
    if let Err(e) = count_read(&state, &req) {
        return error_page(&e);
    }
    if let Err(e) = fresh_schedule(&state).await {
        return error_page(&e);
    }
    let body = match bounded_body(payload).await {
        Ok(b) => b,
        Err(e) => return render_wijk(&state, &wijk, &Typed::default(), Some(&e), None),
    };
    let fields = std::str::from_utf8(&body)
        .ok()
        .and_then(|s| web::Query::<Vec<(String, String)>>::from_query(s).ok())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let typed = Typed(fields.into_iter().collect());
    let opt = |k: &str| Some(typed.get(k).to_owned()).filter(|s| !s.trim().is_empty());
    let s = Submission {
        wijk: wijk.clone(),
        text: typed.get("text").to_owned(),
        category: opt("category"),
        place: opt("place"),
        location: None::<LocationIn>,
        contact: Some(ContactIn {
            name: opt("name"),
            email: opt("email"),
            phone: opt("phone"),
            consent: typed.get("consent") == "ja",
        }),
        token: opt("token"),
        website: opt("website"),
    };
    match submit::submit(
        &state.public,
        &state.store,
        &state.review,
        req.peer_addr().map(|a| a.ip()),
        s,
    )
    .await
    {
        Ok(receipt) => HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/bewoners/status/{}?nieuw=1", receipt.display()),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err(ApiError::NotFound) => error_page(&ApiError::NotFound),
        Err(e) => {
            let bericht = published_wijkbericht(&state, &wijk).await.ok().flatten();
            render_wijk(&state, &wijk, &typed, Some(&e), bericht.as_ref())
        }
    }
}

async fn status_query(req: HttpRequest, state: web::Data<crate::state::AppState>) -> HttpResponse {
    let code = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.get("code").cloned().unwrap_or_default())
        .unwrap_or_default();
    render_status(&req, &state, &code, false).await
}

async fn status_page(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<crate::state::AppState>,
) -> HttpResponse {
    let new = req.query_string().contains("nieuw=1");
    render_status(&req, &state, &path.into_inner(), new).await
}

async fn render_status(
    req: &HttpRequest,
    state: &crate::state::AppState,
    code: &str,
    new: bool,
) -> HttpResponse {
    if let Err(e) = count_read(state, req) {
        return error_page(&e);
    }
    let s = match lookup(state, code).await {
        Ok(s) => s,
        Err(ApiError::NotFound) => {
            return page(
                actix_web::http::StatusCode::NOT_FOUND,
                "Code niet gevonden",
                &format!(
                    "<h1>Code niet gevonden</h1>\n<p>We kennen deze code niet. Kijk of u hem goed heeft overgenomen. \
                     Een code heeft 12 tekens, zoals K7M2-9QXD-4T0B.</p>\n{}",
                    status_form()
                ),
            );
        }
        Err(e) => return error_page(&e),
    };
    let receipt = crate::public::receipt::Receipt::parse(code)
        .map(|r| r.display())
        .unwrap_or_default();
    let catalog = state.public.schedule.catalog();
    let partner = s.partner.as_ref().map(|p| {
        catalog
            .partners
            .get(p)
            .and_then(|e| e.label.clone())
            .unwrap_or_else(|| "een partner".into())
    });
    let walk_day = s.walk_date.map(dutch_day);
    let sentence = status_sentence(
        &s.status,
        walk_day.as_deref(),
        partner.as_deref(),
        s.decline_reason.as_deref(),
    );
    let intro = if new {
        format!(
            "<div class=\"ontvangen\" role=\"status\"><p>Dank u wel. We hebben uw punt ontvangen.</p>\n\
             <p>Uw code is <strong class=\"code\">{}</strong>. Schrijf hem op of maak een foto van dit scherm. \
             Met de code ziet u op deze pagina wat we met uw punt doen.</p></div>\n",
            esc(&receipt)
        )
    } else {
        String::new()
    };
    ok_page(
        "Stand van zaken",
        &format!(
            "<h1>Stand van zaken</h1>\n{intro}<p class=\"stand\">{}</p>\n<p>Bijgewerkt op {}.</p>\n\
             <p>Code: <span class=\"code\">{}</span></p>\n<p><a href=\"/bewoners/\">Terug naar het begin</a></p>",
            esc(&sentence),
            esc(&dutch_day(s.updated_at)),
            esc(&receipt)
        ),
    )
}
