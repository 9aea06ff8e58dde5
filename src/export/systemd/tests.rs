use super::super::tests::{EVERY_KEY, EXAMPLE, project, shown, spec};
use super::{Scope, command_line, environment, export};

#[test]
fn the_example_as_user_units() {
    let spec = spec(EXAMPLE);
    insta::assert_snapshot!(shown(&export(&project(&spec), &Scope::User), &spec));
}

#[test]
fn every_key_as_system_units() {
    let spec = spec(EVERY_KEY);
    let scope = Scope::System { user: Some("app".into()) };
    insta::assert_snapshot!(shown(&export(&project(&spec), &scope), &spec));
}

#[test]
fn words_and_values_are_quoted_as_systemd_reads_them() {
    let argv = ["/bin/sh", "-c", "exec python3 -m http.server $PORT", "100%", "a\"b", "back\\slash", ""];
    let argv: Vec<String> = argv.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(command_line(&argv), r#"/bin/sh -c "exec python3 -m http.server $$PORT" 100%% "a\"b" "back\\slash" """#);
    assert_eq!(
        environment("URL", "postgres://x/app?a=1%\"q\""),
        Some("Environment=\"URL=postgres://x/app?a=1%%\\\"q\\\"\"\n".into())
    );
    assert_eq!(environment("TWO", "line\nline"), None);
}
