//! The first stage of the video path: demux the input, decode its video stream, deinterlace it
//! when asked (libavfilter `bwdif`, one frame out per frame in), turn each frame into RGB, and
//! pass the packets of every copied stream along untouched. Damaged data is concealed by the
//! decoder and reported (see [`DamageLog`]), or stops the run with `--strict`.

use std::path::{Path, PathBuf};

use crossbeam_channel::Sender;
use ffmpeg_next as ffmpeg;

use ffmpeg::ffi;
use ffmpeg::format::Pixel;
use ffmpeg::util::color::{Primaries, Range, Space, TransferCharacteristic};
use ffmpeg::{codec, decoder, filter, format, media, Packet, Rational};

use super::color::{self, ToRgb};
use super::damage::DamageLog;
use super::items::{Control, Item, Picture};
use super::stages::Source;
use crate::config::{Deinterlace, Tonemap, VideoConfig};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Demuxer errors in a row after which the input is given up as unreadable (each is skipped).
const READ_ERRORS_IN_A_ROW: u32 = 1000;

/// What the encoder needs to know about the input's video stream.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    pub index: usize,
    pub width: u32,
    pub height: u32,
    /// The decoder's pixel format, `yuvj*` replaced by `yuv*` (the range is in `range`).
    pub format: Pixel,
    pub time_base: Rational,
    /// Average frame rate (or the stream's base rate, else 25).
    pub frame_rate: Rational,
    pub matrix: Space,
    pub range: Range,
    pub primaries: Primaries,
    pub transfer: TransferCharacteristic,
    /// Sample aspect ratio; 0/1 when unknown.
    pub sar: Rational,
    /// The stream's field order says interlaced.
    pub interlaced: bool,
    /// Frames in the stream: counted by the container, else estimated from the duration.
    pub total_frames: Option<u64>,
    /// `total_frames` is the duration times the frame rate, not a count the container keeps.
    pub frames_estimated: bool,
    /// HDR mastering display (`AVMasteringDisplayMetadata`) and content light level
    /// (`AVContentLightMetadata`), as FFmpeg lays them out: from the container, else from the
    /// first frame (HEVC and AV1 carry them in the bitstream).
    pub mastering: Option<Vec<u8>>,
    pub light: Option<Vec<u8>>,
    /// The HDR transfer the frames are tone-mapped from (`--tonemap sdr`); the tags above are
    /// then BT.709 and the HDR side data is gone.
    pub tonemap_from: Option<TransferCharacteristic>,
}

impl StreamInfo {
    /// A PQ or HLG transfer.
    pub fn is_hdr(&self) -> bool {
        matches!(self.transfer, TransferCharacteristic::SMPTE2084 | TransferCharacteristic::ARIB_STD_B67)
    }
}

/// The stream side data of `ty` on `st`, as bytes.
fn stream_side_data(st: &format::stream::Stream, ty: ffi::AVPacketSideDataType) -> Option<Vec<u8>> {
    // SAFETY: `st` borrows a live stream of an open input; its side-data array holds
    // `nb_side_data` entries, each `size` bytes at `data` (checked non-null), all owned by the
    // stream for the borrow's length, and copied out before it ends.
    unsafe {
        let p = st.as_ptr();
        (0..(*p).nb_side_data.max(0) as usize)
            .map(|i| &*(*p).side_data.add(i))
            .find(|sd| sd.type_ == ty)
            .and_then(|sd| (!sd.data.is_null()).then(|| std::slice::from_raw_parts(sd.data, sd.size).to_vec()))
    }
}

/// The frame side data of `ty` on `frame`, as bytes.
fn frame_side_data(frame: &ffmpeg::frame::Video, ty: ffi::AVFrameSideDataType) -> Option<Vec<u8>> {
    // SAFETY: `frame` is a valid decoded frame; `av_frame_get_side_data` returns null or an entry
    // the frame owns, whose `data` (checked non-null) holds `size` bytes, copied out at once.
    unsafe {
        let sd = ffi::av_frame_get_side_data(frame.as_ptr(), ty);
        (!sd.is_null() && !(*sd).data.is_null())
            .then(|| std::slice::from_raw_parts((*sd).data, (*sd).size as usize).to_vec())
    }
}

