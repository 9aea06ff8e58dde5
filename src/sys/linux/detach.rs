//! Starting a process that outlives the one that starts it: the supervisor, launched by a
//! client.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes `cmd` start in a session of its own (no terminal, no job control of the client's) and
/// close at its exec whatever the client inherited without close-on-exec (a terminal's pipe, a
/// test harness's descriptors): that is not the supervisor's, nor its services'.
pub(crate) fn detach(cmd: &mut Command) {
    // SAFETY: setsid and close_range are async-signal-safe system calls and touch no memory
    // of the parent.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(io::Error::from)?;
            // Best effort: kernels before 5.11 lack close_range.
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
            Ok(())
        });
    }
}
