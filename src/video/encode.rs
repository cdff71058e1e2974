//! The last stage of the video path: the output file is set up before any frame is processed
//! (codec, container and pixel format checked, copied streams, chapters and metadata laid out),
//! then RGB pictures become YUV frames, are encoded and muxed with the copied packets.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use crossbeam_channel::Receiver;
use ffmpeg_next as ffmpeg;

use ffmpeg::ffi;
use ffmpeg::format::Pixel;
use ffmpeg::util::color::{Range, Space};
use ffmpeg::{codec, encoder, format, media, Dictionary, Packet, Rational};

use super::color::{self, FromRgb, Mastering};
use super::decode::{frame_duration, Decoder, StreamInfo};
use super::items::{Control, Item, Picture};
use super::stages::Sink;
use crate::config::{Device, VideoConfig};
use crate::error::{ConfigError, Error, Result};
use crate::progress::Progress;

/// Stream side data worth keeping on the upscaled video stream: orientation, stereo layout and
/// HDR mastering facts describe the picture, whatever its size.
const KEPT_SIDE_DATA: &[ffi::AVPacketSideDataType] = &[
    ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX,
    ffi::AVPacketSideDataType::AV_PKT_DATA_STEREO3D,
    ffi::AVPacketSideDataType::AV_PKT_DATA_SPHERICAL,
    ffi::AVPacketSideDataType::AV_PKT_DATA_MASTERING_DISPLAY_METADATA,
    ffi::AVPacketSideDataType::AV_PKT_DATA_CONTENT_LIGHT_LEVEL,
];

/// What the encoder's set-up needs besides the input: where the video goes, at what size, with
/// which settings, and for which device.
#[derive(Debug, Clone)]
pub struct EncodeTarget {
    /// The output file: its extension picks the container (and the default codec); errors name it.
    pub output: PathBuf,
    /// The encoded picture size, exactly (a pixel format that cannot hold it is not chosen, or
    /// refused when asked for).
    pub size: (u32, u32),
    /// Codec, quality, pixel format, options, audio.
    pub settings: VideoConfig,
    /// Where the model runs: on the CPU the encoder keeps to one thread.
    pub device: Device,
    /// How the video was made (`crate::provenance`), written as the container's `encoder` tag;
    /// `None` leaves the tag out.
    pub provenance: Option<String>,
}

/// The output file, ready for frames.
pub struct Encoder {
    output: PathBuf,
    octx: format::context::Output,
    encoder: encoder::Video,
    stream: usize,
    /// The encoder's time base: the input stream's.
    time_base: Rational,
    /// One frame in `time_base` units, for packets the encoder leaves without a duration.
    frame_dur: i64,
    /// The frames' format, size, matrix and full range (a scaler cannot cross threads: the
    /// converter is made in the encoder thread).
    target: (Pixel, u32, u32, Space, bool),
    /// Where the packets go instead of the muxer, for a segment.
    store: Option<Box<dyn PacketStore>>,
    /// Frames counted as done before this encoder's first, in its progress events.
    frames_before: u64,
    /// Added to the timestamps of each output stream's copied packets (see [`opus_delay_fix`]).
    ts_fix: Vec<i64>,
    /// Why the pixel format is not the one an even size would have had, or why fewer bits are
    /// written than the source has (said once, by `create`).
    format_note: Option<String>,
    /// The `encoder` tag (see [`Encoder::write_header`]).
    provenance: Option<String>,
    /// Each frame's own duration by its pts, for frames sent by [`Encoder::encode_timed`]
    /// (variable frame rate: an animated picture's delays).
    durations: std::collections::HashMap<i64, i64>,
}