/// The input file opened for decoding its best video stream.
pub struct Decoder {
    path: PathBuf,
    ictx: format::context::Input,
    decoder: decoder::Video,
    info: StreamInfo,
    deinterlace: Deinterlace,
    /// Stop at the first damaged packet or frame.
    strict: bool,
    /// Output stream for each input stream whose packets are copied.
    copy_map: Vec<Option<usize>>,
    /// Frames up to this timestamp are decoded but not sent (a resumed job's finished part).
    skip_through: Option<i64>,
    /// Frames from this timestamp on are not sent, and reading stops at the first (a segment's end).
    stop_from: Option<i64>,
    /// Frames before this timestamp are sent as history (see [`Decoder::history_before`]).
    history_before: Option<i64>,
    /// Largest picture (width × height) accepted, from the stream's header and every frame.
    max_pixels: u64,
}

impl Decoder {
    /// Opens `path` and its video stream's decoder (`cfg`: deinterlacing and strictness).
    pub fn open(path: &Path, cfg: &VideoConfig) -> Result<Self> {
        let ictx = format::input(&path).map_err(|e| Error::ffmpeg(path, "cannot open as a video", e))?;
        let st = ictx.streams().best(media::Type::Video).ok_or_else(|| Error::video(path, "no video stream"))?;
        let index = st.index();
        let params = st.parameters();
        // Read as a plain number: the bindings' Rust enum must not hold an unchecked value.
        // SAFETY: `params` belongs to a stream of the open input; the field is read as the u32 it is in C.
        let field_order = unsafe { std::ptr::addr_of!((*params.as_ptr()).field_order).cast::<u32>().read() };
        let mut ctx = codec::context::Context::from_parameters(params)
            .map_err(|e| Error::video(path, format!("stream {index}: {e}")))?;
        // Strict runs decode on one thread: an error then belongs to the packet just sent, so
        // the timestamp it names is exact (frame threads report it a packet or two later).
        ctx.set_threading(codec::threading::Config {
            kind: codec::threading::Type::Frame,
            count: if cfg.strict { 1 } else { 2 },
            ..Default::default()
        });
        let mut decoder = ctx
            .decoder()
            .video()
            .map_err(|e| Error::video(path, format!("stream {index}: no decoder for this codec: {e}")))?;
        // Before any of them is read below as a Rust enum.
        // SAFETY: `decoder` owns the live AVCodecContext passed in (sanitize_enums' one requirement).
        unsafe { sanitize_enums(decoder.as_mut_ptr()) };
        let (width, height) = (decoder.width(), decoder.height());
        if width == 0 || height == 0 || decoder.format() == Pixel::None {
            return Err(Error::video(path, format!("stream {index}: unknown picture size or pixel format")));
        }
        let (format, jpeg) = color::normalize(decoder.format());
        let range = match jpeg {
            Some(r) => r,
            None => decoder.color_range(),
        };
        let tb = st.time_base();
        let rate = [st.avg_frame_rate(), st.rate()]
            .into_iter()
            .find(|r| r.numerator() > 0 && r.denominator() > 0)
            .unwrap_or(Rational(25, 1));
        let fps = f64::from(rate);
        let total_frames = if st.frames() > 0 {
            Some(st.frames() as u64)
        } else if st.duration() > 0 {
            Some((st.duration() as f64 * f64::from(tb) * fps).round() as u64)
        } else if ictx.duration() > 0 {
            Some((ictx.duration() as f64 / ffi::AV_TIME_BASE as f64 * fps).round() as u64)
        } else {
            None
        };
        let sar = decoder.aspect_ratio();
        let info = StreamInfo {
            index,
            width,
            height,
            format,
            time_base: tb,
            frame_rate: rate,
            matrix: decoder.color_space(),
            range,
            primaries: decoder.color_primaries(),
            transfer: decoder.color_transfer_characteristic(),
            sar: if sar.numerator() > 0 && sar.denominator() > 0 { sar } else { Rational(0, 1) },
            interlaced: [
                ffi::AVFieldOrder::AV_FIELD_TT,
                ffi::AVFieldOrder::AV_FIELD_BB,
                ffi::AVFieldOrder::AV_FIELD_TB,
                ffi::AVFieldOrder::AV_FIELD_BT,
            ]
            .into_iter()
            .any(|f| f as u32 == field_order),
            total_frames,
            frames_estimated: st.frames() <= 0,
            mastering: stream_side_data(&st, ffi::AVPacketSideDataType::AV_PKT_DATA_MASTERING_DISPLAY_METADATA),
            light: stream_side_data(&st, ffi::AVPacketSideDataType::AV_PKT_DATA_CONTENT_LIGHT_LEVEL),
            tonemap_from: None,
        };
        let n = ictx.nb_streams() as usize;
        let mut dec = Decoder {
            path: path.to_path_buf(),
            ictx,
            decoder,
            info,
            deinterlace: cfg.deinterlace,
            strict: cfg.strict,
            copy_map: vec![None; n],
            skip_through: None,
            stop_from: None,
            history_before: None,
            max_pixels: u64::MAX,
        };
        if dec.info.is_hdr() {
            if dec.info.mastering.is_none() || dec.info.light.is_none() {
                dec.peek_hdr_side_data()?;
            }
            if cfg.tonemap == Tonemap::Sdr {
                let i = &mut dec.info;
                i.tonemap_from = Some(i.transfer);
                (i.transfer, i.primaries, i.matrix) = (TransferCharacteristic::BT709, Primaries::BT709, Space::BT709);
                (i.mastering, i.light) = (None, None);
            }
        }
        Ok(dec)
    }

