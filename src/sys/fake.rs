//! A scriptable [`Os`] for tests: it hands out pids, keeps a process table of its own, lets a
//! test end a process (with a code or a signal) and plant an escaped one, and records every
//! signal sent, in order. SIGKILL ends what it reaches, as the kernel's does; any other signal
//! is only recorded (the test says when, and how, a process ends).

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::net::unix::pipe::Receiver;
use tokio::sync::{oneshot, watch};

use super::{GroupWaker, Os, OsFuture, PROJECT_VAR, SERVICE_VAR, Signal, SpawnRequest, Spawned, Usage};
use crate::model::{Identity, Pid, ProcessExit};

/// A signal the fake was asked to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    Group(Pid, Signal),
    Process(Pid, Signal),
}

pub(crate) struct Fake {
    table: Arc<Mutex<Table>>,
    /// Bumped at every exit: what `group_waker` and `wait_not_child` wait on.
    exits: watch::Sender<u64>,
}

#[derive(Default)]
struct Table {
    next_pid: i32,
    procs: HashMap<Pid, Proc>,
    /// Exit receivers of processes that still run.
    watchers: HashMap<Pid, oneshot::Sender<ProcessExit>>,
    /// Exits of processes nobody watched yet.
    unclaimed: HashMap<Pid, ProcessExit>,
    sent: Vec<Sent>,
}

struct Proc {
    pgid: Pid,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    alive: bool,
    /// Planted by `escape`: what the supervisor's search for escaped processes finds.
    escaped: bool,
}

impl Proc {
    fn marker(&self, var: &str) -> Option<&str> {
        self.env.iter().find(|(k, _)| k == var).map(|(_, v)| v.as_str())
    }
}

const FAKE_BOOT: &str = "fake-boot";
const FIRST_PID: i32 = 1000;
const OWN_PID: i32 = 1;

impl Fake {
    pub(crate) fn new() -> Arc<Self> {
        let table = Table { next_pid: FIRST_PID, ..Table::default() };
        Arc::new(Self { table: Arc::new(Mutex::new(table)), exits: watch::Sender::new(0) })
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        lock(&self.table)
    }

    /// Every signal sent so far, in order.
    pub(crate) fn sent(&self) -> Vec<Sent> {
        self.table().sent.clone()
    }

    /// The command lines spawned so far, with their pids, in order.
    pub(crate) fn spawned(&self) -> Vec<(Pid, Vec<String>)> {
        let table = self.table();
        let mut all: Vec<(Pid, Vec<String>)> = table.procs.iter().map(|(pid, p)| (*pid, p.argv.clone())).collect();
        all.sort_by_key(|(pid, _)| *pid);
        all
    }

    /// Ends a process as the kernel would: it leaves its group, and whoever watches it is told.
    pub(crate) fn exit(&self, pid: Pid, exit: ProcessExit) {
        let mut table = self.table();
        end(&mut table, pid, exit);
        drop(table);
        self.exits.send_modify(|n| *n += 1);
    }

    /// Plants a process of `service` that left its group (setsid and a double fork): it leads
    /// a group of its own, and carries the service's marker.
    pub(crate) fn escape(&self, project: &str, service: &str) -> Pid {
        let env = vec![(PROJECT_VAR.to_owned(), project.to_owned()), (SERVICE_VAR.to_owned(), service.to_owned())];
        let mut table = self.table();
        let pid = new_proc(&mut table, vec!["escaped".to_owned()], env);
        if let Some(proc) = table.procs.get_mut(&pid) {
            proc.escaped = true;
        }
        pid
    }

    /// Adds a process to a group (a child the leader forked), and returns its pid.
    pub(crate) fn fork_into(&self, pgid: Pid) -> Pid {
        let mut table = self.table();
        let pid = new_proc(&mut table, vec!["forked".to_owned()], Vec::new());
        if let Some(proc) = table.procs.get_mut(&pid) {
            proc.pgid = pgid;
        }
        pid
    }

    fn alive(&self, pid: Pid) -> bool {
        alive_in(&self.table, pid)
    }

    /// Records a signal, and carries out a SIGKILL on every live process it reaches.
    fn send(&self, sent: Sent) {
        let mut table = self.table();
        table.sent.push(sent);
        let (reached, signal): (Vec<Pid>, Signal) = match sent {
            Sent::Group(pgid, signal) => {
                (table.procs.iter().filter(|(_, p)| p.alive && p.pgid == pgid).map(|(pid, _)| *pid).collect(), signal)
            }
            Sent::Process(pid, signal) => (vec![pid], signal),
        };
        if signal != Signal::SIGKILL {
            return;
        }
        let mut any = false;
        for pid in reached {
            any |= end(&mut table, pid, ProcessExit::Signal(Signal::SIGKILL as i32));
        }
        drop(table);
        if any {
            self.exits.send_modify(|n| *n += 1);
        }
    }
}