/// Where a segment's encoded video packets go instead of a muxer, exactly as the encoder made
/// them (`crate::segments` keeps them in a packet file, to be muxed by its join).
pub trait PacketStore: Send {
    /// Keeps one packet (timestamps in the input video stream's time base).
    fn write(&mut self, pkt: &Packet) -> Result<()>;
    /// Marks the end and puts everything on disk.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// What to add to a copied Opus stream's timestamps so that they read back as they were.
///
/// The Matroska demuxer subtracts the track's `CodecDelay` (Opus pre-skip) from every timestamp,
/// but libavformat up to 59.30.100 (FFmpeg 5.1 included) writes `CodecDelay` without adding it
/// back. The first audio packets then look negative, the muxer shifts *every* stream by the
/// pre-skip (6.5 ms), and each remux moves the video 7 ms later. Newer muxers add it themselves.
fn opus_delay_fix(octx: &format::context::Output, stream: usize) -> i64 {
    const FIXED_IN: u32 = (59 << 16) | (31 << 8) | 100;
    let name = octx.format().name().to_string();
    // SAFETY: returns a constant; no arguments.
    if unsafe { ffi::avformat_version() } >= FIXED_IN || !(name.contains("matroska") || name.contains("webm")) {
        return 0;
    }
    let Some(st) = octx.stream(stream) else { return 0 };
    // SAFETY: `st` is a stream of the open output `octx`, borrowed here; every stream has its codecpar.
    let par = unsafe { &*(*st.as_ptr()).codecpar };
    if par.codec_id != ffi::AVCodecID::AV_CODEC_ID_OPUS || par.initial_padding <= 0 {
        return 0;
    }
    // The same two roundings as the muxer (to nanoseconds) and the demuxer (to the stream's base).
    // SAFETY: a pure arithmetic function on plain values.
    let ns = unsafe {
        ffi::av_rescale_q(par.initial_padding as i64, Rational(1, 48000).into(), Rational(1, 1_000_000_000).into())
    };
    // SAFETY: a pure arithmetic function on plain values.
    unsafe { ffi::av_rescale_q(ns, Rational(1, 1_000_000_000).into(), st.time_base().into()) }
}

/// A muxer for `path`'s format that writes nothing: for checks and flags alone.
fn output_without_file(path: &Path) -> std::result::Result<format::context::Output, ffmpeg::Error> {
    use std::os::unix::ffi::OsStrExt;
    let name = CString::new(path.as_os_str().as_bytes()).map_err(|_| ffmpeg::Error::InvalidData)?;
    let mut ctx = std::ptr::null_mut();
    let r =
        // SAFETY: `ctx` is an out-pointer to a null context; `name` is a C string that outlives the call.
        unsafe { ffi::avformat_alloc_output_context2(&mut ctx, std::ptr::null_mut(), std::ptr::null(), name.as_ptr()) };
    if r < 0 || ctx.is_null() {
        return Err(ffmpeg::Error::from(r.min(-1)));
    }
    // SAFETY: `ctx` was just allocated (checked non-null) and nothing else owns it: `Output` takes it and frees it.
    Ok(unsafe { format::context::Output::wrap(ctx) })
}

/// The codec used when none is asked: VP9 for WebM, H.264 elsewhere.
pub(crate) fn default_codec(output: &Path) -> &'static str {
    let ext = output.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if ext == "webm" {
        "libvpx-vp9"
    } else {
        "libx264"
    }
}

/// Whether the container can hold `id`: `Some(false)` when the muxer says no.
fn container_takes(octx: &format::context::Output, id: codec::Id) -> Option<bool> {
    // SAFETY: `octx`'s output format is a live static AVOutputFormat; the call only reads it.
    let r = unsafe { ffi::avformat_query_codec(octx.format().as_ptr(), id.into(), ffi::FF_COMPLIANCE_NORMAL) };
    match r {
        1 => Some(true),
        0 => Some(false),
        _ => None,
    }
}

fn pixel_from_name(name: &str) -> Option<Pixel> {
    let c = CString::new(name).ok()?;
    // SAFETY: `c` is a C string that outlives the call.
    let f = unsafe { ffi::av_get_pix_fmt(c.as_ptr()) };
    (f != ffi::AVPixelFormat::AV_PIX_FMT_NONE).then(|| Pixel::from(f))
}

/// Whether a `w`×`h` picture fits `f`'s chroma grid (4:2:0 needs even sizes, 4:2:2 an even width).
fn fits_grid(f: Pixel, (w, h): (u32, u32)) -> bool {
    let (cw, ch) = chroma_grid(f);
    w % cw == 0 && h % ch == 0
}

/// The multiples of width and height that `f`'s subsampled chroma needs.
fn chroma_grid(f: Pixel) -> (u32, u32) {
    f.descriptor().map_or((1, 1), |d| (1 << d.log2_chroma_w(), 1 << d.log2_chroma_h()))
}

