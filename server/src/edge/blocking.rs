//! The one helper for blocking work in a handler.

use tokio::task::JoinError;

/// Runs blocking work (SQLite, automerge, file I/O, image decoding) on
/// tokio's blocking pool: the one helper every handler uses. The task's
/// error is returned as is; a panic or cancellation of the task becomes the
/// caller's error through its `From<JoinError>` (an internal error for
/// [`crate::edge::ApiError`] and [`crate::blobs::BlobError`],
/// `BlockingError::Join` for `AppState::blocking` in `crate::state`), so each caller keeps
/// its own error mapping.
pub async fn blocking<T, E>(f: impl FnOnce() -> Result<T, E> + Send + 'static) -> Result<T, E>
where
    T: Send + 'static,
    E: From<JoinError> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await?
}
