//! The shared work folder of a segmented job, `<output>.upscale-work/`, and the rules that let
//! many machines write into it at once: each worker writes under a name of its own (host and
//! process), a segment is done when its file appears under its final name (a hard link, which
//! never replaces a file another worker put there), and nothing removes another worker's file.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const SUFFIX: &str = ".upscale-work";

/// A work folder.
#[derive(Debug, Clone)]
pub struct WorkDir {
    dir: PathBuf,
}

/// This machine's name, for file names that must not collide across machines.
fn host() -> String {
    let mut buf = [0u8; 256];
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

    /// Where this process writes the joined output before its rename (the output's extension last).
    pub fn joined_partial(&self) -> PathBuf {
        let ext = self.output().extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
        self.dir.join(format!("joined.partial-{}-{}.{ext}", host(), std::process::id()))
    }

    /// The indices of `0..count` whose segment is not done.
    pub fn missing(&self, count: usize) -> Vec<usize> {
        (0..count).filter(|&i| !self.segment_path(i).is_file()).collect()
    }

    /// Makes `partial` segment `index`'s finished file without replacing one already there;
    /// `partial` is gone afterwards either way. False when another worker's file was there first.
    pub fn publish(&self, partial: &Path, index: usize) -> Result<bool> {
        let done = self.segment_path(index);
        let placed = match std::fs::hard_link(partial, &done) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            // A file system without hard links: a rename, when nothing is there yet.
            Err(_) if !done.exists() => std::fs::rename(partial, &done).map(|()| true),
            Err(_) => Ok(false),
        };
        let _ = std::fs::remove_file(partial);
        placed.map_err(|e| Error::io(&done, e))
    }
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
        let p = w.partial_path(1);
        std::fs::write(&p, b"first").unwrap();
        assert!(w.publish(&p, 1).unwrap());
        std::fs::write(&p, b"second").unwrap();
        assert!(!w.publish(&p, 1).unwrap());
        assert_eq!(std::fs::read(w.segment_path(1)).unwrap(), b"first");
        assert!(!p.exists());
        assert_eq!(w.missing(3), vec![0, 2]);
        assert!(WorkDir::at(t.path()).is_err());
    }

    #[test]
    fn index_lists_read_as_sbatch_arrays() {
        assert_eq!(index_list(&[2, 5]), "2,5");
        assert_eq!(index_list(&[0, 1, 2, 3, 7, 8]), "0-3,7,8");
        assert_eq!(index_list(&[]), "");
    }
}
