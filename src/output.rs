//! One policy for every file the library writes, still, video, plan or segment: refuse to
//! replace an input, replace an existing file only when asked, write under a temporary name
//! ([`Pending`]) and put it in place only when complete — renamed over the target, or
//! hard-linked where a file already there must win (a segment plan, a finished segment) — so
//! nothing at the target ever looks complete before it is, and a failed write leaves nothing.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Refuses an output that is the input, a folder, in a missing folder, or (without
/// `overwrite`) an existing file. Called before any work is done.
pub fn check(input: &Path, output: &Path, overwrite: bool) -> Result<()> {
    let same = match (input.canonicalize(), output.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(Error::Output { path: output.into(), msg: "output would overwrite the input".into() });
    }
    if output.is_dir() {
        return Err(Error::Output { path: output.into(), msg: "is a folder".into() });
    }
    if output.exists() && !overwrite {
        return Err(Error::Output { path: output.into(), msg: "exists (use -y to overwrite)".into() });
    }
    let parent = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !parent.is_dir() {
        let why = if parent.exists() { "is not a folder" } else { "does not exist" };
        return Err(Error::Output { path: output.into(), msg: format!("cannot write: {} {why}", parent.display()) });
    }
    Ok(())
}

/// The hidden temporary path beside `output` that is renamed to `output` when complete. The
/// extension stays last: encoders and muxers pick the format from it.
pub fn temp_path(output: &Path) -> PathBuf {
    let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    output.with_file_name(format!(".{}.partial-{}-{name}", env!("CARGO_PKG_NAME"), std::process::id()))
}

/// A file being written: its temporary path, removed when dropped unless [`Pending::commit`]
/// or [`Pending::commit_new`] put it in place. Every temporary file the library makes is one.
pub struct Pending {
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Pending {
    /// Starts an output at `target` (nothing is created yet: the writer creates [`Pending::path`]).
    pub fn new(target: &Path) -> Self {
        Pending { tmp: temp_path(target), target: target.to_path_buf(), committed: false }
    }
    /// Starts a file at `target` written first at `tmp` (a work folder's own name for it).
    #[cfg(feature = "video")]
    pub fn at(tmp: PathBuf, target: &Path) -> Self {
        Pending { tmp, target: target.to_path_buf(), committed: false }
    }
    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.tmp
    }
    /// Renames the finished file into place, replacing what is there.
    pub fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.target).map_err(|e| Error::io(&self.target, e))?;
        self.committed = true;
        Ok(())
    }
    /// Puts the finished file in place only if nothing is there yet (a hard link, which never
    /// replaces; a rename on a file system without hard links). False when a file was there
    /// first, which is kept. The temporary file is gone afterwards either way.
    #[cfg(feature = "video")]
    pub fn commit_new(self) -> Result<bool> {
        let placed = match std::fs::hard_link(&self.tmp, &self.target) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(_) if !self.target.exists() => std::fs::rename(&self.tmp, &self.target).map(|()| true),
            Err(_) => Ok(false),
        };
        placed.map_err(|e| Error::io(&self.target, e))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_is_removed_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.png");
        let p = Pending::new(&target);
        std::fs::write(p.path(), b"x").unwrap();
        let tmp = p.path().to_path_buf();
        drop(p);
        assert!(!tmp.exists() && !target.exists());
        let p = Pending::new(&target);
        std::fs::write(p.path(), b"x").unwrap();
        p.commit().unwrap();
        assert!(target.exists());
        let again = Pending::at(dir.path().join("again.tmp"), &target);
        std::fs::write(again.path(), b"y").unwrap();
        let tmp = again.path().to_path_buf();
        assert!(!again.commit_new().unwrap(), "a file already there is kept");
        assert!(!tmp.exists() && std::fs::read(&target).unwrap() == b"x");
        let new = Pending::at(dir.path().join("new.tmp"), &dir.path().join("b.png"));
        std::fs::write(new.path(), b"z").unwrap();
        assert!(new.commit_new().unwrap() && std::fs::read(dir.path().join("b.png")).unwrap() == b"z");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary file left");
        assert!(check(Path::new("in.png"), &target, false).is_err());
        assert!(check(Path::new("in.png"), &target, true).is_ok());
    }
}
