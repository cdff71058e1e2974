//! The stages of the video path on their own named threads, joined by bounded channels:
//! [`Source`] → frame upscalers ([`workers`]) → the in-order stage when there is one
//! ([`InOrder`]: the temporal stabiliser) → [`Sink`]. Memory is bounded by
//! the channel depths; a dropped sender ends the stream; the first error stops every stage and is
//! the one reported.

use std::path::Path;

use crossbeam_channel::bounded;

use super::items::{Control, Item};
use super::stages::{InOrder, Sink, Source};
use super::workers::{self, Pool};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// How a transcode ended when no stage failed: the pipeline's outcome.
pub struct Transcoded {
    /// Frames written to the output.
    pub frames: u64,
    /// The progress callback asked to stop: the output holds the frames done so far.
    pub interrupted: bool,
}

/// Lowers the calling thread's priority to the lowest (nice 19). On the CPU the network is the bottleneck
/// and splits each operator across every core: a decoder or encoder slice landing on one core
/// stalls the whole operator, so those stages yield and take the gaps between the model's runs
/// (the bounded channels keep them from falling behind for long).
fn yield_to_model() {
    // SAFETY: setpriority on this thread's own id; a failure only leaves the priority as it was.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19);
    }
}

/// Runs the stages until the source ends, the user interrupts, or a stage fails. `depth`
/// items wait between stages at most; `yield_io` lowers the source's and sink's priority (the
/// model on the CPU). `in_order` sees every upscaled picture in input order before the sink.
#[allow(clippy::too_many_arguments)]
pub fn run(
    input: &Path,
    source: impl Source,
    pool: Pool,
    in_order: Option<&mut dyn InOrder>,
    sink: impl Sink,
    depth: usize,
    yield_io: bool,
    progress: &dyn Progress,
) -> Result<Transcoded> {
    let ctl = Control::default();
    let (to_model, from_source) = bounded::<Item>(depth.max(1));
    let (to_next, from_model) = bounded::<Item>(depth.max(1));
    let (to_sink, from_stage) = match in_order {
        Some(_) => {
            let (tx, rx) = bounded::<Item>(depth.max(1));
            (Some(tx), rx)
        }
        None => (None, from_model.clone()),
    };
    let panicked = |what: &str| Error::video(input, format!("internal error: the {what} stopped"));
    let cannot_start = |what: &str, e: std::io::Error| Error::thread(what, e);

    let frames = std::thread::scope(|s| -> Result<u64> {
        let ctl = &ctl;
        let src = std::thread::Builder::new()
            .name("decoder".into())
            .spawn_scoped(s, move || {
                if yield_io {
                    yield_to_model();
                }
                if let Err(e) = source.run(to_model, ctl, progress) {
                    ctl.fail(e);
                }
            })
            .map_err(|e| cannot_start("decoder", e))?;
        let model = std::thread::Builder::new()
            .name("upscaler".into())
            .spawn_scoped(s, move || workers::run(input, pool, from_source, to_next, depth, ctl, progress))
            .map_err(|e| cannot_start("upscaler", e))?;
        let stage = match (in_order, to_sink) {
            (Some(stage), Some(to_sink)) => Some(
                std::thread::Builder::new()
                    .name("temporal".into())
                    .spawn_scoped(s, move || {
                        if let Err(e) = in_order_stage(stage, from_model, to_sink, ctl) {
                            ctl.fail(e);
                        }
                    })
                    .map_err(|e| cannot_start("temporal", e))?,
            ),
            _ => {
                drop(from_model);
                None
            }
        };
        let snk = std::thread::Builder::new()
            .name("encoder".into())
            .spawn_scoped(s, move || {
                if yield_io {
                    yield_to_model();
                }
                match sink.run(from_stage, ctl, progress) {
                    Ok(n) => n,
                    Err(e) => {
                        ctl.fail(e);
                        0
                    }
                }
            })
            .map_err(|e| cannot_start("encoder", e))?;
        let d = src.join();
        let m = model.join();
        let t = stage.map(|t| t.join());
        let frames = snk.join();
        d.map_err(|_| panicked("decoder"))?;
        m.map_err(|_| panicked("upscaler"))?;
        t.transpose().map_err(|_| panicked("temporal stage"))?;
        frames.map_err(|_| panicked("encoder"))
    });
    if let Some(e) = ctl.take_error() {
        return Err(e);
    }
    Ok(Transcoded { frames: frames?, interrupted: ctl.interrupted() })
}

