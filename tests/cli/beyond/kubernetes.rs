//! `orch export kubernetes`: a service without an image is an error naming it; with images the
//! manifests are written and kubernetes-validate accepts them.

use std::path::Path;

use super::validators::{present, validator};
use crate::support::Project;

const MANIFEST: &str = "[services.db]\ncmd = \"postgres\"\nport = 5432\nready = { tcp = \"127.0.0.1:5432\" }\n\n\
                        [services.web]\ncmd = \"serve\"\nport = 8080\ndepends_on = [\"db\"]\n\
                        env = { API_TOKEN = \"s3cret\" }\nexport = { image = \"ghcr.io/acme/web:1\" }\n";

#[test]
fn a_service_without_an_image_is_named_and_images_make_valid_manifests() {
    let project = Project::toml(MANIFEST);
    let missing = project.run(&["export", "kubernetes"]).expect_code(2).stderr();
    assert!(missing.contains("service `db` has no image"), "{missing}");
    let unknown = project.run(&["export", "kubernetes", "--image", "dbb=postgres:16"]).expect_code(2).stderr();
    assert!(unknown.contains("no service named `dbb`"), "{unknown}");

    let run = project.run(&["export", "kubernetes", "--image", "db=postgres:16", "--out", "k8s"]);
    let warned = run.expect_code(0).stderr();
    assert!(warned.contains("service `web`: `env`:") && warned.contains("API_TOKEN"), "{warned}");
    let out = project.path().join("k8s");
    let web = std::fs::read_to_string(out.join("web.yaml")).unwrap();
    assert!(web.contains("kind: Deployment") && web.contains("image: ghcr.io/acme/web:1"), "{web}");
    assert!(web.contains("kind: Secret") && !web.contains("s3cret"), "the secret's value was written:\n{web}");
    let db = std::fs::read_to_string(out.join("db.yaml")).unwrap();
    assert!(db.contains("kind: Service") && db.contains("readinessProbe"), "{db}");

    let mut probe = validator("kubernetes-validate");
    probe.arg("--version");
    if !present(probe, "pip install --target target/pip-validators kubernetes-validate") {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validators/kubernetes.sh");
    let output = validator("sh").arg(script).arg(out.join("db.yaml")).arg(out.join("web.yaml")).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "kubernetes-validate:\n{said}");
}
