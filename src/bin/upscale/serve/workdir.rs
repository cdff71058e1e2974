//! The server's private work folder: `upscale-serve-*` under the temporary folder, mode 0700,
//! holding a lock file that the server keeps locked for its whole life. At start, the folders
//! of earlier runs of this user whose lock nobody holds (a server that crashed or was killed)
//! are removed; a live server's folder is never touched, since its lock is held.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The folders' name prefix.
pub const PREFIX: &str = "upscale-serve-";
/// The lock file in each folder.
const LOCK: &str = ".lock";
/// A folder without a lock file younger than this may be a server still starting: left alone.
const STARTING: Duration = Duration::from_secs(60);

/// This run's folder (removed when dropped) and its held lock.
pub struct WorkDir {
    pub dir: tempfile::TempDir,
    _lock: File,
}

/// Whether an exclusive lock on `f` could be taken now (and is then held until `f` closes).
fn try_lock(f: &File) -> bool {
    // SAFETY: flock on a file descriptor this `File` owns.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Makes this run's folder in `tmp` and locks it.
pub fn create(tmp: &Path) -> std::io::Result<WorkDir> {
    let dir = tempfile::Builder::new()
        .prefix(PREFIX)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(tmp)?;
    let lock = OpenOptions::new().create(true).truncate(true).write(true).mode(0o600).open(dir.path().join(LOCK))?;
    if !try_lock(&lock) {
        return Err(std::io::Error::other("cannot lock the new work folder"));
    }
    std::io::Write::write_all(&mut &lock, format!("{}\n", std::process::id()).as_bytes())?;
    Ok(WorkDir { dir, _lock: lock })
}

/// Removes the work folders in `tmp` left by earlier runs of this user that are not running any
/// more (their lock is free, or they have none and are older than a minute), except `keep`.
/// Returns the folders removed.
pub fn sweep(tmp: &Path, keep: &Path) -> Vec<PathBuf> {
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let Ok(rd) = std::fs::read_dir(tmp) else {
        return Vec::new();
    };
    let mut gone = Vec::new();
    for e in rd.flatten() {
        let path = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        let ours = e.file_name().to_string_lossy().starts_with(PREFIX) && meta.is_dir() && meta.uid() == uid;
        if !ours || path == keep {
            continue;
        }
        let dead = match File::open(path.join(LOCK)) {
            // Held by a live server: the lock fails. Free: its server is gone.
            Ok(f) => try_lock(&f),
            Err(_) => meta
                .modified()
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|a| a > STARTING),
        };
        if dead && std::fs::remove_dir_all(&path).is_ok() {
            gone.push(path);
        }
    }
    gone
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_folder_stays_and_a_free_one_goes() {
        let tmp = tempfile::tempdir().unwrap();
        let live = create(tmp.path()).unwrap();
        let dead = create(tmp.path()).unwrap();
        let dead_path = dead.dir.path().to_path_buf();
        // As a killed server leaves it: the folder stays, the lock goes with the process.
        drop(dead._lock);
        std::mem::forget(dead.dir);
        let other = tmp.path().join("not-ours");
        std::fs::create_dir(&other).unwrap();
        let me = create(tmp.path()).unwrap();
        assert_eq!(sweep(tmp.path(), me.dir.path()), vec![dead_path.clone()]);
        assert!(live.dir.path().exists() && me.dir.path().exists() && other.exists() && !dead_path.exists());
        let mode = std::fs::metadata(me.dir.path()).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
