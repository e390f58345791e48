//! The JWT signing secret: `auth.jwt_secret` if configured, otherwise the
//! secret file (default `<data_dir>/jwt_secret`), generated on first start
//! (32 random bytes, hex, file mode 0600). Never logged.

use std::io::Write;
use std::path::Path;

use crate::config::Config;

/// Secret loading failures.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Reading or creating the file failed.
    #[error("cannot read or create the JWT secret file {path}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is too short to be a real secret.
    #[error("the JWT secret file {0} holds fewer than 32 characters")]
    TooShort(std::path::PathBuf),
    /// The system RNG failed.
    #[error("the system random number generator failed")]
    Rng,
}

/// Returns the secret bytes, creating the file if needed.
pub fn load_or_create(config: &Config) -> Result<Vec<u8>, SecretError> {
    if let Some(secret) = &config.auth.jwt_secret {
        return Ok(secret.expose().as_bytes().to_vec());
    }
    let path = config.jwt_secret_path();
    load_or_create_file(&path)
}

fn load_or_create_file(path: &Path) -> Result<Vec<u8>, SecretError> {
    let io = |source| SecretError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = text.trim();
            if text.len() < 32 {
                return Err(SecretError::TooShort(path.to_owned()));
            }
            return Ok(text.as_bytes().to_vec());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        crate::storage::create_private_dir(dir).map_err(io)?;
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|_| SecretError::Rng)?;
    let text = hex::encode(raw);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(text.as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            tracing::info!(path = %path.display(), "generated a new JWT secret file");
            Ok(text.into_bytes())
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_file(path),
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_file_is_created_once_with_mode_0600_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        let first = load_or_create(&config).expect("create");
        assert_eq!(first.len(), 64);
        let second = load_or_create(&config).expect("load");
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("jwt_secret"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn short_secret_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("jwt_secret"), "short").expect("write");
        let config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        assert!(matches!(
            load_or_create(&config),
            Err(SecretError::TooShort(_))
        ));
    }
}