/// The output pixel format: the asked one, else the input's when the encoder takes it, else
/// 10-bit 4:2:0 for deep inputs, else 4:2:0, else the encoder's first; of these the first whose
/// chroma grid holds `size` exactly, else full chroma (4:4:4, 10-bit for deep inputs), which holds
/// any size. An asked format is returned whatever the size (the caller refuses it).
fn choose_format(asked: Option<Pixel>, input: Pixel, supported: &[Pixel], size: (u32, u32)) -> Option<Pixel> {
    let takes = |f: Pixel| supported.is_empty() || supported.contains(&f);
    if let Some(f) = asked {
        return takes(f).then_some(f);
    }
    // SAFETY: `d` is FFmpeg's static descriptor of a valid pixel format, read only.
    let yuv_input = input.descriptor().is_some_and(|d| unsafe {
        let flags = (*d.as_ptr()).flags;
        flags & (ffi::AV_PIX_FMT_FLAG_RGB as u64 | ffi::AV_PIX_FMT_FLAG_PAL as u64) == 0 && d.nb_components() >= 3
    });
    let deep = color::depth(input) > 8;
    let mut candidates = Vec::new();
    if yuv_input {
        candidates.push(input);
    }
    if deep {
        candidates.push(Pixel::YUV420P10LE);
    }
    candidates.push(Pixel::YUV420P);
    candidates.extend(supported.first().copied());
    if deep {
        candidates.push(Pixel::YUV444P10LE);
    }
    candidates.push(Pixel::YUV444P);
    let usable = |f: &Pixel| takes(*f);
    candidates
        .iter()
        .copied()
        .filter(usable)
        .find(|&f| fits_grid(f, size))
        .or_else(|| supported.iter().copied().find(|&f| fits_grid(f, size)))
        .or_else(|| candidates.iter().copied().find(usable))
}

/// Sample aspect ratio of the output: the same display shape on the new pixel grid.
fn output_sar(sar: Rational, (w, h): (u32, u32), (ow, oh): (u32, u32)) -> Rational {
    if sar.numerator() <= 0 || sar.denominator() <= 0 {
        if w as u64 * oh as u64 == h as u64 * ow as u64 {
            return Rational(0, 1);
        }
        return reduce(w as i64 * oh as i64, h as i64 * ow as i64);
    }
    reduce(sar.numerator() as i64 * w as i64 * oh as i64, sar.denominator() as i64 * h as i64 * ow as i64)
}

fn reduce(n: i64, d: i64) -> Rational {
    let (mut num, mut den) = (0i32, 0i32);
    // SAFETY: `num` and `den` are live locals the function writes; the rest are plain values.
    unsafe { ffi::av_reduce(&mut num, &mut den, n, d, i32::MAX as i64) };
    Rational(num, den)
}

impl Encoder {
    /// Creates `tmp` (which becomes the target's output) and sets up the encoder and every
    /// stream of `dec` to copy. Every check that can fail without frames fails here.
    pub fn create(target: &EncodeTarget, tmp: &Path, dec: &mut Decoder, progress: &dyn Progress) -> Result<Encoder> {
        let info = dec.info().clone();
        let mut enc = Encoder::open(target, &info, || format::output(&tmp))?;
        if let Some(note) = enc.format_note.take() {
            progress.note(&note);
        }
        let ictx = dec.input();
        if let (Some(ist), Some(mut ost)) = (ictx.stream(info.index), enc.octx.stream_mut(enc.stream)) {
            copy_video_facts(&ist, &mut ost, &info);
        }
        let copies = add_copies(&mut enc.octx, dec, &target.output, target.settings.no_audio, progress)?;
        enc.write_header()?;
        enc.ts_fix = vec![0; enc.octx.nb_streams() as usize];
        for (i, o) in copies {
            dec.copy_stream(i, o);
            enc.ts_fix[o] = opus_delay_fix(&enc.octx, o);
        }
        Ok(enc)
    }

