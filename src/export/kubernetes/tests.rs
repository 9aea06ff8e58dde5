//! The golden files of `orch export kubernetes` for the README's example and for every key,
//! the image rules, and the manifests checked against Kubernetes' own schemas.

use indexmap::IndexMap;

use super::export;
use crate::export::Export;
use crate::export::tests::{EVERY_KEY, EXAMPLE, project, shown, spec, validator};
use crate::manifest::{CommandLine, Spec};

/// `ghcr.io/acme/<name>:1` for every service of the manifest (each group once).
fn images(spec: &Spec) -> IndexMap<String, String> {
    let (units, _) = crate::export::units(spec);
    units.iter().map(|u| (u.name.clone(), format!("ghcr.io/acme/{}:1", u.name))).collect()
}

/// The snapshots sit with the other exports' (src/export/snapshots).
fn golden(name: &str, path: &str) {
    let spec = spec(path);
    let export = export(&project(&spec), &images(&spec)).unwrap();
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => true }, {
        insta::assert_snapshot!(name, shown(&export, &spec));
    });
}

#[test]
fn the_example() {
    golden("example", EXAMPLE);
}

#[test]
fn every_key() {
    golden("every_key", EVERY_KEY);
}

#[test]
fn a_service_without_an_image_is_named() {
    let spec = spec(EXAMPLE);
    let mut given = images(&spec);
    given.shift_remove("web");
    given.shift_remove("worker");
    let error = export(&project(&spec), &given).unwrap_err();
    assert_eq!(error, "service `web` has no image: pass --image web=IMAGE or set image in [services.web.export]");
}

#[test]
fn image_flags_win_over_the_export_table() {
    let mut spec = spec(EXAMPLE);
    for service in spec.services.values_mut() {
        service.image = Some("registry.test/from-toml:2".into());
    }
    let given: IndexMap<String, String> = [("web".to_owned(), "ghcr.io/acme/web:9".to_owned())].into_iter().collect();
    let export = export(&project(&spec), &given).unwrap();
    let text = shown(&export, &spec);
    assert!(text.contains("- name: web\n        image: ghcr.io/acme/web:9"), "{text}");
    assert!(text.contains("- name: worker\n        image: registry.test/from-toml:2"), "{text}");
}

/// Secret-looking names become an empty Secret stub and a warning; their values are nowhere.
#[test]
fn secrets_are_stubs() {
    let mut spec = spec(EXAMPLE);
    if let Some(web) = spec.services.get_mut("web") {
        web.env.insert("API_KEY".into(), "hunter2-value".into());
    }
    let export = export(&project(&spec), &images(&spec)).unwrap();
    let text = shown(&export, &spec);
    assert!(!text.contains("hunter2-value"), "{text}");
    assert!(text.contains("kind: Secret"), "{text}");
    assert!(text.contains("  API_KEY: \"\""), "{text}");
    assert!(text.contains("- secretRef:\n            name: orch-app-web-secret"), "{text}");
    assert!(export.warnings.iter().any(|w| w.key == "env" && w.message.contains("`API_KEY`")));
    assert!(export.next_steps[0].contains("orch-app-web-secret"), "{:?}", export.next_steps);
}

/// Strings YAML 1.1 (which Kubernetes reads) would take for a boolean or a number stay strings.
#[test]
fn values_stay_strings() {
    let mut spec = spec(EXAMPLE);
    if let Some(web) = spec.services.get_mut("web") {
        web.env.insert("FLAG".into(), "on".into());
        web.env.insert("OCTAL".into(), "0755".into());
        web.cmd = CommandLine::Argv(vec!["serve".into(), "yes".into()]);
    }
    let export = export(&project(&spec), &images(&spec)).unwrap();
    let text = shown(&export, &spec);
    for line in ["FLAG: \"on\"", "OCTAL: \"0755\"", "- \"yes\""] {
        assert!(text.contains(line), "{line} in {text}");
    }
}

/// Whether `kubernetes-validate` can be run; a message on stderr where it cannot.
fn have_validator() -> bool {
    let found = validator("kubernetes-validate").arg("--version").output().is_ok();
    if !found {
        eprintln!(
            "skipped: kubernetes-validate is not installed (pip install --target target/pip-validators kubernetes-validate)"
        );
    }
    found
}

/// The files through `kubernetes-validate --strict` and Kubernetes 1.30's schemas (it
/// bundles them: no network); each object must be checked and pass.
fn validate(what: &str, export: &Export) {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, text) in &export.files {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        files.push(file);
    }
    let objects: usize = export.files.iter().map(|(_, text)| text.matches("---\n").count()).sum();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/validators/kubernetes.sh");
    let output = validator("sh").arg(script).args(&files).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{what}: kubernetes-validate failed:\n{said}");
    assert_eq!(said.matches(" passed for resource ").count(), objects, "{what}: every object checked:\n{said}");
}

