//! The `[theme]` section: how the app presents the municipality (served to
//! the PWA by `GET /api/v1/client-config`, the logo by
//! `GET /api/v1/theme/logo`, and the web manifest follows it).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Largest logo file the server serves.
pub const MAX_LOGO_BYTES: u64 = 256 * 1024;

/// The `[theme]` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ThemeConfig {
    /// The app's name in its header, the window title and the installed
    /// app's name (at most 40 characters).
    pub name: String,
    /// The municipality, shown beside the name and in the installed app's
    /// full name (`Wijklog — Gemeente Amersfoort`); empty: none.
    pub municipality: String,
    /// The main colour (`#rrggbb`): buttons, links, the browser's bar.
    pub color: String,
    /// A PNG, WebP or SVG file of at most 256 KiB shown in the header;
    /// unset: no logo.
    pub logo: Option<PathBuf>,
}

impl Default for ThemeConfig {
    fn default() -> Self {
        Self {
            name: "Wijklog".into(),
            municipality: String::new(),
            color: "#0b3d91".into(),
            logo: None,
        }
    }
}

impl ThemeConfig {
    /// The logo's content type from its file name.
    pub fn logo_type(&self) -> Option<&'static str> {
        let ext = self
            .logo
            .as_ref()?
            .extension()?
            .to_str()?
            .to_ascii_lowercase();
        match ext.as_str() {
            "png" => Some("image/png"),
            "webp" => Some("image/webp"),
            "svg" => Some("image/svg+xml"),
            _ => None,
        }
    }

    /// The installed app's full name.
    pub fn full_name(&self) -> String {
        if self.municipality.is_empty() {
            self.name.clone()
        } else {
            format!("{} — {}", self.name, self.municipality)
        }
    }

    /// Checks the values; the logo file must exist and be small enough.
    pub fn validate(&self) -> Result<(), String> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
            return Err("theme.name must be 1 to 40 characters".into());
        }
        if self.municipality.chars().count() > 80 || self.municipality.chars().any(char::is_control)
        {
            return Err("theme.municipality must be at most 80 characters".into());
        }
        let c = self.color.as_bytes();
        if c.len() != 7 || c[0] != b'#' || !c[1..].iter().all(u8::is_ascii_hexdigit) {
            return Err("theme.color must be #rrggbb".into());
        }
        if let Some(path) = &self.logo {
            if self.logo_type().is_none() {
                return Err("theme.logo must be a .png, .webp or .svg file".into());
            }
            let meta = std::fs::metadata(path)
                .map_err(|e| format!("theme.logo {}: {e}", path.display()))?;
            if !meta.is_file() || meta.len() > MAX_LOGO_BYTES {
                return Err(format!(
                    "theme.logo {} must be a file of at most 256 KiB",
                    path.display()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_colours_and_logos_are_checked() {
        assert!(ThemeConfig::default().validate().is_ok());
        let bad = |f: fn(&mut ThemeConfig)| {
            let mut t = ThemeConfig::default();
            f(&mut t);
            t.validate().expect_err("refused")
        };
        assert!(bad(|t| t.name = " ".into()).contains("theme.name"));
        assert!(bad(|t| t.name = "x".repeat(41)).contains("theme.name"));
        assert!(bad(|t| t.color = "blue".into()).contains("theme.color"));
        assert!(bad(|t| t.color = "#12345g".into()).contains("theme.color"));
        assert!(bad(|t| t.logo = Some("logo.gif".into())).contains(".png"));
        assert!(bad(|t| t.logo = Some("/nonexistent/logo.png".into())).contains("theme.logo"));

        let dir = tempfile::tempdir().expect("dir");
        let big = dir.path().join("big.png");
        std::fs::write(&big, vec![0u8; MAX_LOGO_BYTES as usize + 1]).expect("write");
        let t = ThemeConfig {
            logo: Some(big),
            ..ThemeConfig::default()
        };
        assert!(t.validate().expect_err("too big").contains("256 KiB"));
        let ok = dir.path().join("logo.SVG");
        std::fs::write(&ok, "<svg xmlns='http://www.w3.org/2000/svg'/>").expect("write");
        let t = ThemeConfig {
            logo: Some(ok),
            municipality: "Gemeente Amersfoort".into(),
            ..ThemeConfig::default()
        };
        assert!(t.validate().is_ok());
        assert_eq!(t.logo_type(), Some("image/svg+xml"));
        assert_eq!(t.full_name(), "Wijklog — Gemeente Amersfoort");
    }
}
