//! The identity platform as the server sees it: the OAuth client settings (redacting `Debug`),
//! the oauth2 client built from them, and the account's status.

use oauth2::basic::BasicClient;
use oauth2::{AuthType, AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RedirectUrl, TokenUrl};

/// The oauth2 client with its authorize and token endpoints set.
pub type OAuthClient = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Where and as whom the server signs in to the identity platform.
#[derive(Clone)]
pub struct OAuthSettings {
    /// Application (client) id.
    pub client_id: String,
    /// Client secret (confidential web app); `None` for a public client relying on PKCE only.
    pub client_secret: Option<String>,
    /// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize` or the emulator's.
    pub authorize_url: String,
    /// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token` or the emulator's.
    pub token_url: String,
    /// The callback URL registered for the app (ends with the callback path).
    pub redirect_uri: String,
    /// Scopes, e.g. `offline_access`, `Files.ReadWrite.All`.
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for OAuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthSettings")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl OAuthSettings {
    /// Builds the oauth2 client (secret sent in the form body, as Microsoft documents it).
    pub fn client(&self) -> Result<OAuthClient, String> {
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::new(self.authorize_url.clone()).map_err(|e| format!("authorize URL: {e}"))?)
            .set_token_uri(TokenUrl::new(self.token_url.clone()).map_err(|e| format!("token URL: {e}"))?)
            .set_redirect_uri(RedirectUrl::new(self.redirect_uri.clone()).map_err(|e| format!("redirect URI: {e}"))?)
            .set_auth_type(AuthType::RequestBody);
        if let Some(secret) = &self.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        Ok(client)
    }
}

/// What the server knows about the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// No tokens yet: an operator must visit `/auth/login`.
    NotConnected,
    /// Tokens held.
    Connected,
    /// The identity platform refused the refresh token (`invalid_grant`): reconnect.
    Disconnected,
}

impl AccountStatus {
    /// `not_connected`, `connected` or `disconnected`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::NotConnected => "not_connected",
            AccountStatus::Connected => "connected",
            AccountStatus::Disconnected => "disconnected",
        }
    }
}