#[test]
fn kubernetes_validate_accepts_the_exports() {
    if !have_validator() {
        return;
    }
    for path in [EVERY_KEY, EXAMPLE] {
        let spec = spec(path);
        validate(path, &export(&project(&spec), &images(&spec)).unwrap());
    }
}

/// A Job, an auto port, a folder of this machine, `restart = "no"` on a long-running
/// service: each mapped or said.
#[test]
fn jobs_and_what_does_not_map() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let manifest = r#"
[services.api]
cmd = ["api", "--listen", "$(PORT)"]
port = "auto"
restart = "no"
max_restarts = 2
cwd = "sub"
stop_timeout = "1500ms"
export = { image = "ghcr.io/acme/api:1" }

[services.seed]
cmd = "seed --once"
oneshot = true
restart = "on-failure"
depends_on = { api = "started" }
export = { image = "ghcr.io/acme/seed:1" }
"#;
    let file = dir.path().join("procs.toml");
    std::fs::write(&file, manifest).unwrap();
    let spec = spec(&file.display().to_string());
    let export = export(&project(&spec), &IndexMap::new()).unwrap();
    let text = shown(&export, &spec);
    for line in ["kind: Job", "backoffLimit: 5", "restartPolicy: OnFailure", "- containerPort: 4001", "- \"$$(PORT)\""]
    {
        assert!(text.contains(line), "{line} in {text}");
    }
    assert!(text.contains("terminationGracePeriodSeconds: 2"), "{text}");
    let keys: Vec<(&str, &str)> =
        export.warnings.iter().map(|w| (w.service.as_deref().unwrap_or(""), w.key.as_str())).collect();
    for key in [
        ("api", "port"),
        ("api", "cwd"),
        ("api", "restart"),
        ("api", "max_restarts"),
        ("api", "stop_timeout"),
        ("seed", "depends_on"),
    ] {
        assert!(keys.contains(&key), "{key:?} in {keys:?}");
    }
    if have_validator() {
        validate("jobs", &export);
    }
}

/// The export of a procs.toml written here (in its own folder, which the spec borrows).
fn from_toml(manifest: &str) -> (tempfile::TempDir, Spec) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("procs.toml");
    std::fs::write(&file, manifest).unwrap();
    let spec = spec(&file.display().to_string());
    (dir, spec)
}

/// A `completed` dependency is a Job, and an init container of the dependent that waits for it
/// with kubectl, as a ServiceAccount that may read Jobs.
#[test]
fn a_completed_dependency_is_a_job_waited_for() {
    let spec = spec(EXAMPLE);
    let export = export(&project(&spec), &images(&spec)).unwrap();
    let file = |name: &str| export.files.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str()).unwrap_or_default();
    assert_eq!(export.files[0].0, "rbac.yaml", "before the pods that run as its ServiceAccount");
    let rbac = file("rbac.yaml");
    for line in [
        "kind: ServiceAccount",
        "kind: Role\n",
        "kind: RoleBinding",
        "  name: orch-app-waiter",
        "- apiGroups:\n  - batch\n  resources:\n  - jobs\n  verbs:\n  - get\n  - list\n  - watch",
    ] {
        assert!(rbac.contains(line), "{line} in {rbac}");
    }
    let setup = file("setup.yaml");
    assert!(setup.contains("kind: Job\nmetadata:\n  name: setup"), "{setup}");
    let web = file("web.yaml");
    for line in [
        "serviceAccountName: orch-app-waiter",
        "- name: wait-setup\n        image: bitnami/kubectl:1.30",
        "- \"--for=condition=complete\"",
        "- \"--timeout=600s\"",
        "- job/setup",
    ] {
        assert!(web.contains(line), "{line} in {web}");
    }
    assert!(!web.contains("mkdir -p data"), "the oneshot runs in its Job, not in web's pods:\n{web}");
    assert!(!file("worker.yaml").contains("serviceAccountName"), "worker waits for no Job");
    let said = export.warnings.iter().find(|w| w.key == "oneshot").unwrap();
    assert!(said.message.contains("runs once, when kubectl apply creates it"), "{said}");
}

/// A scaled oneshot runs its `scale` pods; a oneshot's own `ready_timeout` is how long the
/// dependent waits.
#[test]
fn a_scaled_oneshot_runs_each_pod() {
    let (_dir, spec) = from_toml(
        r#"
[services.seed]
cmd = "seed"
oneshot = true
scale = 3
ready_timeout = "2m"
export = { image = "ghcr.io/acme/seed:1" }

[services.api]
cmd = "api"
port = 8080
depends_on = { seed = "completed" }
export = { image = "ghcr.io/acme/api:1" }
"#,
    );
    let export = export(&project(&spec), &IndexMap::new()).unwrap();
    let text = shown(&export, &spec);
    assert!(text.contains("  parallelism: 3\n  completions: 3\n"), "{text}");
    assert!(text.contains("- \"--timeout=120s\""), "{text}");
    if have_validator() {
        validate("scaled oneshot", &export);
    }
}

