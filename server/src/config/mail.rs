//! The `[mail]` section (used by `crate::mail`; see docs/operations.md).

use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};

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