fn lock(table: &Mutex<Table>) -> MutexGuard<'_, Table> {
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

fn alive_in(table: &Mutex<Table>, pid: Pid) -> bool {
    lock(table).procs.get(&pid).is_some_and(|p| p.alive)
}

fn new_proc(table: &mut Table, argv: Vec<String>, env: Vec<(String, String)>) -> Pid {
    let pid = Pid::new(table.next_pid).expect("the fake's pids are positive");
    table.next_pid += 1;
    table.procs.insert(pid, Proc { pgid: pid, argv, env, alive: true, escaped: false });
    pid
}

/// Ends a live process; false when it was not one.
fn end(table: &mut Table, pid: Pid, exit: ProcessExit) -> bool {
    let Some(proc) = table.procs.get_mut(&pid).filter(|p| p.alive) else { return false };
    proc.alive = false;
    match table.watchers.remove(&pid) {
        Some(tx) => drop(tx.send(exit)),
        None => drop(table.unclaimed.insert(pid, exit)),
    }
    true
}

fn identity(pid: Pid) -> Identity {
    Identity { pid, start_time: u64::try_from(pid.get()).unwrap_or_default(), boot_id: FAKE_BOOT.to_owned() }
}

/// Wakes at every exit the fake plays.
struct Waker(watch::Receiver<u64>);