    /// Creates `tmp` (which becomes the target's output) with the upscaled video stream alone,
    /// for pictures made here rather than decoded from a video (`info` describes them: an
    /// animated picture's frames); the header is written.
    pub fn create_alone(
        target: &EncodeTarget,
        tmp: &Path,
        info: &StreamInfo,
        progress: &dyn Progress,
    ) -> Result<Encoder> {
        let mut enc = Encoder::open(target, info, || format::output(&tmp))?;
        if let Some(note) = enc.format_note.take() {
            progress.note(&note);
        }
        enc.write_header()?;
        Ok(enc)
    }

    /// An encoder set up as for the target whose packets go, untouched, to the store `make`
    /// returns for the encoder's global header (a segment); errors name the target's output.
    pub fn create_for_packets(
        target: &EncodeTarget,
        info: &StreamInfo,
        make: impl FnOnce(&[u8]) -> Result<Box<dyn PacketStore>>,
    ) -> Result<Encoder> {
        let mut enc = Encoder::open(target, info, || output_without_file(&target.output))?;
        enc.store = Some(make(enc.extradata())?);
        Ok(enc)
    }

    /// Counts `frames` as done before this encoder's first in its progress events (a segment
    /// after others).
    pub fn counting_from(mut self, frames: u64) -> Encoder {
        self.frames_before = frames;
        self
    }

