//! The three stages of the video path on their own named threads, joined by bounded channels:
//! decoder → upscaler → encoder. Memory is bounded by the channel depth; a dropped sender ends
//! the stream; the first error stops every stage and is the one reported.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crossbeam_channel::{bounded, Receiver, Sender};
use ffmpeg_next as ffmpeg;
use image::RgbImage;

use super::decode::Decoder;
use crate::config::Device;
use crate::engine::Upscaler;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// One picture on its way through the pipeline, with its timestamp in the input stream's time
/// base (kept as decoded: never recomputed from a frame rate).
pub struct Picture {
    pub rgb: RgbImage,
    pub pts: i64,
}

/// What travels down the channels: pictures, and the packets of copied streams in demuxing order
/// (they ride along so the muxer sees them interleaved with the video, in bounded memory).
pub enum Item {
    Frame(Picture),
    /// A packet already mapped to its output stream, with the input stream's time base.
    Packet(ffmpeg::Packet, ffmpeg::Rational),
}

/// Shared between the stages: why to stop, and the first error.
#[derive(Default)]
pub struct Control {
    halt: AtomicBool,
    interrupt: AtomicBool,
    first_error: Mutex<Option<Error>>,
}

impl Control {
    /// Records `e` if it is the first error, and stops every stage.
    pub fn fail(&self, e: Error) {
        let mut slot = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
        self.halt.store(true, Ordering::SeqCst);
    }
    /// The user asked to stop: finish the file with what is done.
    pub fn interrupt(&self) {
        self.interrupt.store(true, Ordering::SeqCst);
    }
    /// An error happened somewhere: stop without finishing.
    pub fn halted(&self) -> bool {
        self.halt.load(Ordering::SeqCst)
    }
    pub fn interrupted(&self) -> bool {
        self.interrupt.load(Ordering::SeqCst)
    }
    /// Either reason to stop taking new work.
    pub fn stopping(&self) -> bool {
        self.halted() || self.interrupted()
    }
    fn take_error(&self) -> Option<Error> {
        self.first_error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// The last stage: takes the upscaled pictures (and copied packets) until the channel closes,
/// and returns the frames it wrote. The encoder is one; the segment writer of a resumable job
/// another.
pub trait Sink: Send {
    fn run(self, rx: Receiver<Item>, ctl: &Control, progress: &dyn Progress) -> Result<u64>;
}

/// How a run ended when no stage failed.
pub struct Outcome {
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

/// Runs the three stages until the input ends, the user interrupts, or a stage fails.
pub fn run(
    input: &Path,
    decoder: Decoder,
    up: &mut Upscaler<'_>,
    encoder: impl Sink,
    depth: usize,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let ctl = Control::default();
    let (to_model, from_decoder) = bounded::<Item>(depth.max(1));
    let (to_encoder, from_model) = bounded::<Item>(depth.max(1));
    let panicked = |what: &str| Error::video(input, format!("internal error: the {what} stopped"));
    let cpu_model = up.device() == Device::Cpu && !up.passes().is_empty();
    let mut workers = up.frame_workers()?;
    let workers = (!workers.is_empty()).then_some(&mut workers);

    let frames = std::thread::scope(|s| -> Result<u64> {
        let ctl = &ctl;
        let dec = std::thread::Builder::new()
            .name("decoder".into())
            .spawn_scoped(s, move || {
                if cpu_model {
                    yield_to_model();
                }
                if let Err(e) = decoder.run(to_model, ctl, progress) {
                    ctl.fail(e);
                }
            })
            .map_err(|e| Error::thread("decoder", e))?;
        let model = std::thread::Builder::new()
            .name("upscaler".into())
            .spawn_scoped(s, move || match workers {
                Some(workers) => alternate(workers, from_decoder, to_encoder, ctl),
                None => upscale_stage(up, from_decoder, to_encoder, ctl),
            })
            .map_err(|e| Error::thread("upscaler", e))?;
        let enc = std::thread::Builder::new()
            .name("encoder".into())
            .spawn_scoped(s, move || {
                if cpu_model {
                    yield_to_model();
                }
                match encoder.run(from_model, ctl, progress) {
                    Ok(n) => n,
                    Err(e) => {
                        ctl.fail(e);
                        0
                    }
                }
            })
            .map_err(|e| Error::thread("encoder", e))?;
        let d = dec.join();
        let m = model.join();
        let frames = enc.join();
        d.map_err(|_| panicked("decoder"))?;
        m.map_err(|_| panicked("upscaler"))?;
        frames.map_err(|_| panicked("encoder"))
    });
    if let Some(e) = ctl.take_error() {
        return Err(e);
    }
    Ok(Outcome { frames: frames?, interrupted: ctl.interrupted() })
}

/// The upscaling stage on one upscaler: frames in, frames out, copied packets passed along.
fn upscale_stage(up: &mut Upscaler<'_>, rx: Receiver<Item>, tx: Sender<Item>, ctl: &Control) {
    for item in rx {
        let item = match item {
            Item::Frame(_) if ctl.stopping() => break,
            Item::Frame(p) => match up.upscale_rgb8(&p.rgb) {
                Ok(rgb) => Item::Frame(Picture { rgb, pts: p.pts }),
                Err(e) => {
                    ctl.fail(e);
                    break;
                }
            },
            packet => packet,
        };
        if tx.send(item).is_err() {
            break;
        }
    }
}

/// The upscaling stage on several upscalers ([`Upscaler::frame_workers`]), each on its own
/// thread, taking frames in turn. Order is kept without sorting: frame k goes to worker k mod n
/// behind the packets that came since frame k − 1, and the collector reads each worker's queue
/// up to its frame before turning to the next worker, so items leave in the order they came.
fn alternate(workers: &mut [Upscaler<'_>], rx: Receiver<Item>, tx: Sender<Item>, ctl: &Control) {
    std::thread::scope(|s| {
        let (mut ins, mut outs) = (Vec::new(), Vec::new());
        for (k, up) in workers.iter_mut().enumerate() {
            let (in_tx, in_rx) = bounded::<Item>(1);
            let (out_tx, out_rx) = bounded::<Item>(1);
            let spawned = std::thread::Builder::new()
                .name(format!("upscaler-{k}"))
                .spawn_scoped(s, move || upscale_stage(up, in_rx, out_tx, ctl));
            if let Err(e) = spawned {
                ctl.fail(Error::thread(format!("upscaler-{k}"), e));
                return;
            }
            ins.push(in_tx);
            outs.push(out_rx);
        }
        s.spawn(move || {
            let mut k = 0;
            while let Ok(item) = outs[k].recv() {
                let frame = matches!(item, Item::Frame(_));
                if tx.send(item).is_err() {
                    break;
                }
                if frame {
                    k = (k + 1) % outs.len();
                }
            }
        });
        let mut k = 0;
        for item in rx {
            let frame = matches!(item, Item::Frame(_));
            if frame && ctl.stopping() {
                break;
            }
            if ins[k].send(item).is_err() {
                break;
            }
            if frame {
                k = (k + 1) % ins.len();
            }
        }
    });
}
