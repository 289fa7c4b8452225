//! One way out of the process: whatever happens, the monitoring engine gets exit 0–3 and a
//! status line when one can be written. A panic becomes UNKNOWN through a hook; the signals
//! an engine sends when its own timeout fires (SIGTERM, SIGALRM, SIGINT, SIGHUP) and the
//! SIGABRT of a failed allocation end the check as UNKNOWN with a line saying so.

use std::io::Write;

/// Exit code for UNKNOWN.
const UNKNOWN: i32 = 3;

pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic");
        let place = info
            .location()
            .map(|l| format!(" (at {}:{})", l.file(), l.line()))
            .unwrap_or_default();
        // One line: the engine shows only the first.
        let message = message.replace('\n', " ");
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "OPENVPN UNKNOWN - internal error: {message}{place}");
        let _ = out.flush();
        std::process::exit(UNKNOWN);
    }));
    signals::install();
}

/// Debug builds only: `CHECK_OPENVPN_SELF_TEST=panic|abort` makes the process fail that
/// way on purpose, so tests can prove the exit path. Release builds have no such switch.
#[cfg(debug_assertions)]
pub fn self_test() {
    match std::env::var("CHECK_OPENVPN_SELF_TEST").as_deref() {
        Ok("panic") => panic!("self-test panic"),
        Ok("abort") => std::alloc::handle_alloc_error(std::alloc::Layout::new::<[u8; 1 << 20]>()),
        _ => {}
    }
}

#[cfg(unix)]
mod signals {
    use std::ffi::{c_int, c_void};

    // The C library std already links against; only async-signal-safe calls are used
    // inside the handler (write and _exit).
    extern "C" {
        fn signal(signum: c_int, handler: usize) -> usize;
        fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
        fn _exit(status: c_int) -> !;
    }

    const SIGHUP: c_int = 1;
    const SIGINT: c_int = 2;
    const SIGABRT: c_int = 6;
    const SIGALRM: c_int = 14;
    const SIGTERM: c_int = 15;

    fn message(signum: c_int) -> &'static [u8] {
        match signum {
            SIGTERM => b"OPENVPN UNKNOWN - check cut off by SIGTERM before it finished (is the engine's timeout shorter than --timeout x --retrycount?)\n",
            SIGALRM => b"OPENVPN UNKNOWN - check cut off by SIGALRM before it finished (is the engine's timeout shorter than --timeout x --retrycount?)\n",
            SIGINT => b"OPENVPN UNKNOWN - check interrupted (SIGINT)\n",
            SIGHUP => b"OPENVPN UNKNOWN - check cut off by SIGHUP\n",
            SIGABRT => b"OPENVPN UNKNOWN - check aborted (SIGABRT), e.g. out of memory\n",
            _ => b"OPENVPN UNKNOWN - check cut off by a signal\n",
        }
    }

    extern "C" fn on_signal(signum: c_int) {
        let text = message(signum);
        // SAFETY: write(2) and _exit(2) are async-signal-safe; `text` is static.
        unsafe {
            let _ = write(1, text.as_ptr().cast(), text.len());
            _exit(super::UNKNOWN);
        }
    }

    pub fn install() {
        let handler = on_signal as extern "C" fn(c_int) as usize;
        for signum in [SIGTERM, SIGALRM, SIGINT, SIGHUP, SIGABRT] {
            // SAFETY: installs a handler that only calls async-signal-safe functions.
            unsafe {
                signal(signum, handler);
            }
        }
    }
}

#[cfg(not(unix))]
mod signals {
    pub fn install() {}
}
