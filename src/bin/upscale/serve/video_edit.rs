//! The edit step for a video, through FFmpeg's libraries (ffmpeg-next): the best video stream
//! decoded, sent through a filter graph (crop, transpose, hflip/vflip, eq, scale, overlay of a
//! watermark picture read by `movie`), encoded again (x264, or VP9 for WebM); audio and subtitle
//! streams and the metadata copied untouched, every packet keeping its timestamp.

use std::path::Path;

use ffmpeg::{codec, encoder, filter, format, frame, media, Dictionary, Packet, Rational};
use ffmpeg_next as ffmpeg;
use upscale::progress::{Event, Progress, Unit};
use upscale::{output, Error, Result};

use super::edit::{filter_graph, Operation};
use super::jobs::Job;

/// Replays `ops` on the job's input video into its output (through a temporary name).
pub fn apply(job: &Job, ops: &[Operation], progress: &dyn Progress) -> Result<()> {
    let tmp = output::temp_path(&job.output);
    let r = transcode(job, ops, &tmp, progress);
    match r {
        Ok(()) => std::fs::rename(&tmp, &job.output).map_err(|e| Error::Io { path: job.output.clone(), source: e }),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn transcode(job: &Job, ops: &[Operation], tmp: &Path, progress: &dyn Progress) -> Result<()> {
    let fail = |what: &str, e: ffmpeg::Error| Error::Decode { path: job.input.clone(), msg: format!("{what}: {e}") };
    ffmpeg::init().map_err(|e| fail("FFmpeg", e))?;
    let mut ictx = format::input(&job.input).map_err(|e| fail("cannot open", e))?;
    let ist = ictx
        .streams()
        .best(media::Type::Video)
        .ok_or_else(|| Error::Decode { path: job.input.clone(), msg: "no video stream".into() })?;
    let vindex = ist.index();
    let in_tb = ist.time_base();
    let total = (ist.frames() > 0).then_some(ist.frames() as u64);
    let frame_rate = ist.avg_frame_rate();
    let mut decoder = codec::context::Context::from_parameters(ist.parameters())
        .and_then(|c| c.decoder().video())
        .map_err(|e| fail("cannot decode the video", e))?;

    // The filters, from the same operations the picture path replays.
    let (spec, marks, (w, h)) = filter_graph(ops, (decoder.width(), decoder.height()), &job.dir)?;
    let spec = with_movie_sources(&spec, &marks)?;
    let mut graph = filter::Graph::new();
    let sar = decoder.aspect_ratio();
    let sar = if sar.numerator() > 0 { sar } else { Rational(1, 1) };
    let args = format!(
        "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
        decoder.width(),
        decoder.height(),
        ffmpeg::ffi::AVPixelFormat::from(decoder.format()) as i32,
        in_tb.numerator(),
        in_tb.denominator(),
        sar.numerator(),
        sar.denominator()
    );
    let find = |name: &str| filter::find(name).ok_or(ffmpeg::Error::FilterNotFound);
    graph.add(&find("buffer").map_err(|e| fail("filters", e))?, "in", &args).map_err(|e| fail("filters", e))?;
    graph.add(&find("buffersink").map_err(|e| fail("filters", e))?, "out", "").map_err(|e| fail("filters", e))?;
    graph
        .output("in", 0)
        .and_then(|p| p.input("out", 0))
        .and_then(|p| p.parse(&spec))
        .map_err(|e| fail(&format!("filters '{spec}'"), e))?;
    graph.validate().map_err(|e| fail("filters", e))?;

    // The output: the video encoded, audio and subtitles copied.
    let mut octx = format::output(&tmp).map_err(|e| fail("cannot create the output", e))?;
    let webm = job.output.extension().is_some_and(|e| e == "webm");
    let name = if webm { "libvpx-vp9" } else { "libx264" };
    let codec = encoder::find_by_name(name)
        .ok_or_else(|| Error::Decode { path: job.input.clone(), msg: format!("FFmpeg has no {name} encoder") })?;
    let global_header = octx.format().flags().contains(format::Flags::GLOBAL_HEADER);
    let mut map: Vec<Option<usize>> = vec![None; ictx.nb_streams() as usize];
    let mut vout = 0;
    let mut enc = None;
    for (i, st) in ictx.streams().enumerate() {
        let kind = st.parameters().medium();
        if i == vindex {
            let mut ost = octx.add_stream(codec).map_err(|e| fail("cannot add the video stream", e))?;
            let mut e =
                codec::context::Context::new_with_codec(codec).encoder().video().map_err(|e| fail("encoder", e))?;
            e.set_width(w);
            e.set_height(h);
            e.set_format(format::Pixel::YUV420P);
            e.set_time_base(in_tb);
            e.set_frame_rate(Some(frame_rate));
            if global_header {
                e.set_flags(codec::Flags::GLOBAL_HEADER);
            }
            let mut opts = Dictionary::new();
            if webm {
                for (k, v) in [("crf", "30"), ("b", "0"), ("row-mt", "1"), ("cpu-used", "4")] {
                    opts.set(k, v);
                }
            } else {
                opts.set("crf", "18");
                opts.set("preset", "medium");
            }
            let opened = e.open_with(opts).map_err(|e| fail(&format!("cannot open {name}"), e))?;
            ost.set_parameters(&opened);
            // SAFETY: `ost` is a stream of the open output, borrowed mutably; plain fields set before the header.
            unsafe {
                (*(*ost.as_mut_ptr()).codecpar).codec_tag = 0;
                (*ost.as_mut_ptr()).time_base = in_tb.into();
            }
            vout = ost.index();
            map[i] = Some(vout);
            enc = Some(opened);
        } else if matches!(kind, media::Type::Audio | media::Type::Subtitle) {
            let mut ost =
                octx.add_stream(encoder::find(codec::Id::None)).map_err(|e| fail("cannot copy a stream", e))?;
            ost.set_parameters(st.parameters());
            // SAFETY: `ost` is a stream of the open output, borrowed mutably; a plain field set before the header.
            unsafe { (*(*ost.as_mut_ptr()).codecpar).codec_tag = 0 };
            ost.set_metadata(st.metadata().to_owned());
            map[i] = Some(ost.index());
        }
    }
    let Some(mut enc) = enc else {
        return Err(Error::Decode { path: job.input.clone(), msg: "no video stream".into() });
    };
    octx.set_metadata(ictx.metadata().to_owned());
    let mut header = Dictionary::new();
    if job.output.extension().is_some_and(|e| e == "mp4") {
        header.set("movflags", "+faststart");
    }
    octx.write_header_with(header).map_err(|e| fail("cannot write the header", e))?;
    let out_tbs: Vec<Rational> = octx.streams().map(|s| s.time_base()).collect();
    // One frame in the encoder's time base, for packets x264 leaves without a duration (the
    // last one's decides where an MP4's edit list ends).
    let frame_dur = if frame_rate.numerator() > 0 && in_tb.numerator() > 0 {
        (in_tb.denominator() as i64 * frame_rate.denominator() as i64)
            / (in_tb.numerator() as i64 * frame_rate.numerator() as i64)
    } else {
        0
    };
    let in_tbs: Vec<Rational> = ictx.streams().map(|s| s.time_base()).collect();

    if !progress.event(&Event::Start { file: Some(job.input.clone()), total, unit: Unit::Frames }) {
        return Err(Error::Cancelled);
    }
    let mut done = 0u64;
    let mut decoded = frame::Video::empty();
    let mut filtered = frame::Video::empty();
    // Frames out of the filters into the encoder, packets out of the encoder into the file.
    let mut drain = |graph: &mut filter::Graph,
                     enc: &mut encoder::Video,
                     octx: &mut format::context::Output,
                     flush: bool|
     -> Result<bool> {
        while graph.get("out").map(|mut s| s.sink().frame(&mut filtered).is_ok()).unwrap_or(false) {
            filtered.set_kind(ffmpeg::picture::Type::None);
            enc.send_frame(&filtered).map_err(|e| fail("cannot encode", e))?;
            done += 1;
            if !progress.event(&Event::Progress { done, total, unit: Unit::Frames }) {
                return Ok(false);
            }
            write_packets(enc, octx, vout, (in_tb, frame_dur), out_tbs[vout]).map_err(|e| fail("cannot write", e))?;
        }
        if flush {
            enc.send_eof().map_err(|e| fail("cannot encode", e))?;
            write_packets(enc, octx, vout, (in_tb, frame_dur), out_tbs[vout]).map_err(|e| fail("cannot write", e))?;
        }
        Ok(true)
    };
    let mut go_on = true;
    for (st, mut pkt) in ictx.packets() {
        let i = st.index();
        let Some(o) = map[i] else { continue };
        if i == vindex {
            // A damaged packet is skipped, as the decoder would conceal it.
            let _ = decoder.send_packet(&pkt);
            while decoder.receive_frame(&mut decoded).is_ok() {
                let ts = decoded.timestamp();
                decoded.set_pts(ts);
                if let Some(mut src) = graph.get("in") {
                    src.source().add(&decoded).map_err(|e| fail("filters", e))?;
                }
                go_on = drain(&mut graph, &mut enc, &mut octx, false)?;
                if !go_on {
                    break;
                }
            }
        } else {
            pkt.rescale_ts(in_tbs[i], out_tbs[o]);
            pkt.set_position(-1);
            pkt.set_stream(o);
            pkt.write_interleaved(&mut octx).map_err(|e| fail("cannot write", e))?;
        }
        if !go_on {
            return Err(Error::Cancelled);
        }
    }
    let _ = decoder.send_eof();
    while decoder.receive_frame(&mut decoded).is_ok() {
        let ts = decoded.timestamp();
        decoded.set_pts(ts);
        if let Some(mut src) = graph.get("in") {
            src.source().add(&decoded).map_err(|e| fail("filters", e))?;
        }
        if !drain(&mut graph, &mut enc, &mut octx, false)? {
            return Err(Error::Cancelled);
        }
    }
    if let Some(mut src) = graph.get("in") {
        src.source().flush().map_err(|e| fail("filters", e))?;
    }
    if !drain(&mut graph, &mut enc, &mut octx, true)? {
        return Err(Error::Cancelled);
    }
    octx.write_trailer().map_err(|e| fail("cannot finish the file", e))?;
    Ok(())
}

/// Writes every packet the encoder has ready.
fn write_packets(
    enc: &mut encoder::Video,
    octx: &mut format::context::Output,
    stream: usize,
    (enc_tb, frame_dur): (Rational, i64),
    out_tb: Rational,
) -> std::result::Result<(), ffmpeg::Error> {
    let mut pkt = Packet::empty();
    while enc.receive_packet(&mut pkt).is_ok() {
        pkt.set_stream(stream);
        if pkt.duration() <= 0 {
            pkt.set_duration(frame_dur);
        }
        pkt.rescale_ts(enc_tb, out_tb);
        pkt.write_interleaved(octx)?;
    }
    Ok(())
}

/// The graph with its `[1:v]`, `[2:v]`… watermark inputs read by `movie` sources; the work
/// folder's path must need no escaping in a filter graph.
fn with_movie_sources(spec: &str, marks: &[std::path::PathBuf]) -> Result<String> {
    let mut sources = String::new();
    let mut spec = spec.replace("[0:v]", "[in]");
    for (i, m) in marks.iter().enumerate() {
        let p = m.display().to_string();
        if p.contains(['\'', '\\', ':', ',', ';', '[', ']', '=', ' ']) {
            return Err(Error::Decode {
                path: m.clone(),
                msg: "the work folder's path has characters a filter graph would need escaped".into(),
            });
        }
        sources.push_str(&format!("movie={p}[m{}];", i + 1));
        spec = spec.replace(&format!("[{}:v]", i + 1), &format!("[m{}]", i + 1));
    }
    // The last label is the graph's output.
    let last = spec.rsplit('[').next().unwrap_or("").trim_end_matches(']').to_string();
    let spec = format!("{sources}{}[out]", spec.strip_suffix(&format!("[{last}]")).unwrap_or(&spec));
    Ok(spec)
}
