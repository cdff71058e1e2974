//! Turning the command line's inputs (files, folders, mixed) into jobs: one input file and the
//! output path it goes to, with the kind of file found from its content.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::still;

/// What an input file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Video,
}

/// One file to upscale.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub input: PathBuf,
    pub output: PathBuf,
    pub kind: Kind,
}

/// Extensions taken as video inside folders (single files are judged by content).
const VIDEO_EXTENSIONS: &[&str] =
    &["mp4", "m4v", "mkv", "mov", "avi", "webm", "mpg", "mpeg", "ts", "m2ts", "mts", "vob", "dv", "flv", "wmv", "ogv"];

/// Extensions of the image formats we read: a file with one whose content is no known format
/// (empty, damaged, not an image at all) goes to the image reader, whose error says why.
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff"];

/// The kind of a file, from its first bytes: an image format we read, else a video; content
/// that is neither image nor anything else recognisable is judged by an image extension.
pub fn kind_of(path: &Path) -> Kind {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if still::is_image(path) || (ext.is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str())) && !looks_like_video(path))
    {
        Kind::Image
    } else {
        Kind::Video
    }
}

/// Whether the first bytes are a common video container's (MP4/MOV, Matroska/WebM, AVI, MPEG
/// program stream, FLV, Ogg, ASF), so a video named `.png` still goes to the video path.
fn looks_like_video(path: &Path) -> bool {
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path).and_then(|mut f| std::io::Read::read(&mut f, &mut head)).unwrap_or(0);
    let h = &head[..n];
    (h.len() >= 8 && matches!(&h[4..8], b"ftyp" | b"moov" | b"mdat" | b"free" | b"wide" | b"skip"))
        || h.starts_with(&[0x1A, 0x45, 0xDF, 0xA3])
        || (h.starts_with(b"RIFF") && h.get(8..11) == Some(b"AVI"))
        || h.starts_with(&[0, 0, 1, 0xBA])
        || h.starts_with(b"FLV")
        || h.starts_with(b"OggS")
        || h.starts_with(&[0x30, 0x26, 0xB2, 0x75])
}

/// The suffix naming the scale: `x4`, or `x1.5` for `--outscale 1.5`.
fn scale_tag(cfg: &Config) -> String {
    match (cfg.outscale, cfg.width, cfg.height) {
        (Some(f), _, _) => format!("x{f}"),
        (None, None, None) => format!("x{}", cfg.scale),
        (None, w, h) => {
            format!("{}x{}", w.map_or("auto".into(), |v| v.to_string()), h.map_or("auto".into(), |v| v.to_string()))
        }
    }
}

/// The output name for an input file: the same stem plus `_<tag>` when a tag is given, the same
/// extension (PNG for image formats we do not write, MKV for a video without one).
fn output_name(input: &Path, kind: Kind, tag: Option<&str>) -> PathBuf {
    // The stem is kept as it is, bytes that are not UTF-8 included.
    let mut name = input.file_stem().map(|s| s.to_os_string()).unwrap_or_default();
    if let Some(t) = tag {
        name.push(format!("_{t}"));
    }
    let ext = input.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let ext = match kind {
        Kind::Image if still::output_format(Path::new(&format!("x.{ext}"))).is_err() => "png".to_string(),
        // A video named like a picture (`clip.png`) is not written as one.
        Kind::Video if ext.is_empty() || IMAGE_EXTENSIONS.contains(&ext.as_str()) => "mkv".to_string(),
        _ => ext,
    };
    name.push(format!(".{ext}"));
    input.with_file_name(name)
}

/// Files under `dir` worth upscaling (images by content, videos by extension), sorted.
fn walk(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if recursive {
                walk(&p, recursive, out)?;
            }
        } else if still::is_image(&p)
            || p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// Plans the jobs for `inputs` and an optional `-o`: one file to a file; a folder, or several
/// inputs, to a folder (same names, structure kept under each input folder).
pub fn plan(inputs: &[PathBuf], output: Option<&Path>, cfg: &Config) -> Result<Vec<Job>> {
    let tag = scale_tag(cfg);
    let single_file = inputs.len() == 1 && !inputs[0].is_dir();
    let mut jobs = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
        if meta.is_dir() {
            let base = match output {
                Some(o) if inputs.len() == 1 => o.to_path_buf(),
                Some(o) => o.join(input.file_name().unwrap_or_default()),
                None => {
                    let name =
                        input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
                    input.with_file_name(format!("{name}_{tag}"))
                }
            };
            let mut files = Vec::new();
            walk(input, cfg.recursive, &mut files)?;
            for f in files {
                let kind = kind_of(&f);
                let rel = f.strip_prefix(input).unwrap_or(&f);
                let name = output_name(rel, kind, None);
                jobs.push(Job { output: base.join(name), input: f, kind });
            }
        } else {
            let kind = kind_of(input);
            let out = match output {
                // `-o` an existing folder for one file: the file goes into it, under its own name.
                Some(o) if single_file && o.is_dir() => {
                    o.join(output_name(Path::new(input.file_name().unwrap_or_default()), kind, None))
                }
                Some(o) if single_file => o.to_path_buf(),
                Some(o) => o.join(output_name(Path::new(input.file_name().unwrap_or_default()), kind, None)),
                None => output_name(input, kind, Some(&tag)),
            };
            jobs.push(Job { input: input.clone(), output: out, kind });
        }
    }
    if jobs.is_empty() {
        // Only folders were given and none holds anything to upscale (a folder named
        // `clip.mp4` included): nothing would be written, so that is a failure.
        let names: Vec<_> = inputs.iter().map(|i| i.display().to_string()).collect();
        let hint = if cfg.recursive { "" } else { " (add -r to look in subfolders)" };
        return Err(Error::Decode {
            path: names.join(", ").into(),
            msg: format!("a folder with no images or videos in it{hint}"),
        });
    }
    Ok(jobs)
}
