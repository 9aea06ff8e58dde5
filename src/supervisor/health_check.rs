//! Health checks while a service runs (`healthcheck`): after its `start_period`, one try of
//! its check every `interval` (the readiness checks' tcp, http or exec: no process for tcp
//! and http), told to the supervisor; `retries` failures in a row make it `unhealthy`, with
//! the last failure as its reason, and restart it unless its `restart` is "no" (an unhealthy
//! service has failed, for `on-failure`). A timer per service sleeps in between: a hundred
//! checked services leave the supervisor idle between their checks.

use tokio::time::sleep;

use super::core::{Msg, Supervisor};
use super::machine::Input;
use super::probe::{self, ProbeContext};
use crate::manifest::RestartPolicy;

impl Supervisor {
    /// The current process is up: its health checks begin.
    pub(super) fn start_health_checks(&mut self, name: &str) {
        let (os, tx) = (self.os.clone(), self.tx.clone());
        let Some(svc) = self.services.get_mut(name) else { return };
        // (Once a process: an adopted service may be confirmed after it was adopted.)
        let Some(health) = svc.config.healthcheck.clone().filter(|_| svc.health.is_none()) else { return };
        svc.health = Some(super::service::HealthState::default());
        let check = health.check();
        let ctx = ProbeContext {
            cwd: svc.config.cwd.clone(),
            env: svc.config.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            os,
            http: matches!(check, crate::manifest::Ready::Http(_)).then(probe::http_client),
        };
        let (service, generation) = (name.to_owned(), svc.generation);
        let task = tokio::spawn(async move {
            sleep(health.start_period.0).await;
            loop {
                sleep(health.interval.0).await;
                let result = probe::attempt(&check, &ctx).await;
                if tx.send(Msg::Health { service: service.clone(), generation, result }).is_err() {
                    return;
                }
            }
        });
        svc.tasks.push(task.abort_handle());
    }

    /// One check's result for the current process.
    pub(super) fn health_result(&mut self, name: &str, generation: u64, result: Result<(), String>) {
        let Some(svc) = self.current_mut(name, generation) else { return };
        let (Some(state), Some(config)) = (svc.health.as_mut(), svc.config.healthcheck.as_ref()) else { return };
        let failure = match result {
            Ok(()) => {
                let was_unhealthy = state.unhealthy.take().is_some();
                state.failures = 0;
                state.checked = true;
                if was_unhealthy {
                    self.output.notice(name, "healthy again");
                }
                return;
            }
            Err(saw) => saw,
        };
        state.failures += 1;
        state.checked = true;
        if state.failures < config.retries || state.unhealthy.is_some() {
            return;
        }
        let reason = format!("health check failed {} times in a row: {}: {failure}", state.failures, config.check());
        state.unhealthy = Some(reason.clone());
        let restart = svc.config.restart != RestartPolicy::No;
        self.output.notice(name, &format!("unhealthy ({reason}){}", if restart { "; restarting" } else { "" }));
        if restart {
            self.drive(name, Input::RestartWanted { by_policy: true });
        }
    }
}
