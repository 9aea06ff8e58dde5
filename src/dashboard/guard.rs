//! Who may ask the dashboard anything, decided from a request's headers alone (pure, so the
//! tests can try every forgery without a server):
//!
//! - the `Host` must be the loopback by name or number with the bound port, else 403: a page
//!   that rebinds its own domain to 127.0.0.1 (DNS rebinding) sends its own name;
//! - an `Origin`, when there is one, must be this very origin, else 403: another page's
//!   requests carry theirs;
//! - the token must come with it, as `Authorization: Bearer`, `?token=` or the cookie the page
//!   traded it for, else 401;
//! - a state-changing request authenticated by the cookie alone must carry the `Origin`, else
//!   403: the browser adds the cookie by itself, so only the Origin tells who sent it.

use axum::http::StatusCode;

use super::token::Token;

/// The headers and the query of a request, as far as the guard looks at them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Asked<'a> {
    /// GET or HEAD: changes nothing.
    pub(crate) safe: bool,
    pub(crate) host: Option<&'a str>,
    pub(crate) origin: Option<&'a str>,
    pub(crate) cookie: Option<&'a str>,
    pub(crate) authorization: Option<&'a str>,
    pub(crate) query: Option<&'a str>,
}

/// How a request proved it knows the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Credential {
    Bearer,
    /// In the URL: the one the dashboard printed, to be traded for the cookie.
    Query,
    Cookie,
}

/// Why a request is turned away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Denied {
    ForeignHost,
    ForeignOrigin,
    /// A cookie-authenticated POST without an Origin to say where it came from.
    NoOrigin,
    NoToken,
    WrongToken,
}

impl Denied {
    /// 403 for a request from the wrong place, 401 for one without the secret.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Denied::ForeignHost | Denied::ForeignOrigin | Denied::NoOrigin => StatusCode::FORBIDDEN,
            Denied::NoToken | Denied::WrongToken => StatusCode::UNAUTHORIZED,
        }
    }

    pub(crate) fn message(self) -> &'static str {
        match self {
            Denied::ForeignHost => "this dashboard answers only to localhost, 127.0.0.1 or [::1] with its port",
            Denied::ForeignOrigin => "a request from another origin",
            Denied::NoOrigin => "a change asked with the cookie must say its Origin",
            Denied::NoToken => {
                "open the URL `orch dashboard` printed (it carries the token), or send Authorization: Bearer <token>"
            }
            Denied::WrongToken => "wrong token: open the URL `orch dashboard` printed",
        }
    }
}

pub(crate) struct Guard {
    token: Token,
    port: u16,
}

impl Guard {
    pub(crate) fn new(token: Token, port: u16) -> Self {
        Self { token, port }
    }

    pub(crate) fn token(&self) -> &Token {
        &self.token
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The cookie's name carries the port: cookies are kept per host, not per port, and two
    /// projects' dashboards must not overwrite each other's.
    pub(crate) fn cookie_name(&self) -> String {
        format!("orch_dashboard_{}", self.port)
    }

    /// The `Set-Cookie` that trades the URL's token for one the page's script cannot read and
    /// no other site's request carries.
    pub(crate) fn set_cookie(&self) -> String {
        format!("{}={}; HttpOnly; SameSite=Strict; Path=/", self.cookie_name(), self.token.as_str())
    }

    pub(crate) fn check(&self, asked: &Asked) -> Result<Credential, Denied> {
        let host = asked.host.filter(|h| self.is_own_host(h)).ok_or(Denied::ForeignHost)?;
        if let Some(origin) = asked.origin
            && !origin.eq_ignore_ascii_case(&format!("http://{host}"))
        {
            return Err(Denied::ForeignOrigin);
        }
        let credential = self.credential(asked)?;
        if credential == Credential::Cookie && !asked.safe && asked.origin.is_none() {
            return Err(Denied::NoOrigin);
        }
        Ok(credential)
    }

    fn is_own_host(&self, host: &str) -> bool {
        let Some((name, port)) = host.rsplit_once(':') else { return false };
        port.parse::<u16>() == Ok(self.port)
            && (name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "[::1]")
    }

    /// The first credential offered decides: a wrong Bearer is not rescued by a right cookie.
    fn credential(&self, asked: &Asked) -> Result<Credential, Denied> {
        let verdict = |offered: &str, credential| {
            if self.token.matches(offered) { Ok(credential) } else { Err(Denied::WrongToken) }
        };
        if let Some(authorization) = asked.authorization {
            return verdict(bearer(authorization).ok_or(Denied::WrongToken)?, Credential::Bearer);
        }
        if let Some(offered) = asked.query.and_then(query_token) {
            return verdict(offered, Credential::Query);
        }
        // Any page on this host may plant a cookie of this name (cookies know no port): one
        // that holds the token is enough, so a planted one cannot lock the page out.
        let name = self.cookie_name();
        let mut cookies = asked.cookie.into_iter().flat_map(|c| cookie_values(c, &name)).peekable();
        if cookies.peek().is_some() {
            return if cookies.any(|offered| self.token.matches(offered)) {
                Ok(Credential::Cookie)
            } else {
                Err(Denied::WrongToken)
            };
        }
        Err(Denied::NoToken)
    }
}

/// `token=…` among a query's pairs (the token is hex: nothing to percent-decode).
fn query_token(query: &str) -> Option<&str> {
    query.split('&').find_map(|pair| pair.strip_prefix("token="))
}

/// The values of the cookies named `name` in a `Cookie` header (`a=1; b=2`).
fn cookie_values<'a>(header: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> {
    header.split(';').filter_map(move |pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
}

/// The credentials of `Bearer <token>`; the scheme's name is case-insensitive (RFC 7235).
fn bearer(authorization: &str) -> Option<&str> {
    let (scheme, credentials) = authorization.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| credentials.trim())
}

#[cfg(test)]
mod tests;
