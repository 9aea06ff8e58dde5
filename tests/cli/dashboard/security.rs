//! Safe by construction: no token, 401; a foreign Host (DNS rebinding), 403; a cookie POST
//! from a foreign Origin or with none, 403, and nothing restarted.

use super::{Dashboard, project};

#[test]
fn without_the_token_every_request_is_401() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    let host = dashboard.host();
    for (method, path) in
        [("GET", "/"), ("GET", "/api/services"), ("GET", "/api/events"), ("POST", "/api/services/api/restart")]
    {
        let answer = dashboard.ask(method, path, &[("Host", &host)], "");
        assert_eq!(answer.status, 401, "{method} {path}: {answer:?}");
        // A refusal is kept to the page like any answer, and says why.
        assert!(
            answer.header("content-security-policy").is_some_and(|p| p.contains("default-src 'none'")),
            "{answer:?}"
        );
        assert_eq!(answer.header("access-control-allow-origin"), None);
        assert!(answer.json()["error"].as_str().unwrap().contains("Bearer"), "{answer:?}");
    }
    let wrong = dashboard.ask("GET", "/api/services", &[("Host", &host), ("Authorization", "Bearer 00ff")], "");
    assert_eq!(wrong.status, 401, "{wrong:?}");
    let wrong_cookie = format!("orch_dashboard_{}=00ff", dashboard.port);
    let answer = dashboard.ask("GET", "/", &[("Host", &host), ("Cookie", &wrong_cookie)], "");
    assert_eq!(answer.status, 401, "{answer:?}");
}

#[test]
fn the_printed_url_trades_its_token_for_a_strict_http_only_cookie() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    let host = dashboard.host();
    let path = dashboard.url.trim_start_matches(&format!("http://{host}"));
    let traded = dashboard.ask("GET", path, &[("Host", &host)], "");
    assert_eq!(traded.status, 200, "the page at once: {traded:?}");
    assert!(traded.body.contains("<html"), "{}", traded.body);
    let cookie = traded.header("set-cookie").expect("a cookie");
    assert!(cookie.starts_with(&dashboard.cookie()), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let page = dashboard.ask("GET", "/", &[("Host", &host), ("Cookie", &dashboard.cookie())], "");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("<html"), "{}", page.body);
    let policy = page.header("content-security-policy").expect("a CSP");
    assert!(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("access-control-allow-origin"), None, "no CORS");
    let script = dashboard.ask("GET", "/assets/app.js", &[("Host", &host), ("Cookie", &dashboard.cookie())], "");
    assert_eq!(script.status, 200);
    assert!(script.header("content-type").is_some_and(|t| t.starts_with("text/javascript")), "{script:?}");
}

#[test]
fn a_foreign_host_is_403_even_with_the_token() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    let port = dashboard.port;
    for host in [
        format!("evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        "127.0.0.1".to_owned(),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
    ] {
        let answer =
            dashboard.ask("GET", "/api/services", &[("Host", &host), ("Authorization", &dashboard.bearer())], "");
        assert_eq!(answer.status, 403, "{host}: {answer:?}");
        let without = dashboard.ask("GET", "/", &[("Host", &host)], "");
        assert_eq!(without.status, 403, "{host}, no token: {without:?}");
    }
    for host in [format!("localhost:{port}"), format!("[::1]:{port}")] {
        let answer =
            dashboard.ask("GET", "/api/services", &[("Host", &host), ("Authorization", &dashboard.bearer())], "");
        assert_eq!(answer.status, 200, "{host}: {answer:?}");
    }
    let refused = dashboard.ask("GET", "/api/services", &[("Host", "evil.example:1")], "");
    assert!(refused.header("x-frame-options").is_some() && refused.json()["error"].is_string(), "{refused:?}");
}

#[test]
fn it_listens_on_both_loopbacks_and_nowhere_else() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    assert!(std::net::TcpStream::connect(("127.0.0.1", dashboard.port)).is_ok());
    // ::1 where the machine has IPv6 (a socket bound to it proves it).
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        assert!(std::net::TcpStream::connect(("::1", dashboard.port)).is_ok(), "::1 listens too");
    }
    let listening = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let port = format!(":{:04X} ", dashboard.port);
    for line in listening.lines().filter(|l| l.contains(&port) && l.split_whitespace().nth(3) == Some("0A")) {
        let local = line.split_whitespace().nth(1).unwrap();
        assert!(local.starts_with("0100007F:"), "listens on 127.0.0.1 only: {line}");
    }
}

#[test]
fn the_token_in_the_query_works_on_any_path_for_scripts_that_paste_the_url() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    let path = format!("/api/services?token={}", dashboard.token);
    let answer = dashboard.ask("GET", &path, &[("Host", &dashboard.host())], "");
    assert_eq!(answer.status, 200, "served, not redirected: {answer:?}");
    let wrong = dashboard.ask("GET", "/api/services?token=00", &[("Host", &dashboard.host())], "");
    assert_eq!(wrong.status, 401);
}