impl GroupWaker for Waker {
    fn changed(&mut self) -> OsFuture<'_> {
        Box::pin(async move {
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

impl Os for Fake {
    fn spawn(&self, request: &SpawnRequest) -> io::Result<Spawned> {
        if request.argv.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
        }
        let pid = new_proc(&mut self.table(), request.argv.to_vec(), request.env.to_vec());
        Ok(Spawned { identity: identity(pid), stdout: None, stderr: None })
    }

    fn watch_exit(&self, pid: Pid) -> oneshot::Receiver<ProcessExit> {
        let (tx, rx) = oneshot::channel();
        let mut table = self.table();
        match table.unclaimed.remove(&pid) {
            Some(exit) => drop(tx.send(exit)),
            None => drop(table.watchers.insert(pid, tx)),
        }
        rx
    }

    fn wait_not_child(&self, identity: &Identity) -> OsFuture<'static> {
        let (pid, table, mut exits) = (identity.pid, self.table.clone(), self.exits.subscribe());
        Box::pin(async move {
            while alive_in(&table, pid) {
                if exits.changed().await.is_err() {
                    return;
                }
            }
        })
    }

    fn group_waker(&self, _pgid: Pid) -> Box<dyn GroupWaker> {
        let mut rx = self.exits.subscribe();
        rx.mark_unchanged();
        Box::new(Waker(rx))
    }

    fn signal_group(&self, pgid: Pid, signal: Signal) -> io::Result<()> {
        self.send(Sent::Group(pgid, signal));
        Ok(())
    }

    fn signal_process(&self, pid: Pid, signal: Signal) {
        self.send(Sent::Process(pid, signal));
    }

    fn group_alive(&self, pgid: Pid) -> bool {
        self.table().procs.values().any(|p| p.alive && p.pgid == pgid)
    }

    fn group_has_live_member(&self, pgid: Pid) -> bool {
        self.group_alive(pgid)
    }

    fn group_of(&self, pid: Pid) -> Option<Pid> {
        self.table().procs.get(&pid).filter(|p| p.alive).map(|p| p.pgid)
    }

    fn identity_of(&self, pid: Pid) -> Option<Identity> {
        self.alive(pid).then(|| identity(pid))
    }

    fn foreign_owner(&self, _pid: Pid) -> Option<String> {
        None
    }

    fn own_pid(&self) -> Pid {
        Pid::new(OWN_PID).expect("1 is a pid")
    }

    fn escaped(&self, project: &str, service: &str, pgid: Pid, leaders: &HashSet<Pid>) -> Vec<Pid> {
        let table = self.table();
        let mut out: Vec<Pid> = table
            .procs
            .iter()
            .filter(|(pid, p)| p.alive && p.pgid != pgid && !leaders.contains(pid))
            .filter(|(_, p)| p.marker(PROJECT_VAR) == Some(project) && p.marker(SERVICE_VAR) == Some(service))
            .filter(|(_, p)| p.escaped)
            .map(|(pid, _)| *pid)
            .collect();
        out.sort();
        out
    }

    fn marked(&self, project: &str) -> Vec<(Pid, String)> {
        let table = self.table();
        let mut out: Vec<(Pid, String)> = table
            .procs
            .iter()
            .filter(|(_, p)| p.alive && p.marker(PROJECT_VAR) == Some(project))
            .filter_map(|(pid, p)| Some((*pid, p.marker(SERVICE_VAR)?.to_owned())))
            .collect();
        out.sort();
        out
    }

    fn group_usage(&self, pgids: &[Pid]) -> HashMap<Pid, Usage> {
        pgids.iter().filter(|g| self.group_alive(**g)).map(|g| (*g, Usage::default())).collect()
    }

    fn reopen_output(&self, _pid: Pid) -> Vec<(i32, Receiver)> {
        Vec::new()
    }

    fn fd_limit(&self) -> u64 {
        1024
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spawn(fake: &Fake, env: &[(String, String)]) -> Pid {
        let argv = ["sleep".to_owned(), "100".to_owned()];
        let root = std::path::Path::new("/");
        let request = SpawnRequest { program: root, argv: &argv, cwd: root, env, capture: true };
        fake.spawn(&request).expect("the fake spawns").identity.pid
    }

    #[tokio::test]
    async fn each_spawn_gets_a_pid_of_its_own_and_leads_its_group() {
        let fake = Fake::new();
        let (a, b) = (spawn(&fake, &[]), spawn(&fake, &[]));
        assert_ne!(a, b);
        assert_eq!(fake.group_of(a), Some(a));
        assert!(fake.is_alive(&fake.identity_of(b).expect("b runs")));
        assert_eq!(fake.spawned().len(), 2);
    }

    #[tokio::test]
    async fn a_scripted_exit_reaches_its_watcher_even_one_that_comes_late() {
        let fake = Fake::new();
        let (a, b) = (spawn(&fake, &[]), spawn(&fake, &[]));
        let watching = fake.watch_exit(a);
        fake.exit(a, ProcessExit::Code(3));
        fake.exit(b, ProcessExit::Signal(15));
        assert_eq!(watching.await.ok(), Some(ProcessExit::Code(3)));
        assert_eq!(fake.watch_exit(b).await.ok(), Some(ProcessExit::Signal(15)), "watched after its exit");
        assert!(!fake.group_alive(a) && fake.identity_of(a).is_none());
    }

    #[tokio::test]
    async fn signals_are_recorded_in_order_and_only_sigkill_ends_a_process() {
        let fake = Fake::new();
        let leader = spawn(&fake, &[]);
        let child = fake.fork_into(leader);
        fake.signal_group(leader, Signal::SIGTERM).unwrap();
        assert!(fake.group_alive(leader), "SIGTERM is only recorded");
        let mut waker = fake.group_waker(leader);
        fake.signal_group(leader, Signal::SIGKILL).unwrap();
        waker.changed().await;
        assert!(!fake.group_alive(leader) && fake.group_of(child).is_none());
        fake.signal_process(child, Signal::SIGKILL);
        let sent = [
            Sent::Group(leader, Signal::SIGTERM),
            Sent::Group(leader, Signal::SIGKILL),
            Sent::Process(child, Signal::SIGKILL),
        ];
        assert_eq!(fake.sent(), sent);
    }

    #[tokio::test]
    async fn an_escaped_process_is_found_by_its_marker_and_an_adopted_one_is_waited_on() {
        let fake = Fake::new();
        let env = [(PROJECT_VAR.to_owned(), "/p".to_owned()), (SERVICE_VAR.to_owned(), "web".to_owned())];
        let leader = spawn(&fake, &env);
        let escaped = fake.escape("/p", "web");
        assert_eq!(fake.escaped("/p", "web", leader, &HashSet::from([leader])), [escaped]);
        assert!(fake.escaped("/p", "db", leader, &HashSet::new()).is_empty());
        assert_eq!(fake.marked("/p"), [(leader, "web".to_owned()), (escaped, "web".to_owned())]);
        let ended = fake.wait_not_child(&identity(escaped));
        fake.exit(escaped, ProcessExit::Unknown);
        ended.await;
        assert!(fake.escaped("/p", "web", leader, &HashSet::new()).is_empty());
    }
}
