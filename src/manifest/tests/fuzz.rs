//! Fuzzing with proptest (issue 9): arbitrary bytes as procs.toml, Procfile and `.env`, and
//! text built to grow (values doubling, defaults nesting), never make a load panic, never take
//! more than the bounds allow, and every problem they cause points at a line of a file.
//!
//! CI runs a few dozen cases of each; a longer run is `ORCH_FUZZ_CASES=100000 cargo test --lib
//! fuzz`. A case it finds belongs below as a regression test.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::manifest::environment::{MAX_TOTAL, MAX_VALUE};
use crate::manifest::interpolate;
use crate::manifest::{LoadOptions, Loaded, Problems, load};

fn cases(default: u32) -> u32 {
    std::env::var("ORCH_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

/// Bytes leaning on what the parsers care about, invalid UTF-8 included.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        3 => any::<u8>(),
        3 => prop::sample::select(b"\r\n\t ${}\"'\\#=:-_.[]0123456789".to_vec()),
        2 => prop::sample::select(b"abcdefghijklmnopqrstuvwxyzABCZ".to_vec()),
        1 => prop::sample::select(vec![0xef, 0xbb, 0xbf, 0xff, 0xc3, 0x00]),
    ];
    prop::collection::vec(byte, 0..200)
}

/// Fragments that make the parsers go deep, glued at random, plus raw bytes.
fn shaped() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        Just(b"[services.web]\ncmd = \"x\"\n".to_vec()),
        Just(b"[services.db]\ncmd = [\"a\"]\nport = \"auto\"\n".to_vec()),
        Just(b"env = { A = \"${B:-${C:?no}}\" }\n".to_vec()),
        Just(b"depends_on = [\"db\"]\n".to_vec()),
        Just(b"ready = { tcp = \"127.0.0.1:${db.port}\" }\n".to_vec()),
        Just(b"[env]\nX = \"${X}${X}\"\n".to_vec()),
        Just(b"web: ./run\n".to_vec()),
        Just(b"A=\"multi\rline\"\r\n".to_vec()),
        Just(b"\xef\xbb\xbfexport B=${A}${A}\n".to_vec()),
        Just(b"PORT=abc\n".to_vec()),
        Just(b"-rf: x\n".to_vec()),
        bytes(),
    ];
    prop::collection::vec(fragment, 0..8).prop_map(|parts| parts.concat())
}

/// A `.env` built to grow: each line repeats earlier ones a few times, through plain
/// references, defaults and alternatives, sometimes nested.
fn growing_dotenv() -> impl Strategy<Value = Vec<u8>> {
    let line = (1usize..5, 0usize..4, any::<bool>());
    (prop::collection::vec(line, 1..60), "[a-z]{1,40}").prop_map(|(lines, seed)| {
        let mut text = format!("V0={seed}\n");
        for (i, (copies, form, nest)) in lines.into_iter().enumerate() {
            let prev = format!("V{i}");
            let one = match form {
                0 => format!("${{{prev}}}"),
                1 => format!("${{NOPE:-${{{prev}}}}}"),
                2 => format!("${{{prev}:+${{{prev}}}${{{prev}}}}}"),
                _ => format!("${{{prev}-x}}"),
            };
            let value = one.repeat(copies);
            let value = if nest { format!("${{NOPE:-{value}}}") } else { value };
            text.push_str(&format!("V{}={value}\n", i + 1));
        }
        text.into_bytes()
    })
}

/// Writes the files (a Procfile when `procfile`), loads, and checks what came back.
fn load_bytes(manifest: &[u8], dotenv: Option<&[u8]>, procfile: bool) -> Result<(), TestCaseError> {
    let fail = |e: std::io::Error| TestCaseError::fail(e.to_string());
    let dir = tempfile::tempdir().map_err(fail)?;
    if let Some(dotenv) = dotenv {
        std::fs::write(dir.path().join(".env"), dotenv).map_err(fail)?;
    }
    let path = dir.path().join(if procfile { "Procfile" } else { "procs.toml" });
    std::fs::write(&path, manifest).map_err(fail)?;
    let env = [("HOME", "/home/u")].into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    let started = Instant::now();
    let result = load(&path, &LoadOptions::new(env, dir.path().to_path_buf()).with_ports(Box::new(|_| 4000)));
    prop_assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    check(result)
}

