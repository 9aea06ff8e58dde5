//! systemd's `Type=notify` readiness: a service with `ready = { notify = true }` gets
//! `NOTIFY_SOCKET`, a Unix datagram socket of its own (0600, in the project's 0700 runtime
//! folder), and is ready when it sends `READY=1`. `STATUS=…` is kept for `orch ps`.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tokio::net::UnixDatagram;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;

use super::core::Msg;

/// The socket of one service: short and fixed in length whatever the service's name, so the
/// path stays under the 108-byte limit.
pub(super) fn socket_path(runtime_dir: &Path, service: &str) -> PathBuf {
    let hash = crate::hash::fnv1a_hex(service.as_bytes());
    runtime_dir.join(format!("notify-{}.sock", &hash[..12]))
}

/// Binds the socket (replacing a stale one) and forwards every line of every message.
pub(super) fn listen(path: &Path, service: &str, tx: UnboundedSender<Msg>) -> io::Result<AbortHandle> {
    crate::safe_fs::remove_stale(path)?;
    let socket = UnixDatagram::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let service = service.to_owned();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok(n) = socket.recv(&mut buf).await {
            let text = String::from_utf8_lossy(&buf[..n]);
            for line in text.lines().filter(|l| !l.is_empty()) {
                let _ = tx.send(Msg::Notify { service: service.clone(), line: line.to_owned() });
            }
        }
    });
    Ok(task.abort_handle())
}