    /// Decodes the first frame for the HDR side data the container did not have, then starts
    /// the input again.
    fn peek_hdr_side_data(&mut self) -> Result<()> {
        let index = self.info.index;
        let mut frame = ffmpeg::frame::Video::empty();
        let mut packets = 0;
        let got = loop {
            let mut packet = Packet::empty();
            match packet.read(&mut self.ictx) {
                Ok(()) if packet.stream() != index => continue,
                Ok(()) => {
                    packets += 1;
                    let _ = self.decoder.send_packet(&packet);
                }
                Err(ffmpeg::Error::Eof) => {
                    let _ = self.decoder.send_eof();
                    break self.decoder.receive_frame(&mut frame).is_ok();
                }
                Err(ffmpeg::Error::InvalidData) => continue,
                Err(e) => return Err(self.err("cannot read", e)),
            }
            if self.decoder.receive_frame(&mut frame).is_ok() {
                break true;
            }
            if packets > 64 {
                break false;
            }
        };
        if got {
            let info = &mut self.info;
            if info.mastering.is_none() {
                info.mastering =
                    frame_side_data(&frame, ffi::AVFrameSideDataType::AV_FRAME_DATA_MASTERING_DISPLAY_METADATA);
            }
            if info.light.is_none() {
                info.light = frame_side_data(&frame, ffi::AVFrameSideDataType::AV_FRAME_DATA_CONTENT_LIGHT_LEVEL);
            }
        }
        self.reopen()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// The demuxer, for the encoder's setup (streams, chapters, metadata).
    pub fn input(&self) -> &format::context::Input {
        &self.ictx
    }

    /// Refuses pictures over `max` pixels: now, when the stream's header says it is larger, and
    /// while decoding, for any frame that is (a stream can change size mid-way). A few kilobytes
    /// can declare an 8K×12K MPEG-2 picture (found by fuzzing); this is the decompression-bomb
    /// guard the still path has in `--max-pixels`.
    pub fn limit_pixels(&mut self, max: u64) -> Result<()> {
        self.max_pixels = max;
        check_size(&self.path, self.info.width, self.info.height, max)
    }

    /// Sends packets of input stream `input` to output stream `output`, untouched.
    pub fn copy_stream(&mut self, input: usize, output: usize) {
        if let Some(slot) = self.copy_map.get_mut(input) {
            *slot = Some(output);
        }
    }

    /// The output stream that input stream `input`'s packets are copied to, if any.
    pub fn copy_target(&self, input: usize) -> Option<usize> {
        self.copy_map.get(input).copied().flatten()
    }

    /// Decodes but does not send the frames up to and including `pts` (a segment's start, see
    /// `crate::segments`).
    pub fn skip_through(&mut self, pts: i64) {
        self.skip_through = Some(pts);
    }

    /// Sends the frames before `pts` that it sends at all (after [`Decoder::skip_through`]) as
    /// history: upscaled as the temporal stabiliser's context for the frames from `pts` on, never
    /// encoded (a segment's start, see `crate::segments`).
    pub fn history_before(&mut self, pts: i64) {
        self.history_before = Some(pts);
    }

    /// Stops at the first frame at or after `pts`, which is not sent (see `crate::segments`).
    pub fn stop_from(&mut self, pts: i64) {
        self.stop_from = Some(pts);
    }

    /// Seeks the video stream to a keyframe at or before `ts` (in its time base) and empties
    /// the decoder; false when the demuxer cannot.
    pub fn seek_video(&mut self, ts: i64) -> bool {
        let index = self.info.index as i32;
        // SAFETY: a seek on the live demuxer this decoder owns.
        let r = unsafe { ffi::av_seek_frame(self.ictx.as_mut_ptr(), index, ts, ffi::AVSEEK_FLAG_BACKWARD) };
        self.decoder.flush();
        r >= 0
    }

    /// Opens the input again and empties the decoder: the surest way back to its first packet.
    pub fn reopen(&mut self) -> Result<()> {
        self.ictx = format::input(&self.path).map_err(|e| Error::ffmpeg(&self.path, "cannot reopen", e))?;
        self.decoder.flush();
        Ok(())
    }

    /// Decodes the video stream from the current position without sending anything, calling
    /// `look(timestamp, keyframe)` for each frame until it returns false or the input ends.
    /// Damaged data is skipped. For looking ahead before a run (a segment's start).
    pub fn decode_ahead(&mut self, mut look: impl FnMut(Option<i64>, bool) -> bool) -> Result<()> {
        let index = self.info.index;
        let mut packet = Packet::empty();
        let mut frame = ffmpeg::frame::Video::empty();
        let mut at_end = false;
        loop {
            if !at_end {
                match packet.read(&mut self.ictx) {
                    Ok(()) if packet.stream() != index => continue,
                    Ok(()) => match self.decoder.send_packet(&packet) {
                        Ok(()) | Err(ffmpeg::Error::InvalidData) => {}
                        Err(e) => return Err(self.err("cannot decode", e)),
                    },
                    Err(ffmpeg::Error::Eof) => {
                        at_end = true;
                        let _ = self.decoder.send_eof();
                    }
                    Err(ffmpeg::Error::InvalidData) => continue,
                    Err(e) => return Err(self.err("cannot read", e)),
                }
            }
            loop {
                match self.decoder.receive_frame(&mut frame) {
                    Ok(()) => {
                        if !look(frame.timestamp().or(frame.pts()), frame.is_key()) {
                            return Ok(());
                        }
                    }
                    Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::error::EAGAIN => break,
                    Err(ffmpeg::Error::InvalidData) => {}
                    Err(_) if at_end => return Ok(()),
                    Err(e) => return Err(self.err("cannot decode", e)),
                }
            }
        }
    }

    /// The next packet of a copied stream (see [`Decoder::copy_stream`]), already mapped to its
    /// output stream, with its input stream's time base; `None` at the end of the input. The
    /// video and other streams are skipped, as are packets the demuxer cannot read.
    pub fn next_copied(&mut self) -> Result<Option<(Packet, Rational)>> {
        loop {
            let mut p = Packet::empty();
            match p.read(&mut self.ictx) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => return Ok(None),
                Err(ffmpeg::Error::InvalidData) => continue,
                Err(e) => return Err(self.err("cannot read", e)),
            }
            let si = p.stream();
            if let Some(out) = self.copy_target(si) {
                let tb = self.ictx.stream(si).map_or(Rational(1, 1), |s| s.time_base());
                p.set_stream(out);
                return Ok(Some((p, tb)));
            }
        }
    }