    /// The output (made by `make`) with its video stream and open encoder; the header is not
    /// written yet.
    fn open(
        target: &EncodeTarget,
        info: &StreamInfo,
        make: impl FnOnce() -> std::result::Result<format::context::Output, ffmpeg::Error>,
    ) -> Result<Encoder> {
        let output = target.output.as_path();
        let err = |msg: String| Error::video(output, msg);
        let vc = &target.settings;
        let device = target.device;
        let name = vc.codec.clone().unwrap_or_else(|| default_codec(output).to_string());
        let codec = encoder::find_by_name(&name).ok_or_else(|| err(format!("codec '{name}': no such encoder")))?;
        if codec.medium() != media::Type::Video {
            return Err(err(format!("codec '{name}': not a video encoder")));
        }
        let supported: Vec<Pixel> =
            codec.video().ok().and_then(|v| v.formats()).map(|f| f.collect()).unwrap_or_default();
        let asked = match vc.pix_fmt.as_deref() {
            Some(p) => Some(pixel_from_name(p).ok_or_else(|| err(format!("pixel format '{p}': unknown")))?),
            None => None,
        };
        let (w, h) = target.size;
        let fmt = choose_format(asked, info.format, &supported, (w, h)).ok_or_else(|| {
            let list: Vec<&str> = supported.iter().map(|f| f.descriptor().map_or("?", |d| d.name())).collect();
            err(format!(
                "codec '{name}' does not take pixel format '{}' (it takes {})",
                vc.pix_fmt.as_deref().unwrap_or("?"),
                list.join(", ")
            ))
        })?;
        // The size is exact: a format whose chroma grid cannot hold it is refused, not rounded.
        let format_name = |f: Pixel| f.descriptor().map_or("?", |d| d.name());
        let even = choose_format(asked, info.format, &supported, ((w + 1) & !1, (h + 1) & !1));
        let mut format_note = (even != Some(fmt)).then(|| {
            let even = even.map_or("?", format_name);
            format!("{}: {w}x{h} is written as {} ({even} needs even sizes)", output.display(), format_name(fmt))
        });
        let (src_bits, out_bits) = (color::depth(info.format), color::depth(fmt));
        if out_bits < src_bits && format_note.is_none() {
            let why =
                if asked.is_some() { "as asked".to_string() } else { format!("codec '{name}' takes no deeper format") };
            format_note = Some(format!(
                "{}: the source has {src_bits} bits a sample, the output {out_bits} ({}, {why})",
                output.display(),
                format_name(fmt)
            ));
        }
        if !fits_grid(fmt, (w, h)) {
            let (cw, ch) = chroma_grid(fmt);
            let (field, value, multiple) = if w % cw != 0 { ("width", w, cw) } else { ("height", h, ch) };
            return Err(ConfigError::new(
                field,
                value,
                format!(
                    "a multiple of {multiple} for pixel format {} (output size {w}x{h}; a 4:4:4 format \
                     such as yuv444p takes any size)",
                    format_name(fmt)
                ),
            )
            .into());
        }

        let mut octx = make().map_err(|e| err(format!("cannot create an output for this extension: {e}")))?;
        let ext_name = octx.format().name().to_string();
        if container_takes(&octx, codec.id()) == Some(false) {
            return Err(err(format!("codec '{name}' cannot be stored in a {ext_name} file")));
        }
        let global_header = octx.format().flags().contains(format::Flags::GLOBAL_HEADER);

        // The video stream first, then the copied ones in input order.
        let mut ost = octx.add_stream(codec).map_err(|e| err(format!("cannot add the video stream: {e}")))?;
        let stream = ost.index();
        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(|e| err(format!("codec '{name}': {e}")))?;
        let matrix = if info.matrix == Space::Unspecified || info.matrix == Space::Reserved {
            color::effective_matrix(Space::Unspecified, h)
        } else {
            info.matrix
        };
        let full = info.range == Range::JPEG;
        let sar = output_sar(info.sar, (info.width, info.height), (w, h));
        enc.set_width(w);
        enc.set_height(h);
        enc.set_format(fmt);
        enc.set_time_base(info.time_base);
        enc.set_frame_rate(Some(info.frame_rate));
        if sar.numerator() > 0 {
            enc.set_aspect_ratio(sar);
        }
        enc.set_colorspace(matrix);
        enc.set_color_range(if full { Range::JPEG } else { Range::MPEG });
        enc.set_color_primaries(info.primaries);
        enc.set_color_transfer_characteristic(info.transfer);
        if global_header {
            enc.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        // On the CPU the model wants the cores; elsewhere the encoder may have them.
        enc.set_threading(codec::threading::Config {
            kind: codec::threading::Type::Frame,
            count: if device == Device::Cpu { 1 } else { 0 },
            ..Default::default()
        });

        let mut opts = Dictionary::new();
        if let Some(p) = &vc.preset {
            opts.set("preset", p);
        }
        let crf = vc.crf.map(|c| c.to_string());
        if name.starts_with("libvpx") {
            // Constant quality, as with x264's CRF; and a speed that keeps up with the model.
            opts.set("crf", crf.as_deref().unwrap_or("32"));
            opts.set("b", "0");
            opts.set("row-mt", "1");
            opts.set("cpu-used", "4");
        } else if let Some(c) = &crf {
            opts.set("crf", c);
        }
        for (k, v) in &vc.encoder_opts {
            opts.set(k, v);
        }
        if name == "libx265" {
            hdr_params_x265(info, &mut opts);
        }
        quiet_library_logs(&name, &mut opts);
        let enc = open_encoder(enc, codec, opts).map_err(|e| err(format!("codec '{name}': {e}")))?;
        ost.set_parameters(&enc);
        // SAFETY: `ost` is a stream of `octx`, borrowed mutably; its codecpar is allocated with it. Plain fields are
        // set before the header is written.
        unsafe {
            let st = ost.as_mut_ptr();
            (*(*st).codecpar).codec_tag = 0;
            (*st).time_base = info.time_base.into();
            (*st).avg_frame_rate = info.frame_rate.into();
            if sar.numerator() > 0 {
                (*st).sample_aspect_ratio = sar.into();
            }
        }
        let frame_dur = frame_duration(info.frame_rate, info.time_base);
        Ok(Encoder {
            output: output.to_path_buf(),
            octx,
            encoder: enc,
            stream,
            time_base: info.time_base,
            frame_dur,
            target: (fmt, w, h, matrix, full),
            store: None,
            frames_before: 0,
            ts_fix: Vec::new(),
            format_note,
            provenance: target.provenance.clone(),
            durations: std::collections::HashMap::new(),
        })
    }

    /// Writes the header with the provenance as the container's `encoder` tag. The muxer is
    /// initialised first because its initialisation sets that tag to libavformat's own name.
    fn write_header(&mut self) -> Result<()> {
        if self.provenance.is_some() {
            // SAFETY: `octx` is an output context with its streams set up and its file open, not
            // yet initialised; null options are allowed.
            let r = unsafe { ffi::avformat_init_output(self.octx.as_mut_ptr(), std::ptr::null_mut()) };
            if r < 0 {
                return Err(self.err("cannot write the header", ffmpeg::Error::from(r)));
            }
            self.set_encoder_tag();
        }
        self.octx.write_header().map(drop).map_err(|e| self.err("cannot write the header", e))
    }

    /// The provenance as the tags muxers write as the file's encoder: `encoder` (Matroska's
    /// ENCODER tag) and `encoding_tool` (MP4's ©too, read back as `encoder`).
    fn set_encoder_tag(&mut self) {
        if let Some(p) = &self.provenance {
            let mut md = self.octx.metadata().to_owned();
            md.set("encoder", p);
            md.set("encoding_tool", p);
            self.octx.set_metadata(md);
        }
    }

    fn err(&self, what: &str, e: ffmpeg::Error) -> Error {
        Error::ffmpeg(&self.output, what, e)
    }

    /// A converter from RGB pictures to this encoder's frames (made in the thread that uses it).
    pub fn converter(&self) -> FromRgb {
        let (fmt, w, h, matrix, full) = self.target;
        FromRgb::new(fmt, w, h, matrix, full)
    }

    /// The output stream of the upscaled video.
    pub fn video_stream(&self) -> usize {
        self.stream
    }

    /// The encoder's global header (empty when the container takes headers in-band).
    pub fn extradata(&self) -> &[u8] {
        // SAFETY: the encoder context is live while `self` is borrowed; a non-null extradata holds `extradata_size`
        // bytes, and the slice borrows `self`.
        unsafe {
            let ctx = self.encoder.as_ptr();
            let (p, n) = ((*ctx).extradata, (*ctx).extradata_size);
            if p.is_null() || n <= 0 {
                &[]
            } else {
                std::slice::from_raw_parts(p, n as usize)
            }
        }
    }

    /// Writes every packet the encoder has ready.
    fn drain(&mut self) -> Result<()> {
        let mut pkt = Packet::empty();
        loop {
            match self.encoder.receive_packet(&mut pkt) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => return Ok(()),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::error::EAGAIN => return Ok(()),
                Err(e) => return Err(self.err("cannot encode", e)),
            }
            pkt.set_stream(self.stream);
            if let Some(d) = pkt.pts().and_then(|t| self.durations.remove(&t)) {
                pkt.set_duration(d);
            } else if pkt.duration() == 0 {
                pkt.set_duration(self.frame_dur);
            }
            if let Some(store) = self.store.as_mut() {
                store.write(&pkt)?;
                continue;
            }
            let out_tb = self.octx.stream(self.stream).map_or(self.time_base, |s| s.time_base());
            pkt.rescale_ts(self.time_base, out_tb);
            pkt.write_interleaved(&mut self.octx).map_err(|e| self.err("cannot write", e))?;
        }
    }

