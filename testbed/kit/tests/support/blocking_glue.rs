//! The glue the shared suites (`sam_testkit::e2e`, `sam_testkit::hostile`) need from
//! a blocking adapter: no `await`, tasks are threads, and a wait given up after a delay is the
//! adapter's own timeout (which closes the socket of what it gives up).
#![allow(dead_code, unused_imports, unused_macros)]

macro_rules! aw {
    ($e:expr) => {
        $e
    };
}

macro_rules! task {
    ($($body:tt)*) => {
        move || { $($body)* }
    };
}

pub mod glue {
    use std::panic::resume_unwind;
    use std::sync::mpsc::{self, RecvTimeoutError};
    use std::sync::{MutexGuard, PoisonError};
    use std::thread::{self, JoinHandle};
    use std::time::Duration;

    use sam_blocking::{
        DatagramSocket, Error, Incoming, IncomingStreams, Received, Result, Session, Stream,
    };

    pub use std::io::{Read, Write};
    pub use std::net::TcpListener;
    pub use std::sync::Mutex;
    pub use std::thread::sleep;

    pub fn run<T>(test: impl FnOnce() -> T) -> T {
        test()
    }

    pub fn spawn<T: Send + 'static>(task: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
        thread::spawn(task)
    }

    pub fn join<T>(task: JoinHandle<T>) -> T {
        task.join().unwrap_or_else(|panic| resume_unwind(panic))
    }

    /// Fails the test instead of hanging it (the body runs on a thread left behind then).
    pub fn within<T: Send + 'static>(
        secs: u64,
        what: &str,
        body: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        let secs = sam_testkit::e2e::scaled_secs(secs);
        let (done, result) = mpsc::channel();
        let body = thread::spawn(move || {
            let _ = done.send(body());
        });
        match result.recv_timeout(Duration::from_secs(secs)) {
            Ok(value) => value,
            Err(RecvTimeoutError::Timeout) => panic!("{what} did not finish within {secs} s"),
            Err(RecvTimeoutError::Disconnected) => match body.join() {
                Err(panic) => resume_unwind(panic),
                Ok(()) => panic!("{what} ended without a result"),
            },
        }
    }

    /// The body's result, or `None` when it has not finished after `secs` (it goes on, on a
    /// thread left behind).
    pub fn give_up_after<T: Send + 'static>(
        secs: u64,
        body: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = mpsc::channel();
        let body = thread::spawn(move || {
            let _ = done.send(body());
        });
        match result.recv_timeout(Duration::from_secs(secs)) {
            Ok(value) => Some(value),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => match body.join() {
                Err(panic) => resume_unwind(panic),
                Ok(()) => panic!("the body ended without a result"),
            },
        }
    }

    /// A test that failed while holding the lock does not fail the others.
    pub fn lock(mutex: &Mutex<()>) -> MutexGuard<'_, ()> {
        mutex.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn next_incoming(incoming: &mut IncomingStreams) -> Option<Result<Incoming>> {
        incoming.next()
    }

    fn timed_out<T>(result: Result<T>) -> Option<Result<T>> {
        match result {
            Err(Error::Timeout { .. }) => None,
            other => Some(other),
        }
    }

    pub fn accept_within(session: &Session, after: Duration) -> Option<Result<Incoming>> {
        timed_out(session.accept_timeout(after))
    }

    pub fn recv_within(socket: &DatagramSocket, after: Duration) -> Option<Result<Received>> {
        timed_out(socket.recv_from_timeout(after))
    }

    pub fn read_within(
        stream: &mut Stream,
        buf: &mut [u8],
        after: Duration,
    ) -> Option<std::io::Result<usize>> {
        stream.get_ref().set_read_timeout(Some(after)).ok()?;
        let read = stream.read(buf);
        stream.get_ref().set_read_timeout(None).ok()?;
        match read {
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            other => Some(other),
        }
    }
}