    fn err(&self, what: &str, e: ffmpeg::Error) -> Error {
        Error::ffmpeg(&self.path, what, e)
    }

    /// Reads the whole input (or until asked to stop), sending pictures and copied packets;
    /// each damaged range is a warning through `progress` at the end.
    pub fn run(self, tx: Sender<Item>, ctl: &Control, progress: &dyn Progress) -> Result<()> {
        let path = self.path.clone();
        let frame_dur = frame_duration(self.info.frame_rate, self.info.time_base);
        let mut damage = DamageLog::new(self.info.time_base, frame_dur, self.strict);
        let result = self.decode(tx, ctl, &mut damage);
        for w in damage.finish(&path.display().to_string()) {
            progress.warn(&w);
        }
        result
    }

    fn decode(mut self, tx: Sender<Item>, ctl: &Control, damage: &mut DamageLog) -> Result<()> {
        let info = self.info.clone();
        let mut frames = Frames {
            tx,
            to_rgb: ToRgb::new(
                info.width,
                info.height,
                color::effective_matrix(info.matrix, info.height),
                info.range == Range::JPEG,
                color::depth(info.format) > 8,
            ),
            tone: None,
            deint: None,
            deint_for: (0, 0, Pixel::None),
            deint_all: false,
            decided: false,
            mode: self.deinterlace,
            info: info.clone(),
            last_pts: None,
            frame_dur: frame_duration(info.frame_rate, info.time_base),
            closed: false,
            skip_through: self.skip_through,
            stop_from: self.stop_from,
            history_before: self.history_before,
            max_pixels: self.max_pixels,
        };
        let damaged = |e: String| Error::video(&self.path, e);
        let mut read_errors = 0;
        let mut video_packets = 0u64;
        loop {
            if ctl.stopping() || frames.closed {
                return Ok(());
            }
            // A fresh packet each time: `Packet::read` (av_read_frame) overwrites what it is
            // given without unreferencing it, so reusing one leaked every video packet (found
            // by the demux_video fuzz target). This one is unreferenced when dropped.
            let mut packet = Packet::empty();
            match packet.read(&mut self.ictx) {
                Ok(()) => read_errors = 0,
                Err(ffmpeg::Error::Eof) => break,
                Err(e @ ffmpeg::Error::InvalidData) => {
                    // A packet the demuxer could not make sense of (a stream of any kind).
                    if self.strict {
                        let at = frames
                            .last_pts
                            .map_or(String::new(), |t| format!(" after {:.3} s", t as f64 * f64::from(info.time_base)));
                        return Err(damaged(format!("damaged data{at}: {e} (stopped by the strict setting)")));
                    }
                    damage.unreadable();
                    read_errors += 1;
                    if read_errors >= READ_ERRORS_IN_A_ROW {
                        return Err(self.err("cannot read", e));
                    }
                    continue;
                }
                Err(e) => return Err(self.err("cannot read", e)),
            }
            let si = packet.stream();
            if si == info.index {
                video_packets += 1;
                let pts = packet.pts().or(packet.dts());
                damage.packet(pts, packet.is_corrupt()).map_err(damaged)?;
                match self.decoder.send_packet(&packet) {
                    Ok(()) => {}
                    Err(e @ ffmpeg::Error::InvalidData) => damage.decode_error(pts, &e).map_err(damaged)?,
                    Err(e) => return Err(self.err("cannot decode", e)),
                }
                frames.drain(&mut self.decoder, &self.path, damage)?;
            } else if let Some(out) = self.copy_map.get(si).copied().flatten() {
                let tb = self.ictx.stream(si).map_or(Rational(1, 1), |s| s.time_base());
                let mut p = packet;
                p.set_stream(out);
                if frames.tx.send(Item::Packet(p, tb)).is_err() {
                    return Ok(());
                }
            }
        }
        // The end of the input: flush the decoder, then the deinterlacer.
        // The index (MP4, MOV) lists every packet: fewer read means the file was cut short.
        let listed = self.ictx.stream(info.index).map_or(0, |s| s.frames().max(0) as u64);
        if listed > video_packets {
            damage.truncated(video_packets, listed).map_err(damaged)?;
        }
        // EOF still reaches the decoder when it reports an earlier packet's error here.
        match self.decoder.send_eof() {
            Ok(()) => {}
            Err(e @ ffmpeg::Error::InvalidData) => damage.decode_error(None, &e).map_err(damaged)?,
            Err(e) => return Err(self.err("cannot decode", e)),
        }
        frames.drain(&mut self.decoder, &self.path, damage)?;
        frames.finish_deinterlacer(&self.path)
    }
}

