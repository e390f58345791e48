//! The `[blobs]` section: photos (used by `crate::blobs`; see docs/blobs.md).

use serde::{Deserialize, Serialize};

/// The `[blobs]` section of the configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BlobsConfig {
    /// Largest accepted upload (bytes); larger ones get 413 `too_large`.
    pub max_bytes: u64,
    /// Seconds a blob must have been unreferenced (and uploaded) before
    /// garbage collection deletes it.
    pub gc_grace_secs: u64,
    /// How often the server runs garbage collection (seconds).
    pub gc_interval_secs: u64,
    /// Longest side of a thumbnail (pixels).
    pub thumb_px: u32,
}

impl Default for BlobsConfig {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            gc_grace_secs: 7 * 24 * 3600,
            gc_interval_secs: 3600,
            thumb_px: 320,
        }
    }
}

impl BlobsConfig {
    /// Checks the values (called by the configuration's validation).
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.max_bytes == 0 {
            return Err("blobs.max_bytes must be positive");
        }
        if self.gc_interval_secs == 0 {
            return Err("blobs.gc_interval_secs must be positive");
        }
        if self.thumb_px == 0 || self.thumb_px > 4096 {
            return Err("blobs.thumb_px must be between 1 and 4096");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_validation_refuses_zero_and_huge_values() {
        assert!(BlobsConfig::default().validate().is_ok());
        assert!(
            BlobsConfig {
                max_bytes: 0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            BlobsConfig {
                thumb_px: 0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            BlobsConfig {
                thumb_px: 10_000,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            BlobsConfig {
                gc_interval_secs: 0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
    }
}
