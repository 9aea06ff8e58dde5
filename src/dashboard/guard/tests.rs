use super::{Asked, Credential, Denied, Guard};
use crate::dashboard::token::Token;

const TOKEN: &str = "0123456789abcdef";

fn guard() -> Guard {
    Guard::new(Token::fixed(TOKEN), 4321)
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn get(host: &str) -> Asked<'_> {
    Asked { safe: true, host: Some(host), ..Asked::default() }
}

#[test]
fn the_loopback_by_name_or_number_with_the_port_is_the_only_host() {
    let auth = bearer();
    for host in ["localhost:4321", "LOCALHOST:4321", "127.0.0.1:4321", "[::1]:4321"] {
        assert_eq!(guard().check(&Asked { authorization: Some(&auth), ..get(host) }), Ok(Credential::Bearer), "{host}");
    }
    for host in ["evil.example:4321", "localhost", "127.0.0.1:80", "127.0.0.2:4321", "localhost.evil:4321", "[::1]", ""]
    {
        assert_eq!(
            guard().check(&Asked { authorization: Some(&auth), ..get(host) }),
            Err(Denied::ForeignHost),
            "{host}"
        );
    }
    assert_eq!(guard().check(&Asked { safe: true, ..Asked::default() }), Err(Denied::ForeignHost));
}

#[test]
fn a_foreign_host_is_403_before_the_token_is_asked_for() {
    let denied = guard().check(&get("rebound.example:4321")).unwrap_err();
    assert_eq!((denied, denied.status().as_u16()), (Denied::ForeignHost, 403));
}

#[test]
fn without_the_token_it_is_401() {
    let denied = guard().check(&get("127.0.0.1:4321")).unwrap_err();
    assert_eq!((denied, denied.status().as_u16()), (Denied::NoToken, 401));
    let wrong = "Bearer nope";
    assert_eq!(guard().check(&Asked { authorization: Some(wrong), ..get("127.0.0.1:4321") }), Err(Denied::WrongToken));
    assert_eq!(guard().check(&Asked { authorization: Some(TOKEN), ..get("127.0.0.1:4321") }), Err(Denied::WrongToken));
    assert_eq!(guard().check(&Asked { query: Some("token=abc"), ..get("127.0.0.1:4321") }), Err(Denied::WrongToken));
}

#[test]
fn the_token_comes_as_bearer_query_or_cookie() {
    let query = format!("a=1&token={TOKEN}");
    assert_eq!(guard().check(&Asked { query: Some(&query), ..get("localhost:4321") }), Ok(Credential::Query));
    let cookie = format!("other=1; orch_dashboard_4321={TOKEN}");
    assert_eq!(guard().check(&Asked { cookie: Some(&cookie), ..get("localhost:4321") }), Ok(Credential::Cookie));
    // Another port's dashboard's cookie is not this one's.
    let theirs = format!("orch_dashboard_4322={TOKEN}");
    assert_eq!(guard().check(&Asked { cookie: Some(&theirs), ..get("localhost:4321") }), Err(Denied::NoToken));
}

#[test]
fn a_cookie_post_needs_its_own_origin_and_a_bearer_post_none() {
    let cookie = format!("orch_dashboard_4321={TOKEN}");
    let post =
        |origin| Asked { safe: false, host: Some("localhost:4321"), origin, cookie: Some(&cookie), ..Asked::default() };
    assert_eq!(guard().check(&post(Some("http://localhost:4321"))), Ok(Credential::Cookie));
    assert_eq!(guard().check(&post(None)), Err(Denied::NoOrigin));
    assert_eq!(guard().check(&post(Some("http://evil.example"))), Err(Denied::ForeignOrigin));
    // The origin of another loopback name than the Host's is another origin.
    assert_eq!(guard().check(&post(Some("http://127.0.0.1:4321"))), Err(Denied::ForeignOrigin));
    assert_eq!(guard().check(&post(Some("null"))), Err(Denied::ForeignOrigin));
    let auth = bearer();
    let scripted = Asked { safe: false, host: Some("127.0.0.1:4321"), authorization: Some(&auth), ..Asked::default() };
    assert_eq!(guard().check(&scripted), Ok(Credential::Bearer));
    let forged = Asked { origin: Some("http://evil.example"), ..scripted };
    assert_eq!(guard().check(&forged).map_err(|d| d.status().as_u16()), Err(403));
}

#[test]
fn the_cookie_is_http_only_and_strict() {
    assert_eq!(guard().set_cookie(), format!("orch_dashboard_4321={TOKEN}; HttpOnly; SameSite=Strict; Path=/"));
}

#[test]
fn a_planted_cookie_of_the_same_name_does_not_lock_the_page_out() {
    let planted = format!("orch_dashboard_4321=x; orch_dashboard_4321={TOKEN}");
    assert_eq!(guard().check(&Asked { cookie: Some(&planted), ..get("localhost:4321") }), Ok(Credential::Cookie));
    let only_planted = "orch_dashboard_4321=x; orch_dashboard_4321=y";
    assert_eq!(guard().check(&Asked { cookie: Some(only_planted), ..get("localhost:4321") }), Err(Denied::WrongToken));
}

#[test]
fn the_bearer_scheme_is_case_insensitive_and_a_wrong_bearer_is_not_rescued_by_the_cookie() {
    let lower = format!("bearer {TOKEN}");
    assert_eq!(guard().check(&Asked { authorization: Some(&lower), ..get("localhost:4321") }), Ok(Credential::Bearer));
    let cookie = format!("orch_dashboard_4321={TOKEN}");
    let wrong = Asked { authorization: Some("Bearer nope"), cookie: Some(&cookie), ..get("localhost:4321") };
    assert_eq!(guard().check(&wrong), Err(Denied::WrongToken));
    let garbled = Asked { authorization: Some(""), cookie: Some(&cookie), ..get("localhost:4321") };
    assert_eq!(guard().check(&garbled), Err(Denied::WrongToken));
}
