//! Saving and loading private keys.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sam_proto::keys::PrivateKeys;

use crate::error::{Error, Result};

/// Writes `keys` to `path` as I2P base64 (one line), readable by the owner only (mode 0600
/// on Unix).
///
/// The file is written under a temporary name next to `path` and renamed over it, so a crash
/// never leaves half a key file and existing keys are replaced only by complete new ones.
pub async fn save_keys(path: impl AsRef<Path>, keys: &PrivateKeys) -> Result<()> {
    let path = path.as_ref().to_path_buf();
    let mut text = keys.to_base64();
    text.push('\n');
    run_blocking(move || write_private(&path, text.as_bytes())).await
}

/// Reads keys written by [`save_keys`] (or any file holding the base64 private key blob;
/// surrounding whitespace is ignored).
pub async fn load_keys(path: impl AsRef<Path>) -> Result<PrivateKeys> {
    let path = path.as_ref().to_path_buf();
    let text = run_blocking(move || Ok(std::fs::read_to_string(path)?)).await?;
    Ok(PrivateKeys::from_base64(text.trim())?)
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e)))?
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_name(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    Ok(written?)
}

fn temp_name(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp-");
    name.push(std::process::id().to_string());
    name.push("-");
    name.push(COUNTER.fetch_add(1, Ordering::Relaxed).to_string());
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn garbage_is_a_key_error_and_missing_file_is_io() {
        let mut name = std::ffi::OsString::from("sam-tokio-keyfile-test-");
        name.push(std::process::id().to_string());
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.keys");
        std::fs::write(&path, "not base64!\n").unwrap();
        assert!(matches!(load_keys(&path).await, Err(Error::Key(_))));
        assert!(matches!(
            load_keys(dir.join("missing")).await,
            Err(Error::Io(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