/// The in-order stage's loop: pictures through `stage` (history frames end there), packets
/// straight on, until the channel closes or a stage fails.
fn in_order_stage(
    stage: &mut dyn InOrder,
    rx: crossbeam_channel::Receiver<Item>,
    tx: crossbeam_channel::Sender<Item>,
    ctl: &Control,
) -> Result<()> {
    for item in rx {
        if ctl.halted() {
            break;
        }
        let next = match item {
            Item::Frame(pic) => match stage.next(pic)? {
                Some(pic) => Item::Frame(pic),
                None => continue,
            },
            packet => packet,
        };
        if tx.send(next).is_err() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The pipeline with test doubles: a scripted source, upscalers that sleep and record when
    //! they ran, and a sink that records what reached it.

    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use crossbeam_channel::{Receiver, Sender};
    use ffmpeg_next::{Packet, Rational};
    use image::{Rgb, RgbImage};

    use super::*;
    use crate::video::items::Picture;
    use crate::video::stages::FrameUpscaler;

    /// Frames 0, 1, 2, … (a 4×4 picture of grey level k, timestamp k), each followed by an
    /// audio-like packet with the same timestamp.
    struct Script {
        frames: i64,
    }

    impl Source for Script {
        fn run(self, tx: Sender<Item>, ctl: &Control, _: &dyn Progress) -> Result<()> {
            for k in 0..self.frames {
                if ctl.stopping() {
                    break;
                }
                let rgb = RgbImage::from_pixel(4, 4, Rgb([k as u8; 3]));
                let mut p = Packet::new(8);
                p.set_pts(Some(k));
                if tx.send(Item::Frame(Picture::new(rgb.into(), k))).is_err()
                    || tx.send(Item::Packet(p, Rational(1, 25))).is_err()
                {
                    break;
                }
            }
            Ok(())
        }
    }

    /// What reached the sink, as `f<pts>` (checked to hold its own picture, upscaled ×2) and `p<pts>`.
    #[derive(Clone, Default)]
    struct Recorder {
        seen: Arc<Mutex<Vec<String>>>,
        /// Ask to stop after this many frames.
        stop_after: Option<u64>,
    }

    impl Sink for Recorder {
        fn run(self, rx: Receiver<Item>, ctl: &Control, _: &dyn Progress) -> Result<u64> {
            let mut frames = 0;
            for item in rx {
                let entry = match item {
                    Item::Frame(p) => {
                        assert_eq!(p.rgb.dimensions(), (8, 8));
                        assert_eq!(
                            p.rgb.as_rgb8().unwrap().get_pixel(7, 7).0,
                            [p.pts as u8; 3],
                            "frame {} holds another's picture",
                            p.pts
                        );
                        frames += 1;
                        if self.stop_after == Some(frames) {
                            ctl.interrupt();
                        }
                        format!("f{}", p.pts)
                    }
                    Item::Packet(p, _) => format!("p{}", p.pts().unwrap()),
                };
                self.seen.lock().unwrap().push(entry);
            }
            Ok(frames)
        }
    }

    /// One call of a [`Sleeper`]: which upscaler, when it began and ended.
    type Calls = Arc<Mutex<Vec<(usize, Instant, Instant)>>>;

    /// Doubles each picture's size after sleeping; fails at frame `fail_at` when set.
    struct Sleeper {
        id: usize,
        sleep: Duration,
        calls: Calls,
        fail_at: Option<u8>,
    }

    impl Sleeper {
        fn new(id: usize, ms: u64, calls: &Calls) -> Self {
            Sleeper { id, sleep: Duration::from_millis(ms), calls: calls.clone(), fail_at: None }
        }
    }

    impl FrameUpscaler for Sleeper {
        fn upscale_frame(&mut self, rgb: &RgbImage) -> Result<RgbImage> {
            let start = Instant::now();
            std::thread::sleep(self.sleep);
            let level = rgb.get_pixel(0, 0).0[0];
            self.calls.lock().unwrap().push((self.id, start, Instant::now()));
            if self.fail_at == Some(level) {
                return Err(Error::runtime(format!("the double fails at frame {level}"), None));
            }
            Ok(image::imageops::resize(rgb, 8, 8, image::imageops::FilterType::Nearest))
        }
    }

    /// Notes given, in order.
    #[derive(Default)]
    struct Notes(Mutex<Vec<String>>);

    impl Progress for Notes {
        fn event(&self, e: &crate::progress::Event) -> bool {
            if let crate::progress::Event::Note { message } = e {
                self.0.lock().unwrap().push(message.clone());
            }
            true
        }
    }

    fn expected(frames: i64) -> Vec<String> {
        (0..frames).flat_map(|k| [format!("f{k}"), format!("p{k}")]).collect()
    }

    /// Runs `frames` frames through `main` and `workers`; returns what the sink saw.
    fn run_doubles(
        frames: i64,
        main: &mut Sleeper,
        workers: &mut [Sleeper],
        calibrate: bool,
        sink: Recorder,
        progress: &dyn Progress,
    ) -> Result<(Vec<String>, Transcoded)> {
        let workers = workers.iter_mut().map(|w: &mut Sleeper| w as &mut dyn FrameUpscaler).collect();
        let pool = Pool { main, workers, calibrate };
        let seen = sink.seen.clone();
        let outcome = run(Path::new("script"), Script { frames }, pool, None, sink, 2, false, progress)?;
        let seen = seen.lock().unwrap().clone();
        Ok((seen, outcome))
    }

    /// Issue 12: with a copied packet between every two frames, both workers still run at the
    /// same time (a packet used to wait in the queue of the worker taking the next frame, so the
    /// dispatcher blocked on it and the other worker idled), and everything leaves in input order.
    #[test]
    fn workers_overlap_with_packets_between_every_frame_and_order_is_kept() {
        let calls = Calls::default();
        let mut main = Sleeper::new(9, 30, &calls);
        let mut workers = [Sleeper::new(0, 30, &calls), Sleeper::new(1, 30, &calls)];
        let (seen, outcome) =
            run_doubles(24, &mut main, &mut workers, false, Recorder::default(), &crate::progress::NoProgress).unwrap();
        assert_eq!(seen, expected(24));
        assert_eq!((outcome.frames, outcome.interrupted), (24, false));
        let calls = calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 24);
        assert!(calls.iter().all(|c| c.0 != 9), "the all-core upscaler ran without calibration");
        let (a, b): (Vec<&(usize, Instant, Instant)>, Vec<_>) = calls.iter().partition(|c| c.0 == 0);
        assert!(!a.is_empty() && !b.is_empty(), "one worker did every frame");
        let overlaps = a.iter().filter(|x| b.iter().any(|y| x.1 < y.2 && y.1 < x.2)).count();
        assert!(overlaps > 0, "the two workers never ran at the same time: {calls:?}");
    }

    /// One upscaler alone (no workers): the same order.
    #[test]
    fn one_upscaler_keeps_the_order() {
        let calls = Calls::default();
        let mut main = Sleeper::new(9, 1, &calls);
        let (seen, _) =
            run_doubles(10, &mut main, &mut [], true, Recorder::default(), &crate::progress::NoProgress).unwrap();
        assert_eq!(seen, expected(10));
        assert_eq!(calls.lock().unwrap().len(), 10);
    }

    /// Choosing by timing: the first frames run on the all-core upscaler, then on the workers;
    /// the rest all go to the one the note names, and the order is kept throughout.
    #[test]
    fn calibration_times_both_then_keeps_the_one_it_names() {
        let calls = Calls::default();
        let mut main = Sleeper::new(9, 5, &calls);
        let mut workers = [Sleeper::new(0, 5, &calls), Sleeper::new(1, 5, &calls)];
        let notes = Notes::default();
        let (seen, _) = run_doubles(30, &mut main, &mut workers, true, Recorder::default(), &notes).unwrap();
        assert_eq!(seen, expected(30));
        let notes = notes.0.lock().unwrap().clone();
        assert_eq!(notes.len(), 1, "{notes:?}");
        let calls = calls.lock().unwrap().clone();
        let on_main = calls.iter().filter(|c| c.0 == 9).count();
        // Calibration: 1 + 3 frames on the main upscaler, (1 + 3) × 2 on the workers; 18 left.
        if notes[0].contains("using the workers") {
            assert_eq!(on_main, 4, "{notes:?}");
        } else {
            assert!(notes[0].contains("using the one session"), "{notes:?}");
            assert_eq!(on_main, 4 + 18, "{notes:?}");
        }
        assert_eq!(calls.len(), 30);
        // The first four frames went to the main upscaler, in a row.
        let mut by_start = calls.clone();
        by_start.sort_by_key(|c| c.1);
        assert!(by_start[..4].iter().all(|c| c.0 == 9), "{by_start:?}");
    }

    /// An interrupt from the sink ends the output with a whole prefix of the input.
    #[test]
    fn interrupt_leaves_a_prefix_in_order() {
        let calls = Calls::default();
        let mut main = Sleeper::new(9, 5, &calls);
        let mut workers = [Sleeper::new(0, 5, &calls), Sleeper::new(1, 5, &calls)];
        let sink = Recorder { stop_after: Some(5), ..Recorder::default() };
        let (seen, outcome) =
            run_doubles(40, &mut main, &mut workers, false, sink, &crate::progress::NoProgress).unwrap();
        assert!(outcome.interrupted);
        assert!(outcome.frames >= 5 && outcome.frames < 40, "{seen:?}");
        assert_eq!(seen[..], expected(40)[..seen.len()]);
    }

    /// A worker's error stops the run and is the error reported.
    #[test]
    fn a_worker_error_is_the_error_reported() {
        let calls = Calls::default();
        let mut main = Sleeper::new(9, 1, &calls);
        let mut workers = [Sleeper::new(0, 1, &calls), Sleeper::new(1, 1, &calls)];
        workers[1].fail_at = Some(7);
        workers[0].fail_at = Some(7);
        let r = run_doubles(40, &mut main, &mut workers, false, Recorder::default(), &crate::progress::NoProgress);
        match r {
            Err(Error::Runtime { msg, .. }) => assert!(msg.contains("frame 7"), "{msg}"),
            Err(e) => panic!("{e}"),
            Ok((seen, _)) => panic!("no error: {seen:?}"),
        }
    }
}
