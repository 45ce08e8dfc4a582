//! Saving and loading private keys (blocking file I/O; async adapters run it off-thread).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::string::ToString;
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::ClientResult;
use crate::keys::PrivateKeys;

/// Writes `keys` to `path` as I2P base64 (one line), readable by the owner only (mode 0600
/// on Unix).
///
/// The file is written under a temporary name next to `path` and renamed over it, so a crash
/// never leaves half a key file and existing keys are replaced only by complete new ones.
pub fn save_keys_blocking(path: impl AsRef<Path>, keys: &PrivateKeys) -> ClientResult<()> {
    let path = path.as_ref();
    let mut text = keys.to_base64();
    text.push('\n');
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
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    Ok(written?)
}

/// Reads keys written by [`save_keys_blocking`] (or any file holding the base64 private key
/// blob; surrounding whitespace is ignored).
pub fn load_keys_blocking(path: impl AsRef<Path>) -> ClientResult<PrivateKeys> {
    let text = std::fs::read_to_string(path)?;
    Ok(PrivateKeys::from_base64(text.trim())?)
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
    use crate::client::ClientError;

    #[test]
    fn round_trip_is_0600_and_garbage_is_a_key_error() {
        let mut name = std::ffi::OsString::from("sam-proto-keyfile-test-");
        name.push(std::process::id().to_string());
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let keys =
            PrivateKeys::from_base64(include_str!("../../tests/data/priv908.txt").trim()).unwrap();
        let path = dir.join("good.keys");
        save_keys_blocking(&path, &keys).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(load_keys_blocking(&path).unwrap(), keys);
        let bad = dir.join("bad.keys");
        std::fs::write(&bad, "not base64!\n").unwrap();
        assert!(matches!(load_keys_blocking(&bad), Err(ClientError::Key(_))));
        assert!(matches!(
            load_keys_blocking(dir.join("missing")),
            Err(ClientError::Io(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
