//! The SMS seam: the shape an SMS provider must have to be added. Wijklog
//! ships no provider, so SMS is off (`GET /api/v1/mail/status` answers
//! `"sms": false`) and nothing is ever pretended to be sent.
//!
//! Adding a provider (e.g. a municipality's SMS gateway) means implementing
//! [`SmsProvider`] and queueing SMS messages through the same outbox as
//! e-mail, so they get the same audit entry, retries and failure display.
//! The contract:
//!
//! - `send` returns `Ok(provider_message_id)` only when the provider has
//!   accepted the message for delivery (HTTP 2xx with an id, or the
//!   equivalent); anything else is an [`SmsFailure`].
//! - `permanent: true` for answers that will not change on a retry (invalid
//!   number, number blocked, account refused); `false` for time-outs,
//!   5xx and rate limits, which the outbox retries with backoff.
//! - The recipient is an E.164 number (`+31612345678`); the text is at most
//!   [`MAX_SMS_CHARS`] characters (the outbox refuses longer texts before
//!   queueing).
//! - The provider must not log the number or the text.

use std::future::Future;
use std::pin::Pin;

/// Longest SMS text accepted (three concatenated GSM-7 parts).
pub const MAX_SMS_CHARS: usize = 459;

/// Why an SMS was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsFailure {
    /// Retrying will not help.
    pub permanent: bool,
    /// The reason shown to the coordinator.
    pub reason: String,
}

/// A boxed future (the trait stays object-safe).
pub type SmsFuture<'a> = Pin<Box<dyn Future<Output = Result<String, SmsFailure>> + Send + 'a>>;

/// An SMS provider.
pub trait SmsProvider: Send + Sync {
    /// The provider's name (for the status endpoint and the logs).
    fn name(&self) -> &str;
    /// Sends `text` to the E.164 number `to`; see the module docs for the contract.
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> SmsFuture<'a>;
}

/// The providers this build has: none. SMS is off.
pub fn configured_provider() -> Option<Box<dyn SmsProvider>> {
    None
}
