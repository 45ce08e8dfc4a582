//! End-to-end tests against a real SAM bridge (the offline i2pd testbed): the suite shared by
//! every adapter (`sam_testkit::e2e`), run over tokio.
//!
//! They need `SAM_ADDR` (and, if the UDP port is not TCP port − 1, `SAM_UDP_ADDR`); start the
//! bridge with `./scripts/test.sh` or `testbed/testbed.sh start DIR PORT`.

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

/// What the suite needs from tokio: one static multi-thread runtime that outlives every test
/// (the shared sessions' control tasks run on it).
mod glue {
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

sam_testkit::sam_e2e_suite!(sam_tokio, glue, async);
