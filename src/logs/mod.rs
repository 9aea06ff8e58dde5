//! Service log files under `.orch/logs/`: written by the supervisor, read by `orch logs`.
