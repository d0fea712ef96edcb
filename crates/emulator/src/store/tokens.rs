//! Authorization codes, access and refresh tokens (stored only as SHA-256 digests), and
//! sharing links.

use crate::error::EmulatorError;
use rusqlite::{params, Connection, OptionalExtension};

/// An authorization code as issued by `authorize`.
#[derive(Debug, Clone)]
pub struct CodeGrant {
    /// Client it was issued to.
    pub client_id: String,
    /// The redirect URI of the authorize request (must be repeated at the token endpoint).
    pub redirect_uri: String,
    /// Scopes asked for.
    pub scope: String,
    /// PKCE `code_challenge`.
    pub challenge: Option<String>,
    /// PKCE method (`S256` or `plain`).
    pub challenge_method: Option<String>,
    /// Expiry, Unix ms.
    pub expires_ms: i64,
    /// Already redeemed.
    pub used: bool,
}

/// Stores a new code under its digest.
pub fn insert_code(conn: &Connection, digest: &str, g: &CodeGrant) -> Result<(), EmulatorError> {
    conn.prepare_cached(
        "INSERT INTO codes (digest, client_id, redirect_uri, scope, challenge, challenge_method, expires_ms, used)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
    )?
    .execute(params![
        digest,
        g.client_id,
        g.redirect_uri,
        g.scope,
        g.challenge,
        g.challenge_method,
        g.expires_ms
    ])?;
    Ok(())
}

/// Looks a code up and marks it used in the same step (codes are single-use even when the
/// redemption then fails).
pub fn take_code(conn: &Connection, digest: &str) -> Result<Option<CodeGrant>, EmulatorError> {
    let grant = conn
        .prepare_cached("SELECT client_id, redirect_uri, scope, challenge, challenge_method, expires_ms, used FROM codes WHERE digest = ?1")?
        .query_row([digest], |r| {
            Ok(CodeGrant {
                client_id: r.get(0)?,
                redirect_uri: r.get(1)?,
                scope: r.get(2)?,
                challenge: r.get(3)?,
                challenge_method: r.get(4)?,
                expires_ms: r.get(5)?,
                used: r.get(6)?,
            })
        })
        .optional()?;
    conn.prepare_cached("UPDATE codes SET used = 1 WHERE digest = ?1")?.execute([digest])?;
    Ok(grant)
}

/// Kind of token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Bearer token for Graph routes.
    Access,
    /// Token for the refresh grant.
    Refresh,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// A stored token.
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// Client it belongs to.
    pub client_id: String,
    /// Granted scopes.
    pub scope: String,
    /// Expiry, Unix ms.
    pub expires_ms: i64,
    /// Revoked by rotation.
    pub revoked: bool,
}

/// Stores a token under its digest.
pub fn insert_token(conn: &Connection, digest: &str, kind: TokenKind, t: &TokenRow) -> Result<(), EmulatorError> {
    conn.prepare_cached(
        "INSERT INTO tokens (digest, kind, client_id, scope, expires_ms, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![digest, kind.as_str(), t.client_id, t.scope, t.expires_ms, t.revoked])?;
    Ok(())
}

/// Looks up a token of `kind` by digest.
pub fn get_token(conn: &Connection, digest: &str, kind: TokenKind) -> Result<Option<TokenRow>, EmulatorError> {
    Ok(conn
        .prepare_cached("SELECT client_id, scope, expires_ms, revoked FROM tokens WHERE digest = ?1 AND kind = ?2")?
        .query_row([digest, kind.as_str()], |r| {
            Ok(TokenRow { client_id: r.get(0)?, scope: r.get(1)?, expires_ms: r.get(2)?, revoked: r.get(3)? })
        })
        .optional()?)
}

/// Marks a token revoked.
pub fn revoke_token(conn: &Connection, digest: &str) -> Result<(), EmulatorError> {
    conn.prepare_cached("UPDATE tokens SET revoked = 1 WHERE digest = ?1")?.execute([digest])?;
    Ok(())
}

/// Marks every token of `kind` revoked (as when the user signs out everywhere or withdraws
/// the app's consent); answers how many were live.
pub fn revoke_all(conn: &Connection, kind: TokenKind) -> Result<usize, EmulatorError> {
    Ok(conn
        .prepare_cached("UPDATE tokens SET revoked = 1 WHERE kind = ?1 AND revoked = 0")?
        .execute([kind.as_str()])?)
}

/// A sharing link of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    /// Permission id.
    pub id: String,
    /// Item it shares.
    pub item_id: String,
    /// `view` / `edit`.
    pub link_type: String,
    /// `anonymous` / `organization`.
    pub scope: String,
    /// Secret part of the link URL.
    pub token: String,
}

/// The existing link of this item, type and scope, if any.
pub fn find_link(
    conn: &Connection,
    item_id: &str,
    link_type: &str,
    scope: &str,
) -> Result<Option<LinkRow>, EmulatorError> {
    Ok(conn
        .prepare_cached("SELECT id, token FROM links WHERE item_id = ?1 AND type = ?2 AND scope = ?3")?
        .query_row([item_id, link_type, scope], |r| {
            Ok(LinkRow {
                id: r.get(0)?,
                item_id: item_id.to_owned(),
                link_type: link_type.to_owned(),
                scope: scope.to_owned(),
                token: r.get(1)?,
            })
        })
        .optional()?)
}

/// The link with this secret token.
pub fn link_by_token(conn: &Connection, token: &str) -> Result<Option<LinkRow>, EmulatorError> {
    Ok(conn
        .prepare_cached("SELECT id, item_id, type, scope, token FROM links WHERE token = ?1")?
        .query_row([token], |r| {
            Ok(LinkRow { id: r.get(0)?, item_id: r.get(1)?, link_type: r.get(2)?, scope: r.get(3)?, token: r.get(4)? })
        })
        .optional()?)
}

/// Stores a link.
pub fn insert_link(conn: &Connection, l: &LinkRow) -> Result<(), EmulatorError> {
    conn.prepare_cached("INSERT INTO links (item_id, type, scope, id, token) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![l.item_id, l.link_type, l.scope, l.id, l.token])?;
    Ok(())
}
