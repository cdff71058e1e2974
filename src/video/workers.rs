//! The middle stage of the video path: pictures are upscaled on one or several
//! [`FrameUpscaler`]s at once, each on its own thread taking the next frame as soon as it is
//! free. Copied packets never enter a worker's queue (an audio packet there made the other
//! worker wait for that worker's frame): they go straight to the collector, which puts pictures
//! and packets back in input order (`Reorder`). Memory stays bounded: a fixed number of frames
//! and of packets may be between the source and the sink at once.
//!
//! With several workers it can also choose between them and one all-core session by timing the
//! first frames each way (see [`Pool::calibrate`]): which is faster depends on the CPU.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, SendTimeoutError, Sender};

use super::items::{Control, Item, Picture, Pixels};
use super::reorder::Reorder;
use super::stages::FrameUpscaler;
use crate::error::Error;
use crate::progress::Progress;

/// Copied packets in flight at most between the source and the sink (they wait for the frame
/// before them). Audio comes at about 50 packets a second: this is seconds of it, in little memory.
const PACKETS_IN_FLIGHT: usize = 256;

/// While choosing: frames each upscaler runs untimed first (its first run sets up its memory),
/// then timed.
const WARM_UP_FRAMES: u64 = 1;
const TIMED_FRAMES: u64 = 3;

/// How often a stage blocked on a full queue looks whether to stop.
const POLL: Duration = Duration::from_millis(50);

/// The upscalers the middle stage may use.
pub struct Pool<'a> {
    /// One upscaler on every core (what `--threads N` runs).
    pub main: &'a mut dyn FrameUpscaler,
    /// Independent copies that take different frames at once (`Upscaler::frame_workers`);
    /// empty when `main` alone runs.
    pub workers: Vec<&'a mut dyn FrameUpscaler>,
    /// With workers: run the first frames on `main` alone, then on the workers, timing each
    /// after a warm-up, and keep the faster for the rest of the video (a note says which).
    /// Without it the workers run. Either way every frame is upscaled once and kept.
    pub calibrate: bool,
}

/// What timing the first frames found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Frames per second of the all-core upscaler alone.
    pub main_fps: f64,
    /// Frames per second of the workers together.
    pub workers_fps: f64,
    /// How many frame workers ran together in that timing.
    pub workers: usize,
}

impl Calibration {
    /// The workers are kept unless the single upscaler was faster.
    pub fn prefer_workers(&self) -> bool {
        self.workers_fps >= self.main_fps
    }

    /// The note that reports the choice.
    pub fn note(&self, input: &Path) -> String {
        let (w, m) = (self.workers_fps, self.main_fps);
        let n = self.workers;
        if self.prefer_workers() {
            format!(
                "{}: {n} frame workers at {w:.2} frames/s, one all-core session at {m:.2}: using the workers",
                input.display()
            )
        } else {
            format!(
                "{}: one all-core session at {m:.2} frames/s, {n} frame workers at {w:.2}: using the one session",
                input.display()
            )
        }
    }
}

/// A frame numbered in input order.
struct Job {
    seq: u64,
    pic: Picture,
}

/// Runs the middle stage until `rx` closes or `ctl` says stop; items leave on `tx` in the order
/// they came, pictures upscaled. At most `depth` frames wait for a worker.
pub fn run(
    input: &Path,
    pool: Pool,
    rx: Receiver<Item>,
    tx: Sender<Item>,
    depth: usize,
    ctl: &Control,
    progress: &dyn Progress,
) {
    let depth = depth.max(1);
    let frame_slots = Slots::new(depth + pool.workers.len().max(1));
    let packet_slots = Slots::new(PACKETS_IN_FLIGHT);
    let (job_tx, job_rx) = bounded::<Job>(depth);
    let (done_tx, done_rx) = bounded::<(u64, Item)>(frame_slots.size + packet_slots.size);
    std::thread::scope(|s| {
        let (frames, packets) = (&frame_slots, &packet_slots);
        let to_collector = done_tx.clone();
        let dispatcher = std::thread::Builder::new()
            .name("dispatcher".into())
            .spawn_scoped(s, move || dispatch(rx, job_tx, to_collector, frames, packets, ctl));
        let collector = std::thread::Builder::new()
            .name("reorder".into())
            .spawn_scoped(s, move || collect(done_rx, tx, frames, packets));
        if let Err(e) = dispatcher.and(collector) {
            ctl.fail(Error::thread("dispatcher", e));
            return;
        }
        upscale(input, pool, job_rx, done_tx, ctl, progress);
    });
}