/// Two services of one Kubernetes name, or a name that cannot be one, are errors naming them.
#[test]
fn names_kubernetes_cannot_take_are_errors() {
    let two = |a: &str, b: &str| {
        format!(
            "[services.{a}]\ncmd = \"a\"\nexport = {{ image = \"i\" }}\n[services.{b}]\ncmd = \"b\"\nexport = {{ image = \"i\" }}\n"
        )
    };
    for (a, b, label) in [("my_web", "my-web", "my-web"), ("Web", "web", "web")] {
        let (_dir, spec) = from_toml(&two(a, b));
        let error = export(&project(&spec), &IndexMap::new()).unwrap_err();
        assert_eq!(error, format!("services `{a}` and `{b}` both become `{label}` in Kubernetes; rename one"));
    }
    for (name, why) in
        [("9lives", "starts with a letter"), ("_x", "starts with a letter"), ("web_", "ends with a letter")]
    {
        let (_dir, spec) = from_toml(&two(name, "ok"));
        let error = export(&project(&spec), &IndexMap::new()).unwrap_err();
        assert!(error.starts_with(&format!("service `{name}`")) && error.contains(why), "{error}");
    }
    let (_dir, spec) = from_toml(&format!("{}depends_on = [\"db\"]\n", two("db", "wait-db")));
    let error = export(&project(&spec), &IndexMap::new()).unwrap_err();
    assert_eq!(error, "service `wait-db` waits for `db` in an init container of the same name, `wait-db`; rename it");
    let long = "x".repeat(64);
    let (_dir, spec) = from_toml(&two(&long, "ok"));
    let error = export(&project(&spec), &IndexMap::new()).unwrap_err();
    assert!(error.contains(&format!("service `{long}`")) && error.contains("at most 63"), "{error}");
}

/// A seconds field of `0` is dropped; another has no CronJob, and says so.
#[test]
fn six_field_schedules() {
    let (_dir, spec) = from_toml(
        r#"
[services.tick]
cmd = "tick"
oneshot = true
schedule = "0 */5 * * * *"
export = { image = "ghcr.io/acme/tick:1" }

[services.fast]
cmd = "fast"
oneshot = true
schedule = "*/10 * * * * *"
env = { API_TOKEN = "x" }
export = { image = "ghcr.io/acme/fast:1" }
"#,
    );
    let export = export(&project(&spec), &IndexMap::new()).unwrap();
    let text = shown(&export, &spec);
    assert!(text.contains("schedule: \"*/5 * * * *\""), "{text}");
    let names: Vec<&str> = export.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["tick.yaml"], "no CronJob for `fast`");
    let fast: Vec<&str> =
        export.warnings.iter().filter(|w| w.service.as_deref() == Some("fast")).map(|w| w.message.as_str()).collect();
    assert_eq!(
        fast,
        ["`*/10 * * * * *` runs at second `*/10`, which five-field cron cannot say: no CronJob (it is not exported)"]
    );
    assert_eq!(export.next_steps, ["kubectl apply -f OUT/"], "no Secret stub of `fast` to fill in");
    if have_validator() {
        validate("schedules", &export);
    }
}

/// The next steps name the folder `OUT`, which the CLI replaces; the top-level `watch` (on by
/// default) is no warning.
#[test]
fn next_steps_and_project_warnings() {
    let spec = spec(EVERY_KEY);
    let export = export(&project(&spec), &images(&spec)).unwrap();
    assert_eq!(export.next_steps.last().map(String::as_str), Some("kubectl apply -f OUT/"));
    assert!(spec.watch, "procs.toml.example watches");
    assert!(!export.warnings.iter().any(|w| w.service.is_none() && w.key == "watch"), "{:?}", export.warnings);
}

/// Every file is a stream of YAML documents, each a Kubernetes object.
#[test]
fn files_read_back() {
    use serde::Deserialize;
    for path in [EXAMPLE, EVERY_KEY] {
        let spec = spec(path);
        let export = export(&project(&spec), &images(&spec)).unwrap();
        for (name, text) in &export.files {
            for document in serde_norway::Deserializer::from_str(text) {
                let object = serde_json::Value::deserialize(document).unwrap();
                assert!(object["apiVersion"].is_string() && object["kind"].is_string(), "{name}: {object}");
            }
        }
    }
}