    /// Converts one upscaled picture, encodes it and writes the packets ready.
    pub fn encode(&mut self, convert: &mut FromRgb, pic: &Picture) -> Result<()> {
        let mut frame = convert.convert(&pic.rgb).map_err(|e| self.err("cannot convert a frame from RGB", e))?;
        frame.set_pts(Some(pic.pts));
        self.encoder.send_frame(&frame).map_err(|e| self.err("cannot encode", e))?;
        self.drain()
    }

    /// [`Encoder::encode`] for a frame shown for `duration` (in the time base), whatever the
    /// frame rate: its packet carries that duration.
    pub fn encode_timed(&mut self, convert: &mut FromRgb, pic: &Picture, duration: i64) -> Result<()> {
        self.durations.insert(pic.pts, duration);
        self.encode(convert, pic)
    }

    /// Writes a packet already mapped to its output stream, with timestamps in `in_tb`.
    pub fn mux(&mut self, mut pkt: Packet, in_tb: Rational) -> Result<()> {
        let out_tb = self.octx.stream(pkt.stream()).map_or(in_tb, |s| s.time_base());
        pkt.rescale_ts(in_tb, out_tb);
        if let Some(&fix) = self.ts_fix.get(pkt.stream()).filter(|&&f| f != 0) {
            pkt.set_pts(pkt.pts().map(|t| t + fix));
            pkt.set_dts(pkt.dts().map(|t| t + fix));
        }
        pkt.set_position(-1);
        pkt.write_interleaved(&mut self.octx).map_err(|e| self.err("cannot write", e))
    }

    /// Flushes the encoder and writes the trailer: the file is complete.
    pub fn finish(mut self) -> Result<()> {
        self.encoder.send_eof().map_err(|e| self.err("cannot encode", e))?;
        self.drain()?;
        match self.store.take() {
            Some(store) => store.finish(),
            None => self.close(),
        }
    }

