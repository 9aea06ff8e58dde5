//! Every problem of a manifest in one round, none of them a follow-on of another, and the
//! bounds that keep a hostile file from taking the memory or the time there is.

use std::time::{Duration, Instant};

use crate::manifest::{LoadOptions, Loaded, Problem, Problems, load};

/// Loads `manifest` (procs.toml, or a Procfile when `name` says so) with `dotenv` beside it.
fn load_files(name: &str, manifest: &str, dotenv: Option<&str>) -> Result<Loaded, Problems> {
    let dir = tempfile::tempdir().unwrap();
    if let Some(dotenv) = dotenv {
        std::fs::write(dir.path().join(".env"), dotenv).unwrap();
    }
    let path = dir.path().join(name);
    std::fs::write(&path, manifest).unwrap();
    let env = [("HOME", "/home/u")].into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    load(&path, &LoadOptions::new(env, dir.path().to_path_buf()))
}

fn errors(manifest: &str) -> Vec<String> {
    errors_with(manifest, None)
}

fn errors_with(manifest: &str, dotenv: Option<&str>) -> Vec<String> {
    let problems = load_files("procs.toml", manifest, dotenv).expect_err("the manifest is refused");
    problems.0.iter().filter(|p| p.is_error()).map(Problem::one_line).collect()
}

#[test]
fn two_typos_in_one_service_are_both_reported() {
    let got = errors("[services.web]\ncmd = \"x\"\nreadyy = { tcp = \"a:1\" }\nstop_sigal = \"INT\"\n");
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(got[0].contains("unknown key `readyy`") && got[0].contains("did you mean `ready`?"), "{got:#?}");
    assert!(got[1].contains("unknown key `stop_sigal`") && got[1].contains("did you mean `stop_signal`?"));
}

#[test]
fn two_bad_values_in_one_service_are_both_reported() {
    let got = errors("[services.web]\ncmd = 5\nstop_signal = \"SIGTREM\"\nstop_timeout = \"soon\"\n");
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got[0].starts_with("procs.toml:2:7: service `web`: "), "{got:#?}");
    assert!(got[1].contains("unknown signal `SIGTREM`"), "{got:#?}");
    assert!(got[2].contains("`soon` is not a duration"), "{got:#?}");
}

#[test]
fn comand_means_cmd_and_is_not_also_missing() {
    let got = errors("[services.web]\ncomand = \"x\"\n");
    assert_eq!(got, ["procs.toml:2:1: service `web`: unknown key `comand` (did you mean `cmd`?)"]);
    let got = errors("[services.web]\ncommand = \"x\"\n");
    assert_eq!(got, ["procs.toml:2:1: service `web`: unknown key `command` (did you mean `cmd`?)"]);
}

#[test]
fn a_missing_cmd_is_reported_with_the_other_problems() {
    let got = errors("[services.web]\ncwd = \".\"\nrestart = \"sometimes\"\n");
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(got[0].contains("`cmd` is missing"), "{got:#?}");
    assert!(got[1].contains("unknown value `sometimes`"), "{got:#?}");
}

#[test]
fn a_broken_service_sets_off_no_errors_in_others() {
    // api has a typo; its port is still known to web's `${api.port}`.
    let got = errors(
        "[services.api]\ncmd = \"x\"\nport = 4000\nreadyy = 1\n\
         [services.web]\ncmd = \"y\"\nenv = { API = \"http://127.0.0.1:${api.port}\" }\ndepends_on = [\"api\"]\n",
    );
    assert_eq!(got, ["procs.toml:4:1: service `api`: unknown key `readyy` (did you mean `ready`?)"]);
    // api's port itself is wrong: web does not say api has no port.
    let got = errors(
        "[services.api]\ncmd = \"x\"\nport = \"sometime\"\n\
         [services.web]\ncmd = \"y\"\nenv = { API = \"${api.port}\" }\n",
    );
    assert_eq!(got.len(), 1, "{got:#?}");
    // migrate's oneshot is wrong: web's wait for it to complete is not judged.
    let got = errors(
        "[services.migrate]\ncmd = \"x\"\noneshot = \"yes\"\n\
         [services.web]\ncmd = \"y\"\ndepends_on = { migrate = \"completed\" }\n",
    );
    assert_eq!(got.len(), 1, "{got:#?}");
}

