//! Beyond one laptop: `orch probe`, `orch export` to systemd, Nomad and Kubernetes, and
//! `orch boot`.

mod probe;