    /// Writes the trailer without flushing the encoder (no frame was sent: the video packets
    /// came through [`Encoder::mux`]).
    pub fn close(mut self) -> Result<()> {
        self.octx.write_trailer().map_err(|e| self.err("cannot finish the file", e))
    }

    /// Encodes and muxes until the channel closes; returns the frames written. Stops early
    /// without a trailer when another stage failed (the file is then removed).
    pub fn run(mut self, rx: Receiver<Item>, ctl: &Control, progress: &dyn Progress) -> Result<u64> {
        let mut convert = self.converter();
        let mut done = 0u64;
        for item in rx {
            if ctl.halted() {
                return Ok(done);
            }
            match item {
                Item::Frame(pic) if pic.history => {
                    return Err(Error::runtime(
                        "internal error: a history frame reached the encoder".to_string(),
                        None,
                    ));
                }
                Item::Frame(pic) => {
                    self.encode(&mut convert, &pic)?;
                    done += 1;
                    if !progress.advance(self.frames_before + done) {
                        ctl.interrupt();
                    }
                }
                Item::Packet(pkt, in_tb) => self.mux(pkt, in_tb)?,
            }
        }
        if ctl.halted() {
            return Ok(done);
        }
        self.finish()?;
        Ok(done)
    }
}

impl Sink for Encoder {
    fn run(self, rx: Receiver<Item>, ctl: &Control, progress: &dyn Progress) -> Result<u64> {
        Encoder::run(self, rx, ctl, progress)
    }
}

/// x265's own HDR10 settings from the source's mastering display and content light level (it
/// writes them as SEI messages; FFmpeg 5.1's libx265 wrapper does not pass side data on).
/// Values the user gave in `x265-params` win.
fn hdr_params_x265(info: &StreamInfo, opts: &mut Dictionary) {
    let given = opts.get("x265-params").unwrap_or("").to_string();
    let mut params: Vec<String> = if given.is_empty() { Vec::new() } else { vec![given.clone()] };
    if let Some(m) = info.mastering.as_deref().and_then(Mastering::parse).filter(|_| !given.contains("master-display"))
    {
        params.push(format!("master-display={}", m.x265()));
    }
    if let Some((cll, fall)) =
        info.light.as_deref().and_then(color::content_light).filter(|_| !given.contains("max-cll"))
    {
        params.push(format!("max-cll={cll},{fall}"));
    }
    if !params.is_empty() {
        opts.set("x265-params", &params.join(":"));
    }
}

/// The input video stream's metadata, disposition and picture-describing side data, onto `ost`;
/// HDR side data is left out when the frames are tone-mapped, and added from the first frame's
/// when the container had none.
fn copy_video_facts(ist: &format::stream::Stream, ost: &mut format::stream::StreamMut, info: &StreamInfo) {
    let mut md = Dictionary::new();
    for (k, v) in ist.metadata().iter() {
        if !["encoder", "duration"].contains(&k.to_ascii_lowercase().as_str()) {
            md.set(k, v);
        }
    }
    ost.set_metadata(md);
    // SAFETY: `ist` and `ost` are live streams of the open input and output; each side data entry below
    // `nb_side_data` holds `size` bytes, and `av_stream_new_side_data` returns a new buffer of that size (or null,
    // skipped).
    unsafe {
        let (src, dst) = (ist.as_ptr(), ost.as_mut_ptr());
        (*dst).disposition = (*src).disposition;
        use ffi::AVPacketSideDataType::{
            AV_PKT_DATA_CONTENT_LIGHT_LEVEL as LIGHT, AV_PKT_DATA_MASTERING_DISPLAY_METADATA as MASTERING,
        };
        for i in 0..(*src).nb_side_data.max(0) as usize {
            let sd = &*(*src).side_data.add(i);
            if !KEPT_SIDE_DATA.contains(&sd.type_) || [MASTERING, LIGHT].contains(&sd.type_) {
                continue;
            }
            let p = ffi::av_stream_new_side_data(dst, sd.type_, sd.size);
            if !p.is_null() {
                std::ptr::copy_nonoverlapping(sd.data, p, sd.size);
            }
        }
        for (ty, data) in [(MASTERING, &info.mastering), (LIGHT, &info.light)] {
            let Some(data) = data else { continue };
            let p = ffi::av_stream_new_side_data(dst, ty, data.len() as _);
            if !p.is_null() {
                std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len());
            }
        }
    }
}