/// A count of places, taken before an item goes in flight and given back when it leaves.
struct Slots {
    size: usize,
    take: Sender<()>,
    give: Receiver<()>,
    /// The collector has gone: nothing will be given back.
    closed: AtomicBool,
}

impl Slots {
    fn new(size: usize) -> Self {
        let (take, give) = bounded(size);
        Slots { size, take, give, closed: AtomicBool::new(false) }
    }

    /// Waits for a place; false when the run stops first.
    fn acquire(&self, ctl: &Control) -> bool {
        loop {
            if self.closed.load(Ordering::SeqCst) {
                return false;
            }
            match self.take.send_timeout((), POLL) {
                Ok(()) => return true,
                Err(SendTimeoutError::Timeout(())) if !ctl.stopping() => continue,
                Err(_) => return false,
            }
        }
    }

    fn release(&self) {
        let _ = self.give.try_recv();
    }
}

/// Sends `job`, looking every [`POLL`] whether to stop; false when the run stops or no worker is left.
fn send_job(jobs: &Sender<Job>, mut job: Job, ctl: &Control) -> bool {
    loop {
        match jobs.send_timeout(job, POLL) {
            Ok(()) => return true,
            Err(SendTimeoutError::Timeout(j)) if !ctl.stopping() => job = j,
            Err(_) => return false,
        }
    }
}

/// Numbers the items as they come: frames to the workers' queue, packets straight to the
/// collector.
fn dispatch(
    rx: Receiver<Item>,
    jobs: Sender<Job>,
    done: Sender<(u64, Item)>,
    frames: &Slots,
    packets: &Slots,
    ctl: &Control,
) {
    for (seq, item) in (0u64..).zip(rx) {
        match item {
            Item::Frame(pic) => {
                if ctl.stopping() || !frames.acquire(ctl) || !send_job(&jobs, Job { seq, pic }, ctl) {
                    return;
                }
            }
            packet => {
                if !packets.acquire(ctl) || done.send((seq, packet)).is_err() {
                    return;
                }
            }
        }
    }
}

/// Passes items on in input order. When the input ends with a frame missing (the run was
/// interrupted while it was queued), what came after it is dropped: the output is a prefix.
fn collect(done: Receiver<(u64, Item)>, tx: Sender<Item>, frames: &Slots, packets: &Slots) {
    let mut order = Reorder::default();
    'input: for (seq, item) in done.iter() {
        order.push(seq, item);
        while let Some(item) = order.pop() {
            let slots = if matches!(item, Item::Frame(_)) { frames } else { packets };
            if tx.send(item).is_err() {
                break 'input;
            }
            slots.release();
        }
    }
    for slots in [frames, packets] {
        slots.closed.store(true, Ordering::SeqCst);
    }
}

/// Runs the pool on the queued frames until the input ends: the workers, or after timing the
/// first frames each way, the faster of the workers and the all-core upscaler.
fn upscale(
    input: &Path,
    mut pool: Pool,
    jobs: Receiver<Job>,
    done: Sender<(u64, Item)>,
    ctl: &Control,
    progress: &dyn Progress,
) {
    let q = Queue { jobs: &jobs, done: &done, ctl };
    let use_workers = if pool.workers.is_empty() {
        false
    } else if !pool.calibrate {
        true
    } else {
        match calibrate(&mut pool, &q) {
            Some(c) => {
                progress.note(&c.note(input));
                c.prefer_workers()
            }
            None => return,
        }
    };
    if use_workers {
        q.run(&mut pool.workers, "upscaler", None);
    } else {
        q.run(std::slice::from_mut(&mut pool.main), "upscaler-all", None);
    }
}

