//! Processes a test starts, gone when the test ends however it ends: each is spawned in a
//! process group of its own, and dropping it kills the whole group — a server and every worker
//! or child it forked (nginx's master alone is not enough: its workers outlive it).

use std::process::{Child, Command};

/// A child process leading its own process group, killed with the group on drop.
pub struct Group(pub Child);

impl Group {
    /// Spawns `command` as the leader of a new process group.
    pub fn spawn(command: &mut Command) -> Group {
        use std::os::unix::process::CommandExt;
        let child = command
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?}: {e}"));
        Group(child)
    }

    /// Sends `signal` to the leader alone (SIGTERM for a graceful stop, say).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with a pid we spawned and have not reaped; no memory is involved.
        unsafe { libc::kill(self.0.id() as i32, signal) };
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: as above; a negative pid names the process group the child leads.
        unsafe { libc::kill(-(self.0.id() as i32), libc::SIGKILL) };
        let _ = self.0.wait();
    }
}