impl Source for Decoder {
    fn run(self, tx: Sender<Item>, ctl: &Control, progress: &dyn Progress) -> Result<()> {
        Decoder::run(self, tx, ctl, progress)
    }
}

/// FFmpeg's names of its enum values, declared here taking a plain `int`: each returns null for
/// a value out of range or unnamed. (The bindings declare them taking the Rust enums, which
/// cannot be made from an unchecked value.)
mod names {
    use std::ffi::{c_char, c_int};
    #[allow(clashing_extern_declarations)]
    extern "C" {
        pub fn av_color_primaries_name(v: c_int) -> *const c_char;
        pub fn av_color_transfer_name(v: c_int) -> *const c_char;
        pub fn av_color_space_name(v: c_int) -> *const c_char;
        pub fn av_color_range_name(v: c_int) -> *const c_char;
        pub fn av_chroma_location_name(v: c_int) -> *const c_char;
        pub fn av_get_pix_fmt_name(v: c_int) -> *const c_char;
    }
}

/// Replaces each enum field of a decoder's context that holds a value FFmpeg does not name by
/// its "unspecified" value. FFmpeg copies some of them from the file unchecked (MPEG-1/2's
/// sequence display extension, Matroska's Colour element), and the bindings type these fields
/// as Rust enums, so reading one (`color_primaries()` and the like) would be undefined
/// behaviour: a 305-byte MPEG-1 stream read outside a lookup table (found by fuzzing, under
/// ASan; a bug of ffmpeg-next / ffmpeg-sys-next's enum bindings, guarded here).
///
/// # Safety
/// `ctx` must point to a live `AVCodecContext`.
unsafe fn sanitize_enums(ctx: *mut ffi::AVCodecContext) {
    use std::ffi::{c_char, c_int};
    use std::ptr::addr_of_mut;
    unsafe fn fix(field: *mut i32, name: unsafe extern "C" fn(c_int) -> *const c_char, unspecified: i32) {
        let v = field.read();
        if v != unspecified && name(v).is_null() {
            field.write(unspecified);
        }
    }
    fix(
        addr_of_mut!((*ctx).color_primaries).cast(),
        names::av_color_primaries_name,
        ffi::AVColorPrimaries::AVCOL_PRI_UNSPECIFIED as i32,
    );
    fix(
        addr_of_mut!((*ctx).color_trc).cast(),
        names::av_color_transfer_name,
        ffi::AVColorTransferCharacteristic::AVCOL_TRC_UNSPECIFIED as i32,
    );
    fix(
        addr_of_mut!((*ctx).colorspace).cast(),
        names::av_color_space_name,
        ffi::AVColorSpace::AVCOL_SPC_UNSPECIFIED as i32,
    );
    fix(
        addr_of_mut!((*ctx).color_range).cast(),
        names::av_color_range_name,
        ffi::AVColorRange::AVCOL_RANGE_UNSPECIFIED as i32,
    );
    fix(
        addr_of_mut!((*ctx).chroma_sample_location).cast(),
        names::av_chroma_location_name,
        ffi::AVChromaLocation::AVCHROMA_LOC_UNSPECIFIED as i32,
    );
    fix(addr_of_mut!((*ctx).pix_fmt).cast(), names::av_get_pix_fmt_name, ffi::AVPixelFormat::AV_PIX_FMT_NONE as i32);
}

