//! The last step of a segmented job: every segment is checked against the plan (present, its
//! frame count, its first and last timestamps: a gap or an overlap is refused, naming the
//! segment; its first packet a keyframe, so the join stays a remux), then the segments' packets are muxed, unchanged, with the input's other streams
//! (audio, subtitles, chapters, metadata) copied bit for bit, and the output renamed into place.

use std::path::{Path, PathBuf};

use super::identity::InputId;
use super::packets::PacketReader;
use super::plan::{Plan, SegmentPlan};
use super::store::{index_list, WorkDir};
use crate::config::Device;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Checks every segment of `plan` in `work` and writes the job's output; returns its path.
pub fn join(work: &WorkDir, plan: &Plan, progress: &dyn Progress) -> Result<PathBuf> {
    let missing = work.missing(plan.segments.len());
    if let Some(&first) = missing.first() {
        return Err(Error::video(
            work.path(),
            format!(
                "segment {first} ({}) is not done{}",
                file_name(&work.segment_path(first)),
                if missing.len() > 1 { format!(" (nor {})", index_list(&missing[1..])) } else { String::new() }
            ),
        ));
    }
    for seg in &plan.segments {
        check(&work.segment_path(seg.index), seg)?;
    }
    let input = plan.input_path(work.path());
    if InputId::of(&input)? != plan.input.id {
        return Err(Error::video(&input, "not the planned input (it changed since)"));
    }
    let output = work.output();
    crate::output::check(&input, &output, plan.settings.job.overwrite)?;
    crate::video::init_ffmpeg(&input)?;
    let cfg = plan.settings.config();
    let paths: Vec<PathBuf> = plan.segments.iter().map(|s| work.segment_path(s.index)).collect();
    let joined = crate::output::Pending::at(work.joined_partial(), &output);
    let target = crate::video::encode::EncodeTarget {
        output: output.clone(),
        size: plan.settings.output_size,
        settings: cfg.video.clone(),
        device: Device::Cpu,
        provenance: plan.settings.provenance_line.clone(),
    };
    super::mux::join_files(&input, joined.path(), &paths, &target, progress)?;
    joined.commit()?;
    Ok(output)
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Reads segment file `path` through: complete, and exactly the planned frames.
fn check(path: &Path, seg: &SegmentPlan) -> Result<()> {
    let bad = |why: String| {
        Error::video(path, format!("segment {}: {why}: remove this file and run index {} again", seg.index, seg.index))
    };
    let mut r = PacketReader::open(path).map_err(|e| bad(e.to_string()))?;
    let (mut n, mut lo, mut hi) = (0u64, i64::MAX, i64::MIN);
    while let Some(p) = r.next().map_err(|e| bad(e.to_string()))? {
        if n == 0 && !p.is_key() {
            return Err(bad("it does not start with a keyframe".into()));
        }
        let t = p.pts().ok_or_else(|| bad("a packet without a timestamp".into()))?;
        n += 1;
        lo = lo.min(t);
        hi = hi.max(t);
    }
    if n != seg.frames || lo != seg.start_pts || hi != seg.last_pts {
        let what = if n < seg.frames || lo > seg.start_pts || hi < seg.last_pts { "a gap" } else { "an overlap" };
        return Err(bad(format!(
            "{what}: it holds {n} frames at timestamps {lo}..={hi}, the plan {} at {}..={}",
            seg.frames, seg.start_pts, seg.last_pts
        )));
    }
    Ok(())
}
