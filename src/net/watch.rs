//! Waiting for a file to change, under a deadline: inotify on the file and its directory
//! (a file replaced by a rename is seen too), woken by the kernel rather than by polling.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A writer that is still at it writes again within this time: a change is over once the
/// file has been quiet this long. (OpenVPN writes its status file line by line, then
/// truncates it.)
const QUIET: Duration = Duration::from_millis(20);

/// How often the file's modification time is looked at where inotify is not to be had.
const FALLBACK_TICK: Duration = Duration::from_millis(20);

/// Watches one file.
pub struct FileWatch {
    path: PathBuf,
    /// `None` when inotify could not be set up: the modification time is polled instead.
    inotify: Option<OwnedFd>,
    mtime: Option<std::time::SystemTime>,
}

fn mtime(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn add_watch(fd: &OwnedFd, path: &Path, mask: u32) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `fd` is an open inotify descriptor and `c` a NUL-terminated path that
    // outlives the call.
    let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), c.as_ptr(), mask) };
    if wd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn inotify(path: &Path) -> io::Result<OwnedFd> {
    // SAFETY: plain system call; the descriptor it returns is owned below.
    let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    add_watch(
        &fd,
        dir,
        libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_CLOSE_WRITE,
    )?;
    // The file may be missing now and appear later: the directory's watch sees that.
    let _ = add_watch(&fd, path, libc::IN_MODIFY | libc::IN_ATTRIB);
    Ok(fd)
}

/// Waits for `fd` to be readable until `until`; true when it was (the events are read).
fn wait_readable(fd: &OwnedFd, until: Instant) -> bool {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let ms = left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
        let mut slot = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd that lives across the call.
        let n = unsafe { libc::poll(&mut slot, 1, ms) };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return false;
        }
        let mut buf = [0u8; 4096];
        // SAFETY: `buf` is writable for its length; the descriptor is non-blocking.
        while unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        return true;
    }
}

impl FileWatch {
    /// Starts watching `path`: changes from now on are seen by [`FileWatch::changed`].
    pub fn new(path: &Path) -> FileWatch {
        FileWatch {
            path: path.to_path_buf(),
            inotify: inotify(path).ok(),
            mtime: mtime(path),
        }
    }

    /// Waits until the file (or its directory entry) changed and then was quiet for a
    /// moment, or until `deadline`; true when it changed.
    pub fn changed(&mut self, deadline: Instant) -> bool {
        match &self.inotify {
            Some(fd) => {
                if !wait_readable(fd, deadline) {
                    return false;
                }
                // The file may have been replaced: watch the one there now.
                let _ = add_watch(fd, &self.path, libc::IN_MODIFY | libc::IN_ATTRIB);
                while wait_readable(fd, (Instant::now() + QUIET).min(deadline)) {}
                true
            }
            None => loop {
                let now = Instant::now();
                if now >= deadline {
                    return false;
                }
                let m = mtime(&self.path);
                if m != self.mtime {
                    self.mtime = m;
                    return true;
                }
                wait_until((now + FALLBACK_TICK).min(deadline));
            },
        }
    }
}

/// Waits until `until`: the clock's one way to let time pass.
pub fn wait_until(until: Instant) {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_write_is_seen_and_silence_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status");
        std::fs::write(&path, "old\n").unwrap();
        let mut watch = FileWatch::new(&path);
        let started = Instant::now();
        assert!(!watch.changed(started + Duration::from_millis(100)));
        assert!(started.elapsed() >= Duration::from_millis(100));

        let writer = {
            let path = path.clone();
            std::thread::spawn(move || {
                wait_until(Instant::now() + Duration::from_millis(50));
                let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                f.write_all(b"new\n").unwrap();
            })
        };
        let started = Instant::now();
        assert!(watch.changed(started + Duration::from_secs(5)));
        writer.join().unwrap();

        // A file replaced by a rename.
        let tmp = dir.path().join("status.tmp");
        std::fs::write(&tmp, "newer\n").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        assert!(watch.changed(Instant::now() + Duration::from_secs(5)));
    }
}