/// Lays out the copied streams (audio, subtitles, data, attachments, other video such as cover
/// art), the container's metadata and chapters; returns (input stream, output stream) pairs.
fn add_copies(
    octx: &mut format::context::Output,
    dec: &Decoder,
    output: &Path,
    no_audio: bool,
    progress: &dyn Progress,
) -> Result<Vec<(usize, usize)>> {
    let err = |msg: String| Error::video(output, msg);
    let ictx = dec.input();
    let ext_name = octx.format().name().to_string();
    let mut copies = Vec::new();
    for ist in ictx.streams() {
        if ist.index() == dec.info().index {
            continue;
        }
        let par = ist.parameters();
        let medium = par.medium();
        if medium == media::Type::Audio && no_audio {
            continue;
        }
        if medium == media::Type::Unknown {
            continue;
        }
        if container_takes(octx, par.id()) == Some(false) {
            progress.warn(&format!(
                "{}: stream {} ({:?} {:?}) left out: a {ext_name} file cannot hold it",
                dec.path().display(),
                ist.index(),
                medium,
                par.id()
            ));
            continue;
        }
        let mut ost = octx
            .add_stream(encoder::find(codec::Id::None))
            .map_err(|e| err(format!("cannot add stream {}: {e}", ist.index())))?;
        ost.set_parameters(par);
        ost.set_metadata(ist.metadata().to_owned());
        // SAFETY: `ist` and `ost` are live streams of the open input and output, borrowed here; plain fields are
        // copied before the header is written.
        unsafe {
            let (src, dst) = (ist.as_ptr(), ost.as_mut_ptr());
            (*(*dst).codecpar).codec_tag = 0;
            (*dst).time_base = (*src).time_base;
            (*dst).disposition = (*src).disposition;
        }
        copies.push((ist.index(), ost.index()));
    }
    octx.set_metadata(ictx.metadata().to_owned());
    for ch in ictx.chapters() {
        let title = ch.metadata().get("title").unwrap_or("").to_string();
        octx.add_chapter(ch.id(), ch.time_base(), ch.start(), ch.end(), title)
            .map_err(|e| err(format!("cannot copy chapter {}: {e}", ch.id())))?;
    }
    Ok(copies)
}

/// Encoder libraries that write to stderr themselves (not through FFmpeg's log) are told to
/// keep to their errors: the library never prints. A level the user set wins.
fn quiet_library_logs(name: &str, opts: &mut Dictionary) {
    if name == "libsvtav1" && std::env::var_os("SVT_LOG").is_none() {
        // SVT-AV1 takes its level only from the environment (1 = errors). Set before any
        // pipeline thread starts; nothing else in the process reads it.
        std::env::set_var("SVT_LOG", "1");
    }
    if name == "libx265" {
        let params = opts.get("x265-params").unwrap_or("").to_string();
        if !params.contains("log-level") {
            let sep = if params.is_empty() { "" } else { ":" };
            opts.set("x265-params", &format!("log-level=error{sep}{params}"));
        }
    }
}

/// Opens the encoder with `opts`; an option the encoder does not know is an error, not ignored.
fn open_encoder(
    mut enc: encoder::video::Video,
    codec: ffmpeg::Codec,
    opts: Dictionary,
) -> std::result::Result<encoder::Video, String> {
    // SAFETY: `enc` and `codec` are live; `raw` is the dictionary given up by `opts` and taken back by
    // `Dictionary::own` whatever avcodec_open2 left in it.
    unsafe {
        let mut raw = opts.disown();
        let r = ffi::avcodec_open2(enc.as_mut_ptr(), codec.as_ptr(), &mut raw);
        let left = Dictionary::own(raw);
        if r < 0 {
            return Err(ffmpeg::Error::from(r).to_string());
        }
        if let Some((k, _)) = left.iter().next() {
            return Err(format!("unknown encoder option '{k}'"));
        }
    }
    Ok(encoder::video::Encoder(enc))
}
