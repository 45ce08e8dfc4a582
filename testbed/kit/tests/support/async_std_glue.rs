//! The async-std glue of the shared suites (`sam_testkit::e2e`, `sam_testkit::hostile`):
//! the `aw!` and `task!` macros and the `glue` items, included by `tests/e2e_async_std.rs` and
//! `tests/hostile_async_std.rs` with `#[macro_use]`.
#![allow(dead_code, unused_imports)]

macro_rules! aw {
    ($e:expr) => {
        $e.await
    };
}

macro_rules! task {
    ($($body:tt)*) => {
        async move { $($body)* }
    };
}

/// What the suites need from async-std. Each test runs in its own `block_on`; the shared
/// sessions outlive them because their control tasks are not tied to any executor.
pub mod glue {
    use std::future::Future;
    use std::panic::AssertUnwindSafe;
    use std::time::Duration;

    use async_std::future::timeout;
    use async_std::task::JoinHandle;
    use futures_lite::{FutureExt, StreamExt};
    use sam_async_std::{
        DatagramSocket, Incoming, IncomingStreams, Received, Result, Session, Stream,
    };

    /// async-net's listener: its `accept` gives the socket type `read_forwarded` takes.
    pub use async_net::TcpListener;
    pub use async_std::sync::{Mutex, MutexGuard};
    pub use futures_lite::io::{AsyncReadExt, AsyncWriteExt};

    pub fn run<T>(test: impl Future<Output = T>) -> T {
        async_std::task::block_on(test)
    }

    /// The task's panic is caught there and raised again by [`join`].
    pub fn spawn<T: Send + 'static>(
        task: impl Future<Output = T> + Send + 'static,
    ) -> JoinHandle<std::thread::Result<T>> {
        async_std::task::spawn(AssertUnwindSafe(task).catch_unwind())
    }

    pub async fn join<T>(task: JoinHandle<std::thread::Result<T>>) -> T {
        task.await
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    pub async fn sleep(duration: Duration) {
        async_std::task::sleep(duration).await
    }

    /// Fails the test instead of hanging it.
    pub async fn within<T>(secs: u64, what: &str, fut: impl Future<Output = T>) -> T {
        let secs = sam_testkit::e2e::scaled_secs(secs);
        let limit = Duration::from_secs(secs);
        timeout(limit, fut)
            .await
            .unwrap_or_else(|_| panic!("{what} did not finish within {secs} s"))
    }

    /// The future's output, or `None` (the future dropped) when it has not finished after
    /// `secs`.
    pub async fn give_up_after<T>(secs: u64, fut: impl Future<Output = T>) -> Option<T> {
        timeout(Duration::from_secs(secs), fut).await.ok()
    }

    pub async fn lock(mutex: &Mutex<()>) -> MutexGuard<'_, ()> {
        mutex.lock().await
    }

    pub async fn next_incoming(incoming: &mut IncomingStreams) -> Option<Result<Incoming>> {
        incoming.next().await
    }

    /// The accept future is dropped (its socket closed) when the time runs out.
    pub async fn accept_within(session: &Session, after: Duration) -> Option<Result<Incoming>> {
        timeout(after, session.accept()).await.ok()
    }

    pub async fn recv_within(socket: &DatagramSocket, after: Duration) -> Option<Result<Received>> {
        timeout(after, socket.recv_from()).await.ok()
    }

    pub async fn read_within(
        stream: &mut Stream,
        buf: &mut [u8],
        after: Duration,
    ) -> Option<std::io::Result<usize>> {
        timeout(after, stream.read(buf)).await.ok()
    }
}
