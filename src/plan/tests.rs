use std::path::PathBuf;

use indexmap::IndexMap;
use proptest::prelude::*;

use super::*;
use crate::manifest::{CommandLine, Condition, Dependency};

fn service(cmd: &str, env: &[(&str, &str)], deps: &[(&str, bool)]) -> Service {
    Service {
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        depends_on: deps
            .iter()
            .map(|(d, restart)| (d.to_string(), Dependency { condition: Condition::Ready, restart: *restart }))
            .collect(),
        ..Service::new(CommandLine::Shell(cmd.into()), PathBuf::from("/p"))
    }
}

fn graph_of(services: &IndexMap<String, Service>) -> Graph {
    Graph::new(services.iter().map(|(n, s)| (n.as_str(), s.depends_on.keys().map(String::as_str)))).expect("a DAG")
}

fn running(config: &Service) -> Observed {
    Observed { config: Some(config.clone()), up: true }
}

fn summary(plan: &Plan) -> Vec<String> {
    plan.steps.iter().map(|s| format!("{} {} {}", s.action.mark(), s.service, s.reason)).collect()
}

#[test]
fn new_changed_removed_and_unchanged() {
    let db = service("postgres", &[("PGPORT", "5432")], &[]);
    let web = service("serve", &[("PORT", "8080")], &[("db", false)]);
    let desired: IndexMap<String, Service> = [
        ("db".to_string(), db.clone()),
        ("web".to_string(), service("serve", &[("PORT", "9090")], &[("db", false)])),
        ("api".to_string(), service("api", &[], &[])),
    ]
    .into();
    let observed: IndexMap<String, Observed> =
        [("db".to_string(), running(&db)), ("web".to_string(), running(&web)), ("old".to_string(), running(&db))]
            .into();
    let plan = plan(&desired, &graph_of(&desired), &observed, &Force::Nothing);
    assert_eq!(
        summary(&plan),
        ["- old removed", "= db unchanged", "+ api new", "~ web env PORT changed"],
        "removed first, then in start order (db and api are level 0)"
    );
}

#[test]
fn a_dependency_change_alone_restarts_nothing() {
    let old = service("serve", &[], &[("db", false)]);
    let new = service("serve", &[], &[("db", true), ("cache", false)]);
    assert!(changes(&old, &new).is_empty());
}

#[test]
fn every_field_that_shapes_the_process_is_a_change() {
    let base = service("a", &[("X", "1")], &[]);
    let mut other = base.clone();
    other.cmd = CommandLine::Argv(vec!["a".into()]);
    other.stop_timeout = crate::manifest::HumanDuration::from_secs(1);
    other.env.insert("Y".into(), "2".into());
    other.env.shift_remove("X");
    assert_eq!(changes(&base, &other), ["cmd changed", "stop_timeout changed", "env Y added", "env X removed"]);
}

#[test]
fn restarts_cascade_only_along_restart_edges() {
    let db = service("postgres", &[], &[]);
    let web = service("serve", &[], &[("db", true)]);
    let worker = service("work", &[], &[("web", true)]);
    let docs = service("docs", &[], &[("db", false)]);
    let mut desired: IndexMap<String, Service> = [
        ("db".to_string(), db.clone()),
        ("web".to_string(), web.clone()),
        ("worker".to_string(), worker.clone()),
        ("docs".to_string(), docs.clone()),
    ]
    .into();
    let observed: IndexMap<String, Observed> = desired.iter().map(|(n, s)| (n.clone(), running(s))).collect();
    desired["db"].env.insert("NEW".into(), "1".into());
    let plan = plan(&desired, &graph_of(&desired), &observed, &Force::Nothing);
    assert_eq!(
        summary(&plan),
        ["~ db env NEW added", "~ web db restarts", "= docs unchanged", "~ worker web restarts"]
    );
}