/// `Error::TooLarge` when a `width`×`height` picture is over `max` pixels.
fn check_size(path: &Path, width: u32, height: u32, max: u64) -> Result<()> {
    if width as u64 * height as u64 > max {
        return Err(Error::TooLarge { path: path.into(), width: width.into(), height: height.into(), limit: max });
    }
    Ok(())
}

/// The duration of one frame in `tb` units, at least 1.
pub fn frame_duration(rate: Rational, tb: Rational) -> i64 {
    // SAFETY: a pure arithmetic function on plain values.
    unsafe { ffi::av_rescale_q(1, rate.invert().into(), tb.into()) }.max(1)
}

/// Decoded frames on their way out of the decoder stage.
struct Frames {
    tx: Sender<Item>,
    to_rgb: ToRgb,
    deint: Option<filter::Graph>,
    /// The frame size and format `deint` was built for: bwdif cannot take another.
    deint_for: (u32, u32, Pixel),
    /// `deint` deinterlaces every frame, not only those flagged interlaced.
    deint_all: bool,
    decided: bool,
    mode: Deinterlace,
    info: StreamInfo,
    last_pts: Option<i64>,
    frame_dur: i64,
    /// The next stage has gone: stop quietly (its error, if any, is the one reported).
    closed: bool,
    /// Frames up to this timestamp are not sent.
    skip_through: Option<i64>,
    /// See [`Decoder::stop_from`].
    stop_from: Option<i64>,
    /// See [`Decoder::history_before`].
    history_before: Option<i64>,
    /// See [`Decoder::limit_pixels`].
    max_pixels: u64,
    /// The tone-mapping graph (`--tonemap sdr` on an HDR source), made at the first frame.
    tone: Option<filter::Graph>,
}

