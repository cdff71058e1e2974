//! The shared work folder of a segmented job, `<output>.upscale-work/`, and the rules that let
//! many machines write into it at once: each worker writes under a name of its own (host and
//! process), a segment is done when its file appears under its final name (a hard link, which
//! never replaces a file another worker put there), and nothing removes another live worker's
//! file. A worker holds a lock on its partial file while it writes it; a partial file nobody
//! holds was left by a worker that was killed, and the next run of that index removes it.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::output::Pending;

const SUFFIX: &str = ".upscale-work";

/// A work folder.
#[derive(Debug, Clone)]
pub struct WorkDir {
    dir: PathBuf,
}

/// This machine's name, for file names that must not collide across machines.
fn host() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for `buf.len()` bytes; gethostname writes at most that many.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let n = buf.iter().position(|&b| b == 0).unwrap_or(0);
    let name = if ok { String::from_utf8_lossy(&buf[..n]).into_owned() } else { String::new() };
    let name: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    if name.is_empty() {
        "host".into()
    } else {
        name
    }
}

impl WorkDir {
    /// The work folder of `output`.
    pub fn for_output(output: &Path) -> WorkDir {
        let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        WorkDir { dir: output.with_file_name(format!("{name}{SUFFIX}")) }
    }

    /// The work folder at `dir` (its name ends in `.upscale-work`).
    pub fn at(dir: &Path) -> Result<WorkDir> {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let ok = dir.file_name().is_some_and(|n| n.to_string_lossy().ends_with(SUFFIX));
        if !ok {
            return Err(Error::video(&dir, format!("not a work folder (its name ends in {SUFFIX})")));
        }
        Ok(WorkDir { dir })
    }

    /// The folder itself (absolute when made by [`WorkDir::at`]).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The job's output: the folder's name without its suffix, beside it.
    pub fn output(&self) -> PathBuf {
        let name = self.dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        self.dir.with_file_name(name.strip_suffix(SUFFIX).unwrap_or(&name))
    }

    /// The finished file of segment `index`.
    pub fn segment_path(&self, index: usize) -> PathBuf {
        self.dir.join(format!("segment-{index:05}.packets"))
    }

    /// Where this process writes segment `index` before it is done.
    pub fn partial_path(&self, index: usize) -> PathBuf {
        self.dir.join(format!("segment-{index:05}.partial-{}-{}.packets", host(), std::process::id()))
    }

    /// Removes the partial files of segment `index` left by workers that are gone (killed before
    /// they could remove their own), then creates this process's, locked for as long as the
    /// returned [`Partial`] lives. Returns it and the names of the files removed.
    pub fn start_partial(&self, index: usize) -> Result<(Partial, Vec<String>)> {
        let prefix = format!("segment-{index:05}.partial-");
        let mut removed = Vec::new();
        let entries = std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.starts_with(&prefix) && name.ends_with(".packets")) {
                continue;
            }
            let path = entry.path();
            // A lock taken here means its writer has ended: the kernel lets go of a process's
            // locks when it dies, however it dies.
            let Ok(f) = File::open(&path) else { continue };
            if try_lock(&f) && std::fs::remove_file(&path).is_ok() {
                removed.push(name);
            }
        }
        let path = self.partial_path(index);
        // Made and locked under a name no one looks for, then given its own: never seen unlocked.
        let fresh = Pending::at(path.with_extension("new"), &path);
        let lock = File::create(fresh.path()).map_err(|e| Error::io(&path, e))?;
        if !try_lock(&lock) {
            return Err(Error::video(&path, "cannot lock this worker's own partial file"));
        }
        fresh.commit()?;
        let file = Pending::at(path, &self.segment_path(index));
        Ok((Partial { file, _lock: lock }, removed))
    }

    /// Where this process writes the joined output before its rename (the output's extension last).
    pub fn joined_partial(&self) -> PathBuf {
        let ext = self.output().extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
        self.dir.join(format!("joined.partial-{}-{}.{ext}", host(), std::process::id()))
    }

    /// The indices of `0..count` whose segment is not done.
    pub fn missing(&self, count: usize) -> Vec<usize> {
        (0..count).filter(|&i| !self.segment_path(i).is_file()).collect()
    }
}