#[test]
fn forced_not_running_and_unrecorded() {
    let a = service("a", &[], &[]);
    let desired: IndexMap<String, Service> =
        [("a".to_string(), a.clone()), ("b".to_string(), a.clone()), ("c".to_string(), a.clone())].into();
    let observed: IndexMap<String, Observed> = [
        ("a".to_string(), running(&a)),
        ("b".to_string(), Observed { config: Some(a.clone()), up: false }),
        ("c".to_string(), Observed { config: None, up: true }),
    ]
    .into();
    let forced = plan(&desired, &graph_of(&desired), &observed, &Force::These(vec!["a".into()]));
    assert_eq!(summary(&forced), ["~ a forced", "+ b not running", "~ c configuration not recorded"]);
}

/// Applies a plan to what is observed: what it starts or restarts then runs its desired
/// configuration; what it stops is gone.
fn apply(plan: &Plan, desired: &IndexMap<String, Service>, observed: &mut IndexMap<String, Observed>) {
    for step in &plan.steps {
        match step.action {
            Action::Keep => {}
            Action::Stop => {
                observed.shift_remove(&step.service);
            }
            Action::Start | Action::Restart => {
                observed.insert(step.service.clone(), running(&desired[&step.service]));
            }
        }
    }
}

const NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

/// A random configuration: a few commands and env values, so that equal ones happen.
fn arb_service(index: usize) -> impl Strategy<Value = Service> {
    (
        0..3usize,
        prop::collection::vec((0..3usize, 0..3usize), 0..3),
        prop::collection::vec((0..6usize, any::<bool>()), 0..3),
    )
        .prop_map(move |(cmd, env, deps)| {
            let env: Vec<(String, String)> = env.iter().map(|(k, v)| (format!("K{k}"), format!("v{v}"))).collect();
            // Only edges to earlier names, so the graph is a DAG.
            let deps: Vec<(String, bool)> =
                deps.iter().filter(|(d, _)| *d < index).map(|(d, r)| (NAMES[*d].to_string(), *r)).collect();
            let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let dep_refs: Vec<(&str, bool)> = deps.iter().map(|(d, r)| (d.as_str(), *r)).collect();
            service(&format!("cmd{cmd}"), &env_refs, &dep_refs)
        })
}

fn arb_services() -> impl Strategy<Value = IndexMap<String, Service>> {
    let per_name: Vec<_> = (0..NAMES.len()).map(|i| prop::option::of(arb_service(i))).collect();
    per_name.prop_map(|maybe| {
        let present: Vec<(String, Service)> =
            maybe.into_iter().enumerate().filter_map(|(i, s)| s.map(|s| (NAMES[i].to_string(), s))).collect();
        let names: Vec<String> = present.iter().map(|(n, _)| n.clone()).collect();
        present
            .into_iter()
            .map(|(n, mut s)| {
                s.depends_on.retain(|d, _| names.contains(d));
                (n, s)
            })
            .collect()
    })
}

fn arb_observed() -> impl Strategy<Value = IndexMap<String, Observed>> {
    (arb_services(), prop::collection::vec(any::<bool>(), NAMES.len())).prop_map(|(services, up)| {
        services.into_iter().enumerate().map(|(i, (n, s))| (n, Observed { config: Some(s), up: up[i] })).collect()
    })
}

proptest! {
    #[test]
    fn applying_a_plan_then_planning_again_changes_nothing(desired in arb_services(), mut observed in arb_observed(), forced in any::<bool>()) {
        let graph = graph_of(&desired);
        let force = if forced { Force::All } else { Force::Nothing };
        let first = plan(&desired, &graph, &observed, &force);
        apply(&first, &desired, &mut observed);
        let second = plan(&desired, &graph, &observed, &Force::Nothing);
        prop_assert!(second.is_empty(), "{:?}", summary(&second));
    }

    #[test]
    fn every_desired_service_has_one_step_in_start_order(desired in arb_services(), observed in arb_observed()) {
        let graph = graph_of(&desired);
        let plan = plan(&desired, &graph, &observed, &Force::Nothing);
        let planned: Vec<&str> = plan.steps.iter().filter(|s| s.action != Action::Stop).map(|s| s.service.as_str()).collect();
        let order = graph.start_order();
        prop_assert_eq!(planned, order.iter().map(String::as_str).collect::<Vec<_>>());
        for step in plan.steps.iter().filter(|s| s.action == Action::Stop) {
            prop_assert!(!desired.contains_key(&step.service));
        }
    }
}
