//! Damaged video: the decoder conceals what it can and the run goes on, while this log notes
//! which frames were concealed (flagged by the decoder, or decoded from packets the demuxer
//! marked corrupt) and which never came out after a decoding error, so that each damaged time
//! range is reported once at the end. With `--strict` the first damage is an error instead.

use std::collections::{BTreeSet, VecDeque};

use ffmpeg_next as ffmpeg;

use ffmpeg::ffi;
use ffmpeg::Rational;

/// One damaged span of presentation time, in the stream's time base.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    start: i64,
    end: i64,
    /// Frames that came out concealed.
    concealed: u64,
    /// Frames that never came out (their packet could not be decoded).
    lost: u64,
}

/// What went wrong with the input's video so far.
pub struct DamageLog {
    time_base: Rational,
    frame_dur: i64,
    strict: bool,
    /// Timestamps of the video packets sent whose frame has not come out yet.
    sent: BTreeSet<i64>,
    /// Timestamps of packets the demuxer flagged corrupt.
    corrupt: BTreeSet<i64>,
    /// Where decoding errors surfaced, not yet matched to a frame that did not come out.
    errors: VecDeque<i64>,
    /// Where the last frame was (for errors the decoder reports without a timestamp).
    last: i64,
    marks: Vec<Mark>,
    /// The input ended early: video packets read and listed in the container's index.
    truncated: Option<(u64, u64)>,
    /// Packets the demuxer could not read (of any stream), and where the video was at the first.
    unreadable: Option<(u64, i64)>,
}

impl DamageLog {
    pub fn new(time_base: Rational, frame_dur: i64, strict: bool) -> Self {
        DamageLog {
            time_base,
            frame_dur: frame_dur.max(1),
            strict,
            sent: BTreeSet::new(),
            corrupt: BTreeSet::new(),
            errors: VecDeque::new(),
            last: 0,
            marks: Vec::new(),
            truncated: None,
            unreadable: None,
        }
    }

    /// `t` (in the stream's time base) in seconds, as written in messages.
    fn secs(&self, t: i64) -> String {
        format!("{:.3} s", t as f64 * f64::from(self.time_base))
    }

    /// A video packet goes to the decoder. In strict mode a corrupt one is the error returned.
    pub fn packet(&mut self, pts: Option<i64>, corrupt: bool) -> Result<(), String> {
        let at = pts.unwrap_or(self.last);
        if corrupt && self.strict {
            return Err(format!(
                "damaged video at {} (a corrupt packet; stopped by the strict setting)",
                self.secs(at)
            ));
        }
        if let Some(t) = pts {
            self.sent.insert(t);
            if corrupt {
                self.corrupt.insert(t);
            }
        } else if corrupt {
            self.marks.push(Mark { start: at, end: at + self.frame_dur, concealed: 0, lost: 0 });
        }
        Ok(())
    }

    /// The decoder refused data near `pts` (the last packet sent, if known). In strict mode this
    /// is the error returned.
    pub fn decode_error(&mut self, pts: Option<i64>, cause: &ffmpeg::Error) -> Result<(), String> {
        let at = pts.unwrap_or(self.last);
        if self.strict {
            return Err(format!("damaged video at {}: {cause} (stopped by the strict setting)", self.secs(at)));
        }
        self.errors.push_back(at);
        Ok(())
    }

    /// A decoded frame: `raw` is the timestamp it carries from its packet, `pts` the one it
    /// keeps. Packets sent before it that produced nothing are lost frames when the decoder
    /// reported an error (or the packet was corrupt); otherwise the decoder dropped them on
    /// purpose and they are no damage.
    pub fn frame(&mut self, frame: &ffmpeg::frame::Video, raw: Option<i64>, pts: i64) -> Result<(), String> {
        // SAFETY: `frame` is a live decoded frame, borrowed for the read of two plain fields.
        let flagged = unsafe {
            let f = frame.as_ptr();
            (*f).flags & ffi::AV_FRAME_FLAG_CORRUPT != 0 || (*f).decode_error_flags != 0
        };
        let from_corrupt = raw.is_some_and(|t| self.corrupt.remove(&t));
        if (flagged || from_corrupt) && self.strict {
            return Err(format!(
                "damaged video at {} (a concealed frame; stopped by the strict setting)",
                self.secs(pts)
            ));
        }
        if let Some(t) = raw {
            self.sent.remove(&t);
            let missing: Vec<i64> = self.sent.range(..t).copied().collect();
            for m in missing {
                self.sent.remove(&m);
                self.missing(m);
            }
        }
        if flagged || from_corrupt {
            self.marks.push(Mark { start: pts, end: pts + self.frame_dur, concealed: 1, lost: 0 });
        }
        self.last = pts;
        Ok(())
    }

    /// The demuxer could not read a packet (of any stream) and skipped it.
    pub fn unreadable(&mut self) {
        let at = self.last;
        self.unreadable = Some(self.unreadable.map_or((1, at), |(n, first)| (n + 1, first)));
    }

