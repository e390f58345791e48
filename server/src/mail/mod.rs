//! Messages to residents and partners: e-mail over SMTP with
//! `lettre` (docs/decisions/0015-mail-lettre-and-a-durable-outbox.md), a durable outbox in
//! SQLite ([`outbox`], migration 0007), the worker that sends it with retries
//! ([`worker`]), the feedback templates ([`templates`]) and the SMS seam
//! ([`sms`], off: no provider is built in).
//!
//! Mail is off unless `[mail] host` is set. The SMTP user name and password
//! come from the environment only (`WIJKLOG_MAIL_USERNAME`,
//! `WIJKLOG_MAIL_PASSWORD`); they are never read from the file, printed or
//! logged. Message texts and addresses are never logged either.

pub mod digest;
pub mod outbox;
pub mod sms;
pub mod templates;
pub mod worker;

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncTransport, Tokio1Executor};

use crate::config::{MailConfig, Secret, TlsMode};

/// Environment variable with the SMTP user name.
pub const ENV_USERNAME: &str = "WIJKLOG_MAIL_USERNAME";
/// Environment variable with the SMTP password.
pub const ENV_PASSWORD: &str = "WIJKLOG_MAIL_PASSWORD";

/// SMTP credentials (from the environment).
#[derive(Debug, Clone)]
pub struct MailCredentials {
    /// User name.
    pub username: Secret,
    /// Password.
    pub password: Secret,
}

impl MailCredentials {
    /// Reads `WIJKLOG_MAIL_USERNAME` and `WIJKLOG_MAIL_PASSWORD`; `None` when
    /// the user name is unset or empty.
    pub fn from_env() -> Option<Self> {
        let username = std::env::var(ENV_USERNAME).ok().filter(|u| !u.is_empty())?;
        let password = std::env::var(ENV_PASSWORD).unwrap_or_default();
        Some(Self {
            username: Secret::new(username),
            password: Secret::new(password),
        })
    }
}

/// Why one send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// The server refused for good (5xx, or the address is unusable): do not retry.
    pub permanent: bool,
    /// The reason shown to the coordinator (may quote the SMTP server's answer).
    pub reason: String,
}

/// One message ready to go out.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// `<...@...>`, fixed when queued.
    pub message_id: String,
    /// Recipient address.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// The SMTP client.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").finish_non_exhaustive()
    }
}

impl Mailer {
    /// Builds the client; `Ok(None)` when mail is off.
    pub fn from_config(
        config: &MailConfig,
        credentials: Option<MailCredentials>,
    ) -> anyhow::Result<Option<Self>> {
        if !config.enabled() {
            return Ok(None);
        }
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|_| anyhow::anyhow!("mail.from is not a valid sender address"))?;
        let host = config.host.trim();
        let builder = match config.tls {
            TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
        };
        let mut builder = builder
            .port(config.port)
            .timeout(Some(Duration::from_secs(config.timeout_secs)))
            .hello_name(ClientId::Domain(config.hello_name.clone()));
        if let Some(c) = credentials {
            builder = builder.credentials(Credentials::new(
                c.username.expose().to_owned(),
                c.password.expose().to_owned(),
            ));
        }
        Ok(Some(Self {
            transport: builder.build(),
            from,
        }))
    }

    /// The domain of the sender address (for Message-IDs).
    pub fn domain(&self) -> String {
        self.from.email.domain().to_owned()
    }

    /// Sends one message; `Ok` only when the SMTP server accepted it.
    pub async fn send(&self, m: &Outgoing) -> Result<(), SendFailure> {
        let to: Address = m.to.trim().parse().map_err(|_| SendFailure {
            permanent: true,
            reason: "Het e-mailadres van de ontvanger is niet bruikbaar.".into(),
        })?;
        let message = Message::builder()
            .message_id(Some(m.message_id.clone()))
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(m.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone())
            .map_err(|e| SendFailure {
                permanent: true,
                reason: format!("Het bericht kon niet worden opgebouwd: {e}"),
            })?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err(SendFailure {
                permanent: e.is_permanent(),
                reason: smtp_reason(&e),
            }),
        }
    }
}

/// A short reason for the coordinator: the SMTP server's answer when there
/// is one, else what went wrong with the connection.
fn smtp_reason(e: &lettre::transport::smtp::Error) -> String {
    let text = e.to_string();
    let text: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
    if e.is_permanent() {
        format!("De mailserver weigerde het bericht: {text}")
    } else if e.is_transient() {
        format!("De mailserver kon het bericht nu niet aannemen: {text}")
    } else {
        format!("De mailserver was niet bereikbaar: {text}")
    }
}

/// A fresh Message-ID `<uuid@domain>`.
pub fn new_message_id(domain: &str) -> String {
    format!("<{}@{}>", uuid::Uuid::new_v4(), domain)
}
