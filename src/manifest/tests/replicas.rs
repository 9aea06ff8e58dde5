//! `scale`: a service as N services `NAME.1` … `NAME.N`, each with its own port and `$PS`, and
//! what the group's name means elsewhere in the manifest.

use indexmap::IndexMap;

use crate::manifest::{LoadOptions, Loaded, Problem, Problems, load};

/// Loads `text` as `file` (procs.toml or a Procfile), auto ports numbered from 4001 in the
/// order asked for, with `scale` over the manifest's.
fn load_scaled(file: &str, text: &str, scale: &[(&str, u32)]) -> Result<Loaded, Problems> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file);
    std::fs::write(&path, text).unwrap();
    let next = std::sync::atomic::AtomicU16::new(4001);
    let scale: IndexMap<String, u32> = scale.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect();
    let options = LoadOptions::new(crate::manifest::BaseEnv::default(), dir.path().to_path_buf())
        .with_ports(Box::new(move |_| next.fetch_add(1, std::sync::atomic::Ordering::SeqCst)))
        .with_scale(scale);
    load(&path, &options)
}

fn errors(text: &str) -> Vec<String> {
    let problems = load_scaled("procs.toml", text, &[]).expect_err("refused");
    problems.0.iter().filter(|p| p.is_error()).map(Problem::one_line).collect()
}

const WEB: &str = "[services.db]\ncmd = \"db\"\n\n[services.web]\ncmd = \"serve\"\nport = \"auto\"\nscale = 3\n\
                   ready = { tcp = \"127.0.0.1:${PORT}\" }\ndepends_on = [\"db\"]\n\n[services.api]\ncmd = \"api\"\n\
                   depends_on = [\"web\"]\nenv = { FIRST = \"${web.1.port}\" }\n";

#[test]
fn scale_makes_replicas_with_a_port_and_ps_each() {
    let loaded = load_scaled("procs.toml", WEB, &[]).unwrap();
    let names: Vec<&str> = loaded.spec.services.keys().map(String::as_str).collect();
    assert_eq!(names, ["db", "web.1", "web.2", "web.3", "api"]);
    let mut ports = Vec::new();
    for (index, name) in (1..).zip(["web.1", "web.2", "web.3"]) {
        let web = &loaded.spec.services[name];
        assert_eq!(web.env["PS"], name);
        let replica = web.replica.as_ref().unwrap();
        assert_eq!((replica.group.as_str(), replica.index, replica.scale), ("web", index, 3));
        let port = web.env["PORT"].clone();
        assert_eq!(web.ready.as_ref().unwrap().to_string(), format!("tcp 127.0.0.1:{port}"));
        ports.push(port);
    }
    ports.dedup();
    assert_eq!(ports.len(), 3, "one port each: {ports:?}");
    assert_eq!(loaded.spec.groups, IndexMap::from([("web".to_owned(), 3)]));
    let api = &loaded.spec.services["api"];
    assert_eq!(api.depends_on.keys().collect::<Vec<_>>(), ["web.1", "web.2", "web.3"], "on every replica");
    assert_eq!(api.env["FIRST"], loaded.spec.services["web.1"].env["PORT"]);
    assert!(!api.env.contains_key("PS"), "a service that is not scaled has no PS in procs.toml");
}

#[test]
fn the_groups_port_is_an_error_that_names_a_replicas() {
    let got = errors(
        "[services.web]\ncmd = \"x\"\nport = \"auto\"\nscale = 2\n\n[services.api]\ncmd = \"y\"\nenv = { W = \"${web.port}\" }\n",
    );
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].contains("service `web` is scaled (scale = 2)"), "{got:#?}");
    assert!(got[0].contains("`${web.1.port}`"), "{got:#?}");
}

#[test]
fn fixed_ports_count_up_and_overrides_win() {
    let text = "[services.web]\ncmd = \"x\"\nport = 8000\nscale = 2\nrolling = true\n";
    let loaded = load_scaled("procs.toml", text, &[("web", 4)]).unwrap();
    let ports: Vec<&str> = loaded.spec.services.values().map(|s| s.env["PORT"].as_str()).collect();
    assert_eq!(ports, ["8000", "8001", "8002", "8003"]);
    assert!(loaded.spec.services.values().all(|s| s.rolling));
    let none = load_scaled("procs.toml", text, &[("web", 0)]).unwrap();
    assert!(none.spec.services.is_empty());
    assert_eq!(none.spec.groups["web"], 0);
    assert_eq!(none.spec.expand_groups(&["web".to_owned()]), Vec::<String>::new());
    let near_the_top = errors("[services.web]\ncmd = \"x\"\nport = 65535\nscale = 2\n");
    assert!(near_the_top[0].contains("`web.2` would have a port above 65535"), "{near_the_top:#?}");
}

#[test]
fn a_replicas_problems_are_told_once_and_too_many_is_an_error() {
    let got = errors("[services.web]\ncmd = \"x\"\ncwd = \"nowhere\"\nscale = 3\n");
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].contains("service `web`: cwd"), "{got:#?}");
    let got = errors("[services.web]\ncmd = \"x\"\nscale = 5000\n");
    assert!(got[0].contains("scale = 5000 is more than 1000"), "{got:#?}");
    let got = errors("[services.web]\ncmd = \"x\"\nreplicas = 2\n");
    assert!(got[0].contains("did you mean `scale`?"), "{got:#?}");
}

#[test]
fn procfile_replicas_count_up_from_their_process_types_port() {
    let loaded = load_scaled("Procfile", "web: serve\nworker: work\n", &[("web", 2)]).unwrap();
    let shown: Vec<(&str, &str, &str)> = loaded
        .spec
        .services
        .iter()
        .map(|(name, s)| (name.as_str(), s.env["PORT"].as_str(), s.env["PS"].as_str()))
        .collect();
    assert_eq!(shown, [("web.1", "5000", "web.1"), ("web.2", "5001", "web.2"), ("worker", "5100", "worker.1")]);
}

#[test]
fn procfile_replicas_keep_to_their_process_types_ports() {
    let refused = |text: &str, scale: &[(&str, u32)]| -> Vec<String> {
        let problems = load_scaled("Procfile", text, scale).expect_err("refused");
        problems.0.iter().filter(|p| p.is_error()).map(Problem::one_line).collect()
    };
    let got = refused("web: serve\nworker: work\n", &[("web", 101)]);
    assert!(got[0].contains("process `web`: 101 replicas would take the next process's ports"), "{got:#?}");
    // The last process has the ports above it to itself, up to 65535.
    assert!(load_scaled("Procfile", "web: serve\nworker: work\n", &[("worker", 150)]).is_ok());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "PORT=65500\n").unwrap();
    let path = dir.path().join("Procfile");
    std::fs::write(&path, "web: serve\n").unwrap();
    let scale = IndexMap::from([("web".to_owned(), 40)]);
    let options = LoadOptions::new(crate::manifest::BaseEnv::default(), dir.path().to_path_buf()).with_scale(scale);
    let problems = load(&path, &options).expect_err("refused");
    let first = problems.0.iter().find(|p| p.is_error()).map(Problem::one_line).unwrap_or_default();
    assert!(first.contains("`web.40` would have a port above 65535"), "{first}");
}