/// A worker's partial segment file, locked while this lives (see [`WorkDir::start_partial`])
/// and removed when dropped unless published.
pub struct Partial {
    file: Pending,
    _lock: File,
}

impl Partial {
    /// Where the worker writes.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Makes this file its segment's finished file without replacing one already there
    /// ([`Pending::commit_new`]); the partial file is gone afterwards either way. False when
    /// another worker's file was there first.
    pub fn publish(self) -> Result<bool> {
        let Partial { file, _lock } = self;
        file.commit_new()
    }
}

/// Takes an exclusive lock on `f` without waiting: false when another open file holds one.
fn try_lock(f: &File) -> bool {
    // SAFETY: flock on a descriptor `f` owns for the duration of the call.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Indices as `sbatch --array` takes them: `2,5`, runs of three or more as `0-3`.
pub fn index_list(indices: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let mut j = i;
        while j + 1 < indices.len() && indices[j + 1] == indices[j] + 1 {
            j += 1;
        }
        if j >= i + 2 {
            parts.push(format!("{}-{}", indices[i], indices[j]));
        } else {
            parts.extend(indices[i..=j].iter().map(|x| x.to_string()));
        }
        i = j + 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_done_segment_is_never_replaced() {
        let t = tempfile::tempdir().unwrap();
        let w = WorkDir::for_output(&t.path().join("out.mkv"));
        assert_eq!(w.output(), t.path().join("out.mkv"));
        std::fs::create_dir(w.path()).unwrap();
        assert_eq!(w.missing(3), vec![0, 1, 2]);
        let (p, _) = w.start_partial(1).unwrap();
        std::fs::write(p.path(), b"first").unwrap();
        assert!(p.publish().unwrap());
        let (p, _) = w.start_partial(1).unwrap();
        std::fs::write(p.path(), b"second").unwrap();
        let path = p.path().to_path_buf();
        assert!(!p.publish().unwrap());
        assert_eq!(std::fs::read(w.segment_path(1)).unwrap(), b"first");
        assert!(!path.exists());
        let (p, _) = w.start_partial(0).unwrap();
        let path = p.path().to_path_buf();
        drop(p);
        assert!(!path.exists(), "a partial file dropped unpublished is removed");
        assert_eq!(w.missing(3), vec![0, 2]);
        assert!(WorkDir::at(t.path()).is_err());
    }

    #[test]
    fn a_partial_file_is_removed_only_when_its_writer_is_gone() {
        let t = tempfile::tempdir().unwrap();
        let w = WorkDir::for_output(&t.path().join("out.mkv"));
        std::fs::create_dir(w.path()).unwrap();
        // Another worker's, still writing (its lock held), and a dead one's (no lock).
        let alive = w.path().join("segment-00002.partial-elsewhere-1.packets");
        let dead = w.path().join("segment-00002.partial-elsewhere-2.packets");
        let other = w.path().join("segment-00003.partial-elsewhere-3.packets");
        let held = File::create(&alive).unwrap();
        assert!(try_lock(&held));
        std::fs::write(&dead, b"cut short").unwrap();
        std::fs::write(&other, b"another index").unwrap();
        let (mine, removed) = w.start_partial(2).unwrap();
        assert_eq!(removed, ["segment-00002.partial-elsewhere-2.packets"]);
        assert!(alive.exists() && !dead.exists() && other.exists() && mine.path().exists());
        // This process's own file is held as long as its `Partial` lives.
        assert!(!try_lock(&File::open(mine.path()).unwrap()));
    }

    #[test]
    fn index_lists_read_as_sbatch_arrays() {
        assert_eq!(index_list(&[2, 5]), "2,5");
        assert_eq!(index_list(&[0, 1, 2, 3, 7, 8]), "0-3,7,8");
        assert_eq!(index_list(&[]), "");
    }
}