#[test]
fn problems_of_different_kinds_in_one_service_all_come() {
    let got = errors("[services.web]\ncmdd = \"x\"\nenv = { A = \"${\" }\nstop_timeout = \"x\"\n");
    assert_eq!(got.len(), 3, "{got:#?}");
    let joined = got.join("\n");
    for says in ["unknown key `cmdd`", "`${` is not closed", "is not a duration"] {
        assert!(joined.contains(says), "{says}: {joined}");
    }
}

#[test]
fn env_keys_are_variable_names() {
    let got =
        errors("[env]\n\"SNEAK=HOME\" = \"x\"\n[services.web]\ncmd = \"x\"\nenv = { \"A B\" = \"1\", \"\" = \"2\" }\n");
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got[0].starts_with("procs.toml:2:1: `SNEAK=HOME` is not a variable name"), "{got:#?}");
}

#[test]
fn a_nul_in_a_value_is_an_error_at_check_time() {
    let got = errors("[services.web]\ncmd = \"x\"\nenv = { A = \"a\\u0000b\" }\n");
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].starts_with("procs.toml:3:13: a value cannot hold a NUL character"), "{got:#?}");
    let got = errors_with("[services.web]\ncmd = \"x\"\n", Some("A='a\0b'\n"));
    assert!(got[0].starts_with(".env:1:1: a value cannot hold a NUL character"), "{got:#?}");
}

#[test]
fn required_variables_are_errors_at_their_line() {
    let got = errors_with(
        "[services.web]\ncmd = \"x\"\nenv = { DB = \"${DATABASE_URL:?set it in .env}\" }\n",
        Some("A=1\nB=${NOPE?}\n"),
    );
    assert_eq!(
        got,
        [
            ".env:2:1: required variable `NOPE` is not set",
            "procs.toml:3:14: required variable `DATABASE_URL` is not set: set it in .env",
        ]
    );
}

/// Issue 9: a 1.1 kB `.env` of 40 lines, each doubling the one before, took 4 GB and aborted.
#[test]
fn a_doubling_dotenv_is_refused_quickly_and_with_its_line() {
    let mut dotenv = String::from("A0=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n");
    for i in 1..40 {
        dotenv.push_str(&format!("A{i}=${{A{p}}}${{A{p}}}\n", p = i - 1));
    }
    let started = Instant::now();
    let got = errors_with("[services.web]\ncmd = \"x\"\n", Some(&dotenv));
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // 30 bytes doubled 13 times is 245,760: more than 128 KiB, on line 14.
    assert!(got[0].starts_with(".env:14:1: `${A12}`") || got[0].starts_with(".env:14:1: "), "{got:#?}");
    assert!(got[0].contains("128 KiB") || got[0].contains("longer than"), "{got:#?}");
}

/// Each value under the per-value cap, but together past the total.
#[test]
fn the_total_of_all_environments_is_bounded() {
    let big = "y".repeat(100 * 1024);
    let mut dotenv = format!("B={big}\n");
    for i in 0..200 {
        dotenv.push_str(&format!("C{i}=${{B}}\n"));
    }
    let got = errors_with("[services.web]\ncmd = \"x\"\n", Some(&dotenv));
    assert_eq!(got.len(), 1, "reported once: {got:#?}");
    assert!(got[0].contains("add up to more than 16 MiB"), "{got:#?}");
}

/// Many services copying a big `.env`: the copies count too.
#[test]
fn copies_of_a_big_dotenv_for_many_services_are_bounded() {
    let dotenv = format!("B={}\n", "z".repeat(120 * 1024));
    let procfile: String = (0..400).map(|i| format!("s{i}: x\n")).collect();
    let problems = load_files("Procfile", &procfile, Some(&dotenv)).expect_err("refused");
    let errors: Vec<String> = problems.0.iter().map(Problem::one_line).collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("add up to more than 16 MiB"), "{errors:#?}");
}

/// Issue 9: a 50,000-line `.env` took over 5 s, each entry rescanning the file for its line.
#[test]
fn a_long_dotenv_loads_in_linear_time() {
    let dotenv: String = (0..50_000).map(|i| format!("KEY_{i}=value-{i}\n")).collect();
    let started = Instant::now();
    let loaded = load_files("procs.toml", "[services.web]\ncmd = \"x\"\n", Some(&dotenv)).unwrap();
    // A generous bound for a debug build on a busy machine; the quadratic scan took minutes.
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(loaded.spec.services["web"].env["KEY_49999"], "value-49999");
}