impl Frames {
    /// Takes every frame the decoder has ready; damage goes to `damage`.
    fn drain(&mut self, dec: &mut decoder::Video, path: &Path, damage: &mut DamageLog) -> Result<()> {
        let mut frame = ffmpeg::frame::Video::empty();
        loop {
            match dec.receive_frame(&mut frame) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => return Ok(()),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::error::EAGAIN => return Ok(()),
                Err(e @ ffmpeg::Error::InvalidData) => {
                    damage.decode_error(None, &e).map_err(|m| Error::video(path, m))?;
                    continue;
                }
                Err(e) => return Err(Error::ffmpeg(path, "cannot decode", e)),
            }
            check_size(path, frame.width(), frame.height(), self.max_pixels)?;
            // Keep the decoder's timestamp; only a missing or repeated one is made up.
            let pts = match (frame.timestamp().or(frame.pts()), self.last_pts) {
                (Some(t), Some(last)) if t <= last => last + 1,
                (Some(t), _) => t,
                (None, Some(last)) => last + self.frame_dur,
                (None, None) => 0,
            };
            self.last_pts = Some(pts);
            damage.frame(&frame, frame.pts(), pts).map_err(|m| Error::video(path, m))?;
            frame.set_pts(Some(pts));
            if !self.decided {
                self.decided = true;
                let need = match self.mode {
                    Deinterlace::On => true,
                    Deinterlace::Off => false,
                    Deinterlace::Auto => self.info.interlaced || frame.is_interlaced(),
                };
                if need {
                    self.deint_all = self.mode == Deinterlace::On || self.info.interlaced;
                    self.start_deinterlacer(&frame, path)?;
                }
            }
            // A frame of another size or format (a stream can change mid-way): buffersrc would
            // pass it on with only a warning and bwdif would read past its planes (a heap
            // overflow in libavfilter, found by fuzzing). Finish the graph and start a new one.
            if self.deint.is_some() && self.deint_for != (frame.width(), frame.height(), frame.format()) {
                self.finish_deinterlacer(path)?;
                if self.closed {
                    return Ok(());
                }
                self.start_deinterlacer(&frame, path)?;
            }
            match self.deint.as_mut() {
                Some(g) => {
                    if let Some(mut src) = g.get("in") {
                        src.source().add(&frame).map_err(|e| Error::ffmpeg(path, "deinterlacer", e))?;
                    }
                    self.pull(path)?;
                }
                None => self.emit(&frame, pts, path)?,
            }
            if self.closed {
                return Ok(());
            }
        }
    }

    /// Builds the deinterlacer for frames like `frame`.
    fn start_deinterlacer(&mut self, frame: &ffmpeg::frame::Video, path: &Path) -> Result<()> {
        let g = deinterlacer(frame, self.info.time_base, self.deint_all)
            .map_err(|e| Error::ffmpeg(path, "deinterlacer", e))?;
        self.deint = Some(g);
        self.deint_for = (frame.width(), frame.height(), frame.format());
        Ok(())
    }

    /// Flushes the deinterlacer, if any, passing on the frames it still holds, and drops it.
    fn finish_deinterlacer(&mut self, path: &Path) -> Result<()> {
        if let Some(g) = self.deint.as_mut() {
            if let Some(mut src) = g.get("in") {
                src.source().flush().map_err(|e| Error::ffmpeg(path, "deinterlacer", e))?;
            }
            self.pull(path)?;
        }
        self.deint = None;
        Ok(())
    }

    /// Takes every frame the deinterlacer has ready.
    fn pull(&mut self, path: &Path) -> Result<()> {
        let mut out = ffmpeg::frame::Video::empty();
        loop {
            let got = match self.deint.as_mut().and_then(|g| g.get("out")) {
                Some(mut sink) => {
                    let mut sink = sink.sink();
                    sink.frame(&mut out).map(|()| sink.time_base())
                }
                None => return Ok(()),
            };
            match got {
                Ok(tb) => {
                    // bwdif halves the time base (it could emit one frame per field).
                    let pts =
                        // SAFETY: a pure arithmetic function on plain values.
                        out.pts().map_or(0, |t| unsafe { ffi::av_rescale_q(t, tb.into(), self.info.time_base.into()) });
                    self.emit(&out.clone(), pts, path)?;
                    if self.closed {
                        return Ok(());
                    }
                }
                Err(ffmpeg::Error::Eof) => return Ok(()),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::error::EAGAIN => return Ok(()),
                Err(e) => return Err(Error::ffmpeg(path, "deinterlacer", e)),
            }
        }
    }

    fn emit(&mut self, frame: &ffmpeg::frame::Video, pts: i64, path: &Path) -> Result<()> {
        if self.skip_through.is_some_and(|s| pts <= s) {
            return Ok(());
        }
        if self.stop_from.is_some_and(|s| pts >= s) {
            self.closed = true;
            return Ok(());
        }
        if let Some(from) = self.info.tonemap_from {
            return self.tonemap(frame, pts, from, path);
        }
        self.send(frame, pts, path)
    }

    fn send(&mut self, frame: &ffmpeg::frame::Video, pts: i64, path: &Path) -> Result<()> {
        let rgb = self.to_rgb.convert(frame).map_err(|e| Error::ffmpeg(path, "cannot convert a frame to RGB", e))?;
        let history = self.history_before.is_some_and(|s| pts < s);
        let pic = Picture { history, ..Picture::new(rgb, pts) };
        if self.tx.send(Item::Frame(pic)).is_err() {
            self.closed = true;
        }
        Ok(())
    }

    /// Tone-maps one frame to SDR (one frame out per frame in) and sends it.
    fn tonemap(
        &mut self,
        frame: &ffmpeg::frame::Video,
        pts: i64,
        from: TransferCharacteristic,
        path: &Path,
    ) -> Result<()> {
        let err = |e| Error::ffmpeg(path, "tone mapping", e);
        if self.tone.is_none() {
            self.tone = Some(tonemapper(frame, self.info.time_base, from, self.info.format).map_err(err)?);
        }
        let mut out = ffmpeg::frame::Video::empty();
        let got = match self.tone.as_mut() {
            Some(g) => {
                if let Some(mut src) = g.get("in") {
                    src.source().add(frame).map_err(err)?;
                }
                match g.get("out") {
                    Some(mut sink) => sink.sink().frame(&mut out).map(|()| true),
                    None => Ok(false),
                }
            }
            None => Ok(false),
        };
        match got {
            Ok(true) => self.send(&out.clone(), pts, path),
            Ok(false) => Ok(()),
            Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::error::EAGAIN => Ok(()),
            Err(e) => Err(err(e)),
        }
    }
}

