//! Saving and loading private keys (the file work itself is shared by every adapter and runs
//! on tokio's blocking pool here).

use std::path::Path;

use sam_proto::client::{load_keys_blocking, save_keys_blocking};
use sam_proto::keys::PrivateKeys;

use crate::{Error, Result};

/// Writes `keys` to `path` as I2P base64 (one line), readable by the owner only (mode 0600
/// on Unix), atomically (temporary file, then rename).
pub async fn save_keys(path: impl AsRef<Path>, keys: &PrivateKeys) -> Result<()> {
    let (path, keys) = (path.as_ref().to_path_buf(), keys.clone());
    run_blocking(move || save_keys_blocking(path, &keys)).await
}

/// Reads keys written by [`save_keys`] (or any file holding the base64 private key blob;
/// surrounding whitespace is ignored).
pub async fn load_keys(path: impl AsRef<Path>) -> Result<PrivateKeys> {
    let path = path.as_ref().to_path_buf();
    run_blocking(move || load_keys_blocking(path)).await
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e)))?
}