/// Times the all-core upscaler, then the workers, each on its own frames after a warm-up;
/// `None` when the input ended or the run stopped first (nothing left to choose for).
fn calibrate(pool: &mut Pool, q: &Queue) -> Option<Calibration> {
    let over = |p: &Phase| p.input_ended || q.ctl.stopping();
    let main = std::slice::from_mut(&mut pool.main);
    if over(&q.run(main, "upscaler-all", Some(WARM_UP_FRAMES))) {
        return None;
    }
    let single = q.run(main, "upscaler-all", Some(TIMED_FRAMES));
    if over(&single) || over(&q.run(&mut pool.workers, "upscaler", Some(WARM_UP_FRAMES))) {
        return None;
    }
    let multi = q.run(&mut pool.workers, "upscaler", Some(TIMED_FRAMES));
    if over(&multi) {
        return None;
    }
    Some(Calibration { main_fps: single.fps(), workers_fps: multi.fps(), workers: pool.workers.len() })
}

/// The workers' side of the frame queue.
struct Queue<'a> {
    jobs: &'a Receiver<Job>,
    done: &'a Sender<(u64, Item)>,
    ctl: &'a Control,
}

/// How one run of some upscalers on the queue went.
struct Phase {
    frames: u64,
    elapsed: Duration,
    /// The input has no frame left.
    input_ended: bool,
}

impl Phase {
    fn fps(&self) -> f64 {
        self.frames as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl Queue<'_> {
    /// Runs each of `ups` on its own thread (`name-K`), taking frames from the queue until it
    /// has done `each` (or until the input ends); returns when all have stopped.
    fn run(&self, ups: &mut [&mut dyn FrameUpscaler], name: &str, each: Option<u64>) -> Phase {
        let started = Instant::now();
        let ended = AtomicBool::new(false);
        let frames = AtomicU64::new(0);
        std::thread::scope(|s| {
            for (k, up) in ups.iter_mut().enumerate() {
                let up: &mut dyn FrameUpscaler = &mut **up;
                let (ended, frames) = (&ended, &frames);
                let name = if name.ends_with("-all") { name.to_string() } else { format!("{name}-{k}") };
                let spawned = std::thread::Builder::new()
                    .name(name.clone())
                    .spawn_scoped(s, move || self.work(up, each, ended, frames));
                if let Err(e) = spawned {
                    self.ctl.fail(Error::thread(name, e));
                }
            }
        });
        Phase { frames: frames.into_inner(), elapsed: started.elapsed(), input_ended: ended.into_inner() }
    }

    fn work(&self, up: &mut dyn FrameUpscaler, each: Option<u64>, ended: &AtomicBool, count: &AtomicU64) {
        let mut n = 0;
        while each.is_none_or(|e| n < e) {
            let job = match self.jobs.recv_timeout(POLL) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) if !self.ctl.stopping() => continue,
                Err(RecvTimeoutError::Timeout) => return,
                Err(RecvTimeoutError::Disconnected) => {
                    ended.store(true, Ordering::SeqCst);
                    return;
                }
            };
            if self.ctl.stopping() {
                return;
            }
            let upscaled = match &job.pic.rgb {
                Pixels::Rgb8(p) => up.upscale_frame(p).map(Pixels::Rgb8),
                Pixels::Rgb16(p) => up.upscale_frame16(p).map(Pixels::Rgb16),
            };
            let rgb = match upscaled {
                Ok(rgb) => rgb,
                Err(e) => {
                    self.ctl.fail(e);
                    return;
                }
            };
            let Picture { rgb: source, pts, history, .. } = job.pic;
            let pic = Picture { rgb, pts, history, source: Some(source) };
            if self.done.send((job.seq, Item::Frame(pic))).is_err() {
                return;
            }
            n += 1;
            count.fetch_add(1, Ordering::SeqCst);
        }
    }
}
