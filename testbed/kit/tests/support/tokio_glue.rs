//! The tokio glue of the shared suites (e2e, hostile, flood): the `aw!` and `task!` macros
//! and one static multi-thread runtime that outlives every test (the sessions' control tasks
//! run on its workers while a scenario body blocks its own thread on the bridge).
#![allow(unused_macros, unused_imports, dead_code)]

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

/// What the suites need from tokio.
pub mod glue {
    use std::future::Future;
    use std::sync::OnceLock;
    use std::time::Duration;

    use sam_tokio::{DatagramSocket, Incoming, IncomingStreams, Received, Result, Session, Stream};
    use tokio::runtime::Runtime;
    use tokio::task::JoinHandle;

    pub use tokio::io::{AsyncReadExt, AsyncWriteExt};
    pub use tokio::net::TcpListener;
    pub use tokio::sync::{Mutex, MutexGuard};

    fn rt() -> &'static Runtime {
        static RT: OnceLock<Runtime> = OnceLock::new();
        RT.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .enable_all()
                .build()
                .expect("tokio runtime")
        })
    }

    pub fn run<T>(test: impl Future<Output = T>) -> T {
        rt().block_on(test)
    }

    pub fn spawn<T: Send + 'static>(
        task: impl Future<Output = T> + Send + 'static,
    ) -> JoinHandle<T> {
        tokio::spawn(task)
    }

    pub async fn join<T>(task: JoinHandle<T>) -> T {
        match task.await {
            Ok(value) => value,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("task failed: {e}"),
            },
        }
    }

    pub async fn sleep(duration: Duration) {
        tokio::time::sleep(duration).await
    }

    /// Fails the test instead of hanging it.
    pub async fn within<T>(secs: u64, what: &str, fut: impl Future<Output = T>) -> T {
        let secs = sam_testkit::e2e::scaled_secs(secs);
        match tokio::time::timeout(Duration::from_secs(secs), fut).await {
            Ok(v) => v,
            Err(_) => panic!("{what} did not finish within {secs} s"),
        }
    }

    /// The future's output, or `None` (the future dropped) when it has not finished after
    /// `secs`.
    pub async fn give_up_after<T>(secs: u64, fut: impl Future<Output = T>) -> Option<T> {
        tokio::time::timeout(Duration::from_secs(secs), fut)
            .await
            .ok()
    }

    pub async fn lock(mutex: &Mutex<()>) -> MutexGuard<'_, ()> {
        mutex.lock().await
    }

    pub async fn next_incoming(incoming: &mut IncomingStreams) -> Option<Result<Incoming>> {
        std::future::poll_fn(|cx| {
            futures_core::Stream::poll_next(std::pin::Pin::new(&mut *incoming), cx)
        })
        .await
    }

    /// The accept future is dropped (its socket closed) when the time runs out.
    pub async fn accept_within(session: &Session, after: Duration) -> Option<Result<Incoming>> {
        tokio::time::timeout(after, session.accept()).await.ok()
    }

    pub async fn recv_within(socket: &DatagramSocket, after: Duration) -> Option<Result<Received>> {
        tokio::time::timeout(after, socket.recv_from()).await.ok()
    }

    pub async fn read_within(
        stream: &mut Stream,
        buf: &mut [u8],
        after: Duration,
    ) -> Option<std::io::Result<usize>> {
        tokio::time::timeout(after, stream.read(buf)).await.ok()
    }
}
