//! Panics in request handlers: a hook that logs each panic's message and
//! location (with `tracing`) and keeps them for the request that caught
//! it, so the answer is a logged 500 and never a silent one.

use std::any::Any;
use std::cell::RefCell;
use std::sync::Once;

/// A panic as the hook saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanicReport {
    /// The panic's message (`"(no message)"` when it carried none).
    pub message: String,
    /// `file:line:column`, when known.
    pub location: Option<String>,
}

thread_local! {
    static LAST: RefCell<Option<PanicReport>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// The message a panic payload carries.
pub fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Installs (once per process) the panic hook: every panic is logged at
/// error level with its message, location and thread, and remembered on
/// its thread for [`take_last`]. It replaces any hook installed before.
pub fn install_hook() {
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let report = PanicReport {
                message: payload_message(info.payload()),
                location: info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())),
            };
            tracing::error!(
                panic.message = %report.message,
                panic.location = report.location.as_deref().unwrap_or("unknown"),
                thread = std::thread::current().name().unwrap_or("unnamed"),
                "panic"
            );
            LAST.with(|l| *l.borrow_mut() = Some(report));
        }));
    });
}

/// The report of the last panic on this thread (taken: a second call gives
/// `None`), or, when the hook did not see it, one made from the payload.
pub fn take_last(payload: &(dyn Any + Send)) -> PanicReport {
    LAST.with(|l| l.borrow_mut().take())
        .unwrap_or_else(|| PanicReport {
            message: payload_message(payload),
            location: None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_caught_panic_is_logged_with_its_message_and_location() {
        install_hook();
        let buf = Buf::default();
        let b2 = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_writer(move || b2.clone())
            .with_ansi(false)
            .finish();
        let payload = tracing::subscriber::with_default(sub, || {
            std::panic::catch_unwind(|| panic!("forced panic {}", 42)).unwrap_err()
        });
        let r = take_last(payload.as_ref());
        assert_eq!(r.message, "forced panic 42");
        let loc = r.location.unwrap();
        assert!(loc.starts_with("crates/server/src/panics.rs:"), "{loc}");
        let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(log.contains("ERROR"), "{log}");
        assert!(log.contains("forced panic 42"), "{log}");
        assert!(log.contains("panics.rs:"), "{log}");
        // Taken: the next request does not see this panic.
        assert_eq!(take_last(&"other").message, "other");
    }
}
