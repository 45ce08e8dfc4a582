//! The tokio glue of the shared suites: the `aw!` and `task!` macros and one static
//! multi-thread runtime (the sessions' control tasks run on its workers while a scenario body
//! blocks its own thread on the bridge).
#![allow(unused_macros, unused_imports)]

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

/// What the suite needs from tokio: one static multi-thread runtime (the sessions' control
/// tasks run on its workers while a scenario body blocks its own thread on the bridge).
pub mod glue {
    use std::future::Future;
    use std::sync::OnceLock;

    use tokio::runtime::Runtime;

    pub use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
}