/// zscale to linear light, BT.709 primaries, `tonemap` (Hable) and back to BT.709's transfer
/// in `format`: FFmpeg's way from PQ or HLG to SDR (Debian's FFmpeg 5.1 has zscale).
fn tonemapper(
    frame: &ffmpeg::frame::Video,
    tb: Rational,
    from: TransferCharacteristic,
    format: Pixel,
) -> Result<filter::Graph, ffmpeg::Error> {
    let mut g = filter::Graph::new();
    let args = format!(
        "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect=1/1",
        frame.width(),
        frame.height(),
        ffi::AVPixelFormat::from(frame.format()) as i32,
        tb.numerator(),
        tb.denominator().max(1),
    );
    g.add(&filter::find("buffer").ok_or(ffmpeg::Error::FilterNotFound)?, "in", &args)?;
    g.add(&filter::find("buffersink").ok_or(ffmpeg::Error::FilterNotFound)?, "out", "")?;
    let tin = if from == TransferCharacteristic::ARIB_STD_B67 { "arib-std-b67" } else { "smpte2084" };
    let out_fmt = format.descriptor().map_or("yuv420p10le", |d| d.name());
    let chain = format!(
        "zscale=tin={tin}:pin=bt2020:min=bt2020nc:t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,\
         tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format={out_fmt}"
    );
    g.output("in", 0)?.input("out", 0)?.parse(&chain)?;
    g.validate()?;
    Ok(g)
}

/// A `bwdif` graph (one frame out per frame in); `all` deinterlaces every frame, else only those
/// flagged interlaced.
fn deinterlacer(frame: &ffmpeg::frame::Video, tb: Rational, all: bool) -> Result<filter::Graph, ffmpeg::Error> {
    let mut g = filter::Graph::new();
    let sar = frame.aspect_ratio();
    let sar = if sar.numerator() > 0 && sar.denominator() > 0 { sar } else { Rational(1, 1) };
    let args = format!(
        "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
        frame.width(),
        frame.height(),
        ffi::AVPixelFormat::from(frame.format()) as i32,
        tb.numerator(),
        tb.denominator().max(1),
        sar.numerator(),
        sar.denominator()
    );
    let buffer = filter::find("buffer").ok_or(ffmpeg::Error::FilterNotFound)?;
    let sink = filter::find("buffersink").ok_or(ffmpeg::Error::FilterNotFound)?;
    g.add(&buffer, "in", &args)?;
    g.add(&sink, "out", "")?;
    let deint = if all { "all" } else { "interlaced" };
    g.output("in", 0)?.input("out", 0)?.parse(&format!("bwdif=mode=send_frame:parity=auto:deint={deint}"))?;
    g.validate()?;
    Ok(g)
}
