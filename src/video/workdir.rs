//! The work folder of a resumable job, `<output>.upscale-work/`: finished segments and a
//! manifest naming the job (input, settings) and each finished segment. The manifest is a text
//! file of `key value` lines, replaced atomically (temporary file, then rename); a segment is
//! listed only once its file is complete and renamed into place.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const MAGIC: &str = "upscale-manifest 1";
const MANIFEST: &str = "manifest";

/// One finished segment: `frames` consecutive input frames, timestamps in the input video
/// stream's time base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub frames: u64,
    pub first_pts: i64,
    pub last_pts: i64,
    pub file: String,
}

/// The work folder and what its manifest says.
#[derive(Debug)]
pub struct WorkDir {
    dir: PathBuf,
    output: PathBuf,
    /// The output's extension, kept by the joined file before its rename.
    ext: String,
    /// What names the job: input identity and the settings that shape the output.
    job: Vec<(String, String)>,
    /// Frames per segment, fixed when the job started.
    pub segment_frames: u64,
    pub segments: Vec<Segment>,
    /// Every frame of the input is in a segment: only the join is left.
    pub complete: bool,
    /// The folder was made by this run.
    pub created: bool,
}

/// The work folder of `output`.
pub fn work_path(output: &Path) -> PathBuf {
    let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    output.with_file_name(format!("{name}.upscale-work"))
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            o.push(c);
            continue;
        }
        match it.next() {
            Some('n') => o.push('\n'),
            Some(c) => o.push(c),
            None => o.push('\\'),
        }
    }
    o
}

impl WorkDir {
    /// Opens the work folder of `output` for the job described by `job`, or creates it with
    /// `segment_frames` per segment. A folder left by another job (other input, other
    /// settings) is an error that says which value differs; partial files are removed.
    pub fn open(output: &Path, job: Vec<(String, String)>, segment_frames: u64) -> Result<WorkDir> {
        let dir = work_path(output);
        let ext = output.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
        let mut w = WorkDir {
            dir: dir.clone(),
            output: output.to_path_buf(),
            ext,
            job,
            segment_frames: segment_frames.max(1),
            segments: Vec::new(),
            complete: false,
            created: false,
        };
        let manifest = dir.join(MANIFEST);
        if !manifest.exists() {
            if dir.exists() && std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?.next().is_some() {
                return Err(w.stale("has no manifest"));
            }
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            w.created = true;
            w.save()?;
            return Ok(w);
        }
        let text = std::fs::read_to_string(&manifest).map_err(|e| Error::io(&manifest, e))?;
        w.read(&text)?;
        w.remove_partials()?;
        Ok(w)
    }

    fn stale(&self, why: &str) -> Error {
        Error::video(
            &self.output,
            format!("work folder {} {why}: remove it, or run without --resume", self.dir.display()),
        )
    }

