//! The authenticated caller and what their roles allow.
//!
//! The rules (docs/privacy.md):
//! - walks: seen, created and edited by `boa` of the walk's team and by coordinators;
//! - spreekuur sessions: by `spreekuur` staff of the session's team and by coordinators;
//! - coordinators see (and edit) all content of the municipality;
//! - the catalog is read by everyone and written by admins only;
//! - admins manage accounts and the catalog, not content.

use serde::Serialize;

use super::{DeviceId, DocKind, Role, UserId};

/// Who is calling: built from a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user (JWT `sub`).
    pub user_id: UserId,
    /// Display name (JWT `name`); never logged.
    pub name: String,
    /// One or more roles.
    pub roles: Vec<Role>,
    /// The user's team, if any.
    pub team: Option<String>,
    /// The device (login) the token was issued to (JWT `did`).
    pub device_id: DeviceId,
}

/// The `user` object of the login answer and the sync `ready` frame.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserView {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role names.
    pub roles: Vec<Role>,
    /// Team, or null.
    pub team: Option<String>,
}

impl Principal {
    /// Whether the user has `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the user is a coordinator.
    pub fn is_coordinator(&self) -> bool {
        self.has_role(Role::Coordinator)
    }

    /// Whether the user is an admin.
    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    /// May this user use the content endpoints at all (lists, items,
    /// history, walk reports, the feedback work list)?
    pub fn may_read_content(&self) -> bool {
        self.is_coordinator() || self.has_role(Role::Boa) || self.has_role(Role::Spreekuur)
    }

    /// May this user upload photos: anyone who may create content (boa,
    /// spreekuur staff with a team, coordinators). Admins alone may not.
    pub fn may_upload_photos(&self) -> bool {
        self.may_create(DocKind::Walk) || self.may_create(DocKind::Spreekuur)
    }

    fn in_team(&self, team: Option<&str>) -> bool {
        matches!((self.team.as_deref(), team), (Some(mine), Some(theirs)) if mine == theirs)
    }

    /// May this user see (and sync) a document of `kind` belonging to `team`?
    pub fn may_see(&self, kind: DocKind, team: Option<&str>) -> bool {
        match kind {
            DocKind::Catalog => true,
            DocKind::Walk => {
                self.is_coordinator() || (self.has_role(Role::Boa) && self.in_team(team))
            }
            DocKind::Spreekuur => {
                self.is_coordinator() || (self.has_role(Role::Spreekuur) && self.in_team(team))
            }
        }
    }

    /// May this user change a document of `kind` belonging to `team`?
    /// Content: whoever may see it. Catalog: admins only.
    pub fn may_write(&self, kind: DocKind, team: Option<&str>) -> bool {
        match kind {
            DocKind::Catalog => self.is_admin(),
            DocKind::Walk | DocKind::Spreekuur => self.may_see(kind, team),
        }
    }

    /// May this user create a new document of `kind`? The new document's
    /// team is the user's team (see [`Principal::team_for_new_doc`]).
    pub fn may_create(&self, kind: DocKind) -> bool {
        match kind {
            DocKind::Catalog => self.is_admin(),
            DocKind::Walk => {
                self.is_coordinator() || (self.has_role(Role::Boa) && self.team.is_some())
            }
            DocKind::Spreekuur => {
                self.is_coordinator() || (self.has_role(Role::Spreekuur) && self.team.is_some())
            }
        }
    }

    /// The team recorded for a document this user creates: the token's team
    /// (never the document's content); none for the catalog. Coordinators
    /// plan walks and sessions for any team, so for them the team the new
    /// document names (`doc_team`: non-empty, at most 64 characters, no
    /// control characters) wins over their own.
    pub fn team_for_new_doc(&self, kind: DocKind, doc_team: Option<&str>) -> Option<String> {
        match kind {
            DocKind::Catalog => None,
            DocKind::Walk | DocKind::Spreekuur => {
                let planned = doc_team.map(str::trim).filter(|t| {
                    !t.is_empty() && t.chars().count() <= 64 && !t.chars().any(char::is_control)
                });
                match planned {
                    Some(t) if self.is_coordinator() => Some(t.to_owned()),
                    _ => self.team.clone(),
                }
            }
        }
    }

    /// The public view of the user (login answer, sync `ready`).
    pub fn view(&self) -> UserView {
        UserView {
            id: self.user_id.to_string(),
            name: self.name.clone(),
            roles: self.roles.clone(),
            team: self.team.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(roles: &[Role], team: Option<&str>) -> Principal {
        Principal {
            user_id: UserId::parse("u1").expect("non-empty"),
            name: "Test".into(),
            roles: roles.to_vec(),
            team: team.map(str::to_owned),
            device_id: DeviceId::from_string("d1".into()),
        }
    }

    #[test]
    fn boa_sees_walks_of_own_team_only() {
        let boa = who(&[Role::Boa], Some("noord"));
        assert!(boa.may_see(DocKind::Walk, Some("noord")));
        assert!(!boa.may_see(DocKind::Walk, Some("zuid")));
        assert!(!boa.may_see(DocKind::Walk, None));
        assert!(!boa.may_see(DocKind::Spreekuur, Some("noord")));
        assert!(boa.may_create(DocKind::Walk));
        assert!(!boa.may_create(DocKind::Spreekuur));
        assert!(!boa.may_write(DocKind::Catalog, None));
    }

    #[test]
    fn boa_with_spreekuur_role_sees_both_for_own_team() {
        let both = who(&[Role::Boa, Role::Spreekuur], Some("noord"));
        assert!(both.may_see(DocKind::Walk, Some("noord")));
        assert!(both.may_see(DocKind::Spreekuur, Some("noord")));
        assert!(!both.may_see(DocKind::Spreekuur, Some("zuid")));
        assert!(both.may_create(DocKind::Spreekuur));
    }

    #[test]
    fn boa_without_team_may_not_create_walks() {
        assert!(!who(&[Role::Boa], None).may_create(DocKind::Walk));
    }

    #[test]
    fn coordinator_sees_all_content_but_not_catalog_writes() {
        let c = who(&[Role::Coordinator], None);
        assert!(c.may_see(DocKind::Walk, Some("noord")));
        assert!(c.may_see(DocKind::Spreekuur, Some("zuid")));
        assert!(c.may_write(DocKind::Walk, Some("zuid")));
        assert!(c.may_create(DocKind::Walk));
        assert!(!c.may_write(DocKind::Catalog, None));
        assert!(!c.may_create(DocKind::Catalog));
    }

    #[test]
    fn admin_manages_catalog_not_content() {
        let a = who(&[Role::Admin], Some("noord"));
        assert!(a.may_see(DocKind::Catalog, None));
        assert!(a.may_write(DocKind::Catalog, None));
        assert!(a.may_create(DocKind::Catalog));
        assert!(!a.may_see(DocKind::Walk, Some("noord")));
        assert!(!a.may_see(DocKind::Spreekuur, Some("noord")));
        assert!(!a.may_create(DocKind::Walk));
    }

    #[test]
    fn everyone_reads_the_catalog() {
        for roles in [
            &[Role::Boa][..],
            &[Role::Spreekuur],
            &[Role::Coordinator],
            &[Role::Admin],
        ] {
            assert!(who(roles, None).may_see(DocKind::Catalog, None));
        }
    }
}
