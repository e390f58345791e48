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
use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// Environment variable with the SMTP user name.
pub const ENV_USERNAME: &str = "WIJKLOG_MAIL_USERNAME";
/// Environment variable with the SMTP password.
pub const ENV_PASSWORD: &str = "WIJKLOG_MAIL_PASSWORD";

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain SMTP (a relay on the same host or a trusted network only).
    None,
    /// Plain connection upgraded with STARTTLS (required; port 587).
    #[default]
    Starttls,
    /// TLS from the first byte ("SMTPS", port 465).
    Tls,
}

/// The `[mail]` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// SMTP server host name; empty = mail is off.
    pub host: String,
    /// SMTP port.
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub tls: TlsMode,
    /// Sender, e.g. `Wijkteam <wijkteam@gemeente.nl>`; required when `host` is set.
    pub from: String,
    /// Name this server gives in `EHLO`.
    pub hello_name: String,
    /// Seconds one SMTP conversation may take.
    pub timeout_secs: u64,
    /// Tries per message before it is shown as failed.
    pub max_attempts: u32,
    /// Wait before the second try (ms); doubled for each further try.
    pub retry_base_ms: u64,
    /// Longest wait between two tries (ms).
    pub retry_max_ms: u64,
    /// The worker looks at the outbox at least this often (ms).
    pub poll_ms: u64,
    /// Hour (UTC, 0-23) after which the daily digest is sent.
    pub digest_hour_utc: u8,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            tls: TlsMode::Starttls,
            from: String::new(),
            hello_name: "localhost".into(),
            timeout_secs: 30,
            max_attempts: 8,
            retry_base_ms: 30_000,
            retry_max_ms: 3_600_000,
            poll_ms: 5_000,
            digest_hour_utc: 6,
        }
    }
}

impl MailConfig {
    /// Whether mail is configured (on).
    pub fn enabled(&self) -> bool {
        !self.host.trim().is_empty()
    }

    /// Checks the section; `Err` holds the sentence for the operator.
    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled() {
            return Ok(());
        }
        if self.from.parse::<Mailbox>().is_err() {
            return Err(
                "mail.from must be a valid sender address (e.g. \"Wijkteam <wijkteam@gemeente.nl>\") when mail.host is set"
                    .into(),
            );
        }
        if self.port == 0
            || self.max_attempts == 0
            || self.retry_base_ms == 0
            || self.retry_max_ms < self.retry_base_ms
            || self.poll_ms == 0
            || self.timeout_secs == 0
        {
            return Err("mail: port, max_attempts, retry_base_ms, poll_ms and timeout_secs must be positive, retry_max_ms at least retry_base_ms".into());
        }
        if self.digest_hour_utc > 23 {
            return Err("mail.digest_hour_utc must be from 0 to 23".into());
        }
        Ok(())
    }

    /// The wait after `attempts` failed tries: base × 2^(attempts-1), capped.
    pub fn backoff_ms(&self, attempts: u32) -> u64 {
        let shift = attempts.saturating_sub(1).min(30);
        self.retry_base_ms
            .saturating_mul(1u64 << shift)
            .min(self.retry_max_ms)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let c = MailConfig {
            retry_base_ms: 1000,
            retry_max_ms: 5000,
            ..MailConfig::default()
        };
        assert_eq!(
            (1..=5).map(|a| c.backoff_ms(a)).collect::<Vec<_>>(),
            vec![1000, 2000, 4000, 5000, 5000]
        );
        assert_eq!(c.backoff_ms(200), 5000);
    }

    #[test]
    fn off_without_host_and_from_required_with_one() {
        assert!(!MailConfig::default().enabled());
        assert!(MailConfig::default().validate().is_ok());
        let on = MailConfig {
            host: "smtp.example.org".into(),
            ..MailConfig::default()
        };
        assert!(on.validate().is_err());
        let on = MailConfig {
            from: "Wijkteam <wijkteam@example.org>".into(),
            ..on
        };
        assert!(on.validate().is_ok());
    }
}