    /// Fills in the segments from the manifest `text`, checking it describes this job.
    fn read(&mut self, text: &str) -> Result<()> {
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err(self.stale("holds a manifest of another version"));
        }
        let mut recorded = Vec::new();
        for line in lines {
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "segment-frames" => {
                    self.segment_frames = value.parse().map_err(|_| self.stale("has a damaged manifest"))?;
                }
                "segment" => {
                    let f: Vec<&str> = value.splitn(4, ' ').collect();
                    let seg = match f.as_slice() {
                        [n, a, b, file] => (|| {
                            Some(Segment {
                                frames: n.parse().ok()?,
                                first_pts: a.parse().ok()?,
                                last_pts: b.parse().ok()?,
                                file: unescape(file),
                            })
                        })(),
                        _ => None,
                    };
                    let seg = seg.ok_or_else(|| self.stale("has a damaged manifest"))?;
                    if !self.dir.join(&seg.file).is_file() {
                        return Err(self.stale(&format!("lacks its segment {}", seg.file)));
                    }
                    self.segments.push(seg);
                }
                "complete" => self.complete = true,
                _ => recorded.push((key.to_string(), unescape(value))),
            }
        }
        for (key, now) in &self.job {
            let then = recorded.iter().find(|(k, _)| k == key).map_or("(none)", |(_, v)| v.as_str());
            if then != now {
                return Err(self.stale(&format!("was made for another job ({key} was {then}, now {now})")));
            }
        }
        Ok(())
    }

    /// Removes what an interrupted run left half-written.
    fn remove_partials(&self) -> Result<()> {
        for entry in std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.contains(".partial.") || name.ends_with(".tmp") {
                std::fs::remove_file(entry.path()).map_err(|e| Error::io(&entry.path(), e))?;
            }
        }
        Ok(())
    }

    /// Writes the manifest: a temporary file, flushed to disk, renamed over the old one.
    pub fn save(&self) -> Result<()> {
        let mut text = format!("{MAGIC}\n");
        for (k, v) in &self.job {
            let _ = writeln!(text, "{k} {}", escape(v));
        }
        let _ = writeln!(text, "segment-frames {}", self.segment_frames);
        for s in &self.segments {
            let _ = writeln!(text, "segment {} {} {} {}", s.frames, s.first_pts, s.last_pts, escape(&s.file));
        }
        if self.complete {
            text.push_str("complete\n");
        }
        let (path, tmp) = (self.dir.join(MANIFEST), self.dir.join(format!("{MANIFEST}.tmp")));
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        });
        written.and_then(|()| std::fs::rename(&tmp, &path)).map_err(|e| Error::io(&path, e))
    }

    /// The finished file of segment `index`.
    pub fn segment_name(&self, index: usize) -> String {
        format!("segment-{index:05}.packets")
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where segment `index` is written before it is finished.
    pub fn partial_path(&self, index: usize) -> PathBuf {
        self.dir.join(format!("segment-{index:05}.partial.packets"))
    }

    /// Where the joined output is written before it is renamed to the output.
    pub fn joined_path(&self) -> PathBuf {
        self.dir.join(format!("joined.partial.{}", self.ext))
    }

    pub fn segment_paths(&self) -> Vec<PathBuf> {
        self.segments.iter().map(|s| self.dir.join(&s.file)).collect()
    }

    /// Frames in finished segments.
    pub fn frames_done(&self) -> u64 {
        self.segments.iter().map(|s| s.frames).sum()
    }

    /// The timestamp of the last finished frame.
    pub fn last_pts(&self) -> Option<i64> {
        self.segments.last().map(|s| s.last_pts)
    }

    /// Records a finished segment whose file is already in place.
    pub fn add(&mut self, seg: Segment) -> Result<()> {
        self.segments.push(seg);
        self.save()
    }

    /// Removes the folder and everything in it.
    pub fn remove(&self) -> Result<()> {
        std::fs::remove_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(scale: &str) -> Vec<(String, String)> {
        vec![("input".into(), "/a b/c\nd.mp4".into()), ("scale".into(), scale.into())]
    }

    #[test]
    fn manifest_round_trips_and_names_a_changed_setting() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out.mp4");
        let mut w = WorkDir::open(&out, job("2"), 24).unwrap();
        assert!(w.created);
        std::fs::write(w.path().join(w.segment_name(0)), b"x").unwrap();
        let seg = Segment { frames: 24, first_pts: 0, last_pts: 11776, file: w.segment_name(0) };
        w.add(seg.clone()).unwrap();
        std::fs::write(w.partial_path(1), b"half").unwrap();
        let again = WorkDir::open(&out, job("2"), 99).unwrap();
        assert_eq!((again.segments.clone(), again.segment_frames, again.created), (vec![seg], 24, false));
        assert!(!again.partial_path(1).exists());
        let e = WorkDir::open(&out, job("3"), 24).unwrap_err().to_string();
        assert!(e.contains("scale was 2, now 3") && e.contains("remove it"), "{e}");
    }

    #[test]
    fn escaping_round_trips() {
        for s in ["plain", "a\\nb", "two\nlines", "end\\"] {
            assert_eq!(unescape(&escape(s)), s);
        }
    }
}