#[test]
fn a_post_from_a_foreign_origin_is_403_and_restarts_nothing() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    let before = dashboard.pid("worker").expect("worker runs");
    let host = dashboard.host();
    let cookie = dashboard.cookie();
    let path = "/api/services/worker/restart";
    let forged =
        dashboard.ask("POST", path, &[("Host", &host), ("Cookie", &cookie), ("Origin", "http://evil.example")], "{}");
    assert_eq!(forged.status, 403, "{forged:?}");
    let bare = dashboard.ask("POST", path, &[("Host", &host), ("Cookie", &cookie)], "{}");
    assert_eq!(bare.status, 403, "a cookie POST without an Origin: {bare:?}");
    let scripted = dashboard.ask(
        "POST",
        path,
        &[("Host", &host), ("Authorization", &dashboard.bearer()), ("Origin", "http://evil.example")],
        "{}",
    );
    assert_eq!(scripted.status, 403, "{scripted:?}");
    assert_eq!(dashboard.pid("worker"), Some(before), "nothing was restarted");
    // Its own page's POST goes through.
    let own = format!("http://{host}");
    let page = dashboard.ask("POST", path, &[("Host", &host), ("Cookie", &cookie), ("Origin", &own)], "{}");
    assert_eq!(page.status, 200, "{page:?}");
    assert_ne!(dashboard.pid("worker"), Some(before));
}

#[test]
fn a_change_is_never_a_get() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    let before = dashboard.pid("worker");
    let get = dashboard.get("/api/services/worker/restart");
    assert_eq!(get.status, 405);
    assert!(get.json()["error"].as_str().unwrap().contains("POST"), "{get:?}");
    assert_eq!(dashboard.pid("worker"), before);
}

#[test]
fn a_named_port_is_the_one_listened_on_and_one_taken_is_a_clear_error() {
    let project = project();
    let port = crate::support::free_port();
    let mut named = crate::support::Beside::start(&project, &["dashboard", "--no-up", "--port", &port.to_string()]);
    let url = named.next_match(crate::support::ORCH_TIMEOUT, |l| l.contains("?token=")).expect("a URL");
    assert!(url.starts_with(&format!("http://127.0.0.1:{port}/?token=")), "{url}");
    let mut taken = crate::support::Beside::start(&project, &["dashboard", "--no-up", "--port", &port.to_string()]);
    let status = taken.wait_exit(crate::support::ORCH_TIMEOUT).expect("it ends");
    assert!(!status.success());
    let stderr = taken.stderr().replace(&port.to_string(), "PORT");
    insta::assert_snapshot!(stderr, @"orch: the dashboard cannot listen on 127.0.0.1:PORT: Address already in use (os error 98)");
    drop(taken);
    // What a person is told when it starts, and when Ctrl-C ends it.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(named.pid()), nix::sys::signal::Signal::SIGINT).unwrap();
    named.wait_exit(crate::support::ORCH_TIMEOUT).expect("it ends");
    insta::assert_snapshot!(named.stderr(), @"
    orch dashboard: the URL above opens the project's page (its token lets you in: keep it to yourself)
    orch dashboard: Ctrl-C stops the dashboard; the services keep running
    orch dashboard: stopped; the services keep running
    ");
}

#[test]
fn open_hands_the_desktop_browser_a_private_file_that_leads_to_the_url() {
    // The stand-in opener keeps what it was given: the command line, and the file's text.
    let opener = "#!/bin/sh\necho \"$1\" > \"$(dirname \"$0\")/argument\"\ncat \"$1\" > \"$(dirname \"$0\")/page\"\n";
    let project = project().file("bin/xdg-open", opener);
    let bin = project.path().join("bin");
    std::fs::set_permissions(bin.join("xdg-open"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut dashboard =
        crate::support::Beside::start_with(&project, &["dashboard", "--no-up", "--open"], &[("PATH", &path)]);
    let url = dashboard.next_match(crate::support::ORCH_TIMEOUT, |l| l.contains("?token=")).expect("a URL");
    let page = bin.join("page");
    let told = crate::support::wait_until(crate::support::ORCH_TIMEOUT, || {
        std::fs::read_to_string(&page).is_ok_and(|text| text.contains(&format!("url={url}")))
    });
    assert!(told, "the page it opened leads to {url}: {:?}", std::fs::read_to_string(&page));
    let argument = std::fs::read_to_string(bin.join("argument")).unwrap();
    assert!(!argument.contains("token"), "the token is on no command line: {argument}");
    let file = std::path::PathBuf::from(argument.trim());
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(dashboard.pid()), nix::sys::signal::Signal::SIGTERM).unwrap();
    dashboard.wait_exit(crate::support::ORCH_TIMEOUT).expect("it ends");
    assert!(!file.exists(), "removed when the dashboard ends");
}