    /// The input ended after `read` of the `listed` video packets its index promises. In strict
    /// mode this is the error returned.
    pub fn truncated(&mut self, read: u64, listed: u64) -> Result<(), String> {
        if self.strict {
            return Err(format!(
                "the file ends early: {read} of {listed} video packets after {} (stopped by the strict setting)",
                self.secs(self.last)
            ));
        }
        self.truncated = Some((read, listed));
        Ok(())
    }

    /// A packet at `t` produced no frame.
    fn missing(&mut self, t: i64) {
        if self.corrupt.remove(&t) || self.errors.pop_front().is_some() {
            self.marks.push(Mark { start: t, end: t + self.frame_dur, concealed: 0, lost: 1 });
        }
    }

    /// The input has ended: packets still without a frame are settled, and each damaged range
    /// is described in one line (`what` names the file).
    pub fn finish(&mut self, what: &str) -> Vec<String> {
        for t in std::mem::take(&mut self.sent) {
            self.missing(t);
        }
        // Errors that cost no frame still say where the data was bad, unless a range is already
        // reported near where they surfaced (their place is only known to a few frames).
        let near = 4 * self.frame_dur;
        for at in std::mem::take(&mut self.errors) {
            if !self.marks.iter().any(|m| at >= m.start - near && at <= m.end + near) {
                self.marks.push(Mark { start: at, end: at + self.frame_dur, concealed: 0, lost: 0 });
            }
        }
        let mut lines: Vec<String> = merge(std::mem::take(&mut self.marks), self.frame_dur)
            .into_iter()
            .map(|m| {
                let plural = |n: u64| if n == 1 { "frame" } else { "frames" };
                let mut what_happened = Vec::new();
                if m.concealed > 0 {
                    what_happened.push(format!("{} {} concealed", m.concealed, plural(m.concealed)));
                }
                if m.lost > 0 {
                    what_happened.push(format!("{} {} lost", m.lost, plural(m.lost)));
                }
                if what_happened.is_empty() {
                    what_happened.push("decoding errors, no frame lost".to_string());
                }
                format!(
                    "{what}: damaged video from {} to {} ({})",
                    self.secs(m.start),
                    self.secs(m.end),
                    what_happened.join(", ")
                )
            })
            .collect();
        if let Some((n, first)) = self.unreadable {
            let noun = if n == 1 { "packet" } else { "packets" };
            lines.push(format!("{what}: {n} unreadable {noun} skipped (the first after {})", self.secs(first)));
        }
        if let Some((read, listed)) = self.truncated {
            lines.push(format!(
                "{what}: the file ends early: {} of its {listed} video frames are missing (the video stops at {})",
                listed - read,
                self.secs(self.last + self.frame_dur)
            ));
        }
        lines
    }
}

/// Sorts the marks and joins those that touch (less than half a frame apart).
fn merge(mut marks: Vec<Mark>, frame_dur: i64) -> Vec<Mark> {
    marks.sort_by_key(|m| (m.start, m.end));
    let mut out: Vec<Mark> = Vec::new();
    for m in marks {
        match out.last_mut() {
            Some(cur) if m.start <= cur.end + frame_dur / 2 => {
                cur.end = cur.end.max(m.end);
                cur.concealed += m.concealed;
                cur.lost += m.lost;
            }
            _ => out.push(m),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(start: i64, end: i64, concealed: u64, lost: u64) -> Mark {
        Mark { start, end, concealed, lost }
    }

    #[test]
    fn touching_marks_merge_and_a_clean_frame_splits() {
        let got = merge(vec![mark(20, 30, 1, 0), mark(0, 10, 1, 0), mark(10, 20, 0, 1), mark(40, 50, 1, 0)], 10);
        assert_eq!(got, vec![mark(0, 30, 2, 1), mark(40, 50, 1, 0)]);
    }

    #[test]
    fn a_packet_without_a_frame_is_lost_only_after_an_error() {
        ffmpeg::init().unwrap();
        let frame = ffmpeg::frame::Video::new(ffmpeg::format::Pixel::YUV420P, 4, 4);
        let mut log = DamageLog::new(Rational(1, 10), 1, false);
        for t in 0..4 {
            log.packet(Some(t), false).unwrap();
        }
        // Packet 1 vanishes silently (no error): not damage. Packet 3 vanishes after an error.
        log.frame(&frame, Some(0), 0).unwrap();
        log.frame(&frame, Some(2), 2).unwrap();
        log.decode_error(Some(3), &ffmpeg::Error::InvalidData).unwrap();
        log.packet(Some(4), false).unwrap();
        log.frame(&frame, Some(4), 4).unwrap();
        assert_eq!(log.finish("x.mp4"), vec!["x.mp4: damaged video from 0.300 s to 0.400 s (1 frame lost)"]);
    }

    #[test]
    fn strict_stops_at_the_first_damage() {
        let mut log = DamageLog::new(Rational(1, 1000), 40, true);
        let e = log.packet(Some(1250), true).unwrap_err();
        assert!(e.contains("1.250 s") && e.contains("stopped by the strict setting"), "{e}");
    }
}