/// Bounded output; every problem inside its file, at a line, and renderable.
fn check(result: Result<Loaded, Problems>) -> Result<(), TestCaseError> {
    let problems = match result {
        Ok(loaded) => {
            let mut total = 0;
            for service in loaded.spec.services.values() {
                for (key, value) in &service.env {
                    prop_assert!(value.len() <= MAX_VALUE, "{key} is {} bytes", value.len());
                    prop_assert!(!value.contains('\0'));
                    total += key.len() + value.len();
                }
            }
            prop_assert!(total <= MAX_TOTAL, "{total} bytes of environment");
            loaded.warnings
        }
        Err(problems) => {
            prop_assert!(problems.has_errors(), "refused without an error: {problems}");
            problems.0
        }
    };
    for problem in &problems {
        let Some(at) = &problem.at else {
            return Err(TestCaseError::fail(format!("no line: {}", problem.message)));
        };
        let text = at.file.text();
        prop_assert!(at.span.start <= at.span.end && at.span.end <= text.len(), "{:?}: {}", at.span, problem.message);
        prop_assert!(problem.position().is_some());
        prop_assert!(problem.message.len() < 4096, "a message of {} bytes", problem.message.len());
        let mut rendered = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .render_report(&mut rendered, problem)
            .map_err(|e| TestCaseError::fail(format!("render: {e}")))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(48)))]

    #[test]
    fn any_bytes_as_procs_toml_and_dotenv(manifest in shaped(), dotenv in prop::option::of(shaped())) {
        load_bytes(&manifest, dotenv.as_deref(), false)?;
    }

    #[test]
    fn any_bytes_as_a_procfile_and_dotenv(manifest in shaped(), dotenv in prop::option::of(shaped())) {
        load_bytes(&manifest, dotenv.as_deref(), true)?;
    }

    #[test]
    fn a_growing_dotenv_stays_within_the_bounds(dotenv in growing_dotenv(), procfile in any::<bool>()) {
        let manifest: &[u8] = if procfile { b"web: x\nworker: y\n" } else { b"[services.web]\ncmd = \"x\"\n" };
        load_bytes(manifest, Some(&dotenv), procfile)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    /// Whatever the text and however big the values it refers to, the result stays under the
    /// limit (the input's own text aside), or the error points at a `${`.
    #[test]
    fn interpolation_output_is_bounded(text in any::<String>(), limit in 0usize..10_000) {
        let big = |name: &str| (!name.is_empty()).then(|| "v".repeat(3000));
        let text = format!("{text}${{A}}{text}${{B:-${{C}}}}");
        match interpolate::expand(&text, big, limit) {
            Ok(expanded) => prop_assert!(expanded.value.len() <= limit + text.len()),
            Err(e) => prop_assert!(text[e.offset..].starts_with("${"), "{e:?}"),
        }
    }
}

/// A file that is not UTF-8 is an error at the byte where it stops being text.
#[test]
fn a_file_that_is_not_utf8_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("procs.toml");
    std::fs::write(&path, b"[services.web]\ncmd = \"caf\xe9\"\n").unwrap();
    std::fs::write(dir.path().join(".env"), b"A=1\nB=\xff\n").unwrap();
    let options = LoadOptions::new(crate::manifest::BaseEnv::default(), dir.path().to_path_buf());
    let problems = load(&path, &options).unwrap_err();
    assert_eq!(problems.0.len(), 1);
    assert_eq!(problems.0[0].one_line().split(" (").next(), Some("procs.toml:2:11: procs.toml is not UTF-8 text"));
    std::fs::write(&path, b"[services.web]\ncmd = \"x\"\n").unwrap();
    let problems = load(&path, &options).unwrap_err();
    assert_eq!(problems.0[0].position().as_deref(), Some(".env:2:3"));
}
