//! Schedules: a oneshot with `schedule` runs on it (cron, local time) while the project is up:
//! from the first `up`, which does not run it at once, until the supervisor exits. Each
//! scheduled service has one timer to its next run; a run still going when the next is due
//! is skipped, and orch's log says so. `orch start NAME` runs it now, as any oneshot.

use std::collections::HashMap;
use std::time::SystemTime;

use tokio::task::AbortHandle;

use super::core::{Msg, Supervisor};
use super::machine::Input;
use crate::state::Desired;

/// Each scheduled service's next run, and the timer that starts it.
#[derive(Debug, Default)]
pub(crate) struct Schedules {
    next: HashMap<String, (SystemTime, AbortHandle)>,
}

impl Schedules {
    pub(crate) fn next_run(&self, service: &str) -> Option<SystemTime> {
        self.next.get(service).map(|(at, _)| *at)
    }

    fn clear(&mut self) {
        for (_, (_, timer)) in self.next.drain() {
            timer.abort();
        }
    }
}

impl Drop for Schedules {
    fn drop(&mut self) {
        self.clear();
    }
}

impl Supervisor {
    /// Sets a timer to each scheduled service's next run, as the manifest now says (called when
    /// it was loaded), once an `up` asked for the project.
    pub(super) fn aim_schedules(&mut self) {
        self.schedules.clear();
        if !self.scheduling {
            return;
        }
        let scheduled: Vec<(String, String)> = self
            .spec
            .iter()
            .flat_map(|s| &s.services)
            .filter_map(|(name, s)| Some((name.clone(), s.schedule.clone()?)))
            .collect();
        for (name, schedule) in scheduled {
            self.arm(&name, &schedule);
        }
    }

    /// A timer to the next run of `schedule` after now.
    fn arm(&mut self, name: &str, schedule: &str) {
        let Some(next) = next_after(schedule, chrono::Local::now()) else { return };
        let at = SystemTime::from(next);
        let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
        let (tx, service) = (self.tx.clone(), name.to_owned());
        let timer = tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let _ = tx.send(Msg::ScheduleDue { service });
        });
        self.schedules.next.insert(name.to_owned(), (at, timer.abort_handle()));
    }

    /// A scheduled run is due: it starts, unless the last one still runs; the next is armed.
    pub(super) fn schedule_due(&mut self, name: &str) {
        let Some(schedule) = self.services.get(name).and_then(|s| s.config.schedule.clone()) else { return };
        let Some(svc) = self.services.get_mut(name) else { return };
        if svc.phase().has_process() || svc.phase().is_transient() {
            self.output.notice(name, "skipped a scheduled run: the last one is still running");
        } else {
            svc.desired = Desired::Up;
            self.output.notice(name, &format!("scheduled run ({schedule})"));
            self.drive(name, Input::StartWanted { by_policy: false });
        }
        self.arm(name, &schedule);
    }
}

/// The first time after `now` the schedule names; None for one that never comes (or does not
/// parse: the loader has refused it).
fn next_after(schedule: &str, now: chrono::DateTime<chrono::Local>) -> Option<chrono::DateTime<chrono::Local>> {
    schedule.parse::<croner::Cron>().ok()?.find_next_occurrence(&now, false).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_next_run_is_the_first_time_after_now_the_schedule_names() {
        let now = chrono::Local.with_ymd_and_hms(2026, 12, 3, 7, 31, 20).unwrap();
        let at = |s: &str| next_after(s, now).map(|t| t.format("%H:%M:%S").to_string());
        assert_eq!(at("*/5 * * * *").as_deref(), Some("07:35:00"));
        assert_eq!(at("0 9 * * *").as_deref(), Some("09:00:00"));
        assert_eq!(at("*/10 * * * * *").as_deref(), Some("07:31:30"), "six fields: seconds first");
        assert_eq!(at("not cron"), None);
    }
}
