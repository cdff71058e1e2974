//! A real Slurm cluster runs `upscale job emit slurm`'s script: a one-node slurmctld + slurmd on
//! 127.0.0.1 (tools/slurm_local.sh, config in a temporary folder), an array over four segments
//! of a clip with B-frames, audio, subtitles and chapters, and the `afterany` join. One task is
//! cancelled before it runs: the join refuses, naming the segment, `status --missing` lists it,
//! an array of that index alone completes and the join then writes the very frames of a
//! one-machine run, every other stream bit-identical. Without Slurm installed the test fails
//! and says how to install it (tools/setup.sh does).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;
use common::{ffmpeg_out, s};

const BIN: &str = env!("CARGO_BIN_EXE_upscale");
/// The real model on the CPU, and a lossless encoding: decoded frames are what was encoded.
const ARGS: &[&str] =
    &["-m", "realesr-animevideov3", "-s", "2", "-d", "cpu", "--codec", "libx264", "--encoder-opt", "qp=0"];

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/slurm_local.sh")
}

/// The cluster, stopped (daemons by PID) when dropped, whatever the test's outcome.
struct Cluster {
    dir: PathBuf,
}

impl Cluster {
    fn start(dir: &Path) -> Cluster {
        std::fs::create_dir_all(dir).unwrap();
        let o = Command::new("bash").arg(script()).args(["start", s(dir)]).output().unwrap();
        let c = Cluster { dir: dir.to_path_buf() };
        assert!(o.status.success(), "slurm did not start: {}", String::from_utf8_lossy(&o.stderr));
        c
    }

    fn conf(&self) -> PathBuf {
        self.dir.join("slurm.conf")
    }

    fn cmd(&self, prog: &str) -> Command {
        let mut c = Command::new(prog);
        c.env("SLURM_CONF", self.conf());
        c
    }

    /// Waits until none of `jobs` is pending or running.
    fn wait(&self, jobs: &[&str]) {
        let t = Instant::now();
        loop {
            let o = self.cmd("squeue").args(["-h", "-o", "%i %T", "-j", &jobs.join(",")]).output().unwrap();
            let left = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if o.status.success() && left.is_empty() {
                return;
            }
            assert!(t.elapsed() < Duration::from_secs(900), "jobs still queued after 15 minutes: {left}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// `job id → (state, exit code)` of every task of `job`.
    fn states(&self, job: &str) -> Vec<(String, String, String)> {
        let o = self.cmd("scontrol").args(["show", "job", "-o", job]).output().unwrap();
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| {
                let field = |k: &str| l.split_whitespace().find_map(|f| f.strip_prefix(k)).unwrap_or("").to_string();
                (field("ArrayTaskId="), field("JobState="), field("ExitCode="))
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(script()).args(["stop", s(&self.dir)]).status();
    }
}

/// A 4-second 96x64 clip at 24 fps: H.264 with B-frames and a keyframe every 12 frames, AAC,
/// SubRip subtitles, two chapters and a title.
fn make_clip(d: &Path) -> PathBuf {
    let srt = d.join("subs.srt");
    std::fs::write(&srt, "1\n00:00:00,500 --> 00:00:01,500\nfirst\n\n2\n00:00:02,200 --> 00:00:03,100\nsecond\n")
        .unwrap();
    let meta = d.join("meta.txt");
    std::fs::write(
        &meta,
        ";FFMETADATA1\ntitle=clip\n\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1700\ntitle=One\n\n\
         [CHAPTER]\nTIMEBASE=1/1000\nSTART=1700\nEND=4000\ntitle=Two\n",
    )
    .unwrap();
    let clip = d.join("in.mkv");
    ffmpeg_out(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=96x64:rate=24",
        "-f",
        "lavfi",
        "-i",
        "sine=sample_rate=48000",
        "-i",
        s(&srt),
        "-i",
        s(&meta),
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-map",
        "2:s",
        "-map_metadata",
        "3",
        "-map_chapters",
        "3",
        "-t",
        "4",
        "-c:v",
        "libx264",
        "-g",
        "12",
        "-bf",
        "2",
        "-c:a",
        "aac",
        "-c:s",
        "srt",
        s(&clip),
    ]);
    clip
}

fn upscale(args: &[&str]) -> Output {
    let o = Command::new(BIN).args(args).output().unwrap();
    assert!(o.status.success(), "upscale {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

/// Per frame: timestamps, size and MD5 of the decoded pixels.
fn frame_md5s(p: &Path) -> Vec<String> {
    let out = ffmpeg_out(&["-i", s(p), "-map", "0:v", "-f", "framemd5", "-"]);
    out.lines().filter(|l| !l.starts_with('#')).map(str::to_string).collect()
}

/// MD5 of the packets of the streams `map` selects, copied.
fn stream_md5(p: &Path, map: &str) -> String {
    ffmpeg_out(&["-i", s(p), "-map", map, "-c", "copy", "-f", "md5", "-"]).trim().to_string()
}

fn probe(p: &Path, args: &[&str]) -> String {
    let o = Command::new("ffprobe").args(["-v", "error"]).args(args).arg(p).output().unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// "segments: job N" and "join: job M" from the submit script's output.
fn submitted(o: &Output) -> (Option<String>, String) {
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "submit: {text}{}", String::from_utf8_lossy(&o.stderr));
    let after = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)).map(|v| v.trim().to_string());
    (after("segments: job "), after("join: job ").expect("a join job"))
}

#[test]
fn slurm_array_joins_to_the_frames_of_a_one_machine_run() {
    if which("slurmctld").is_none() || which("sbatch").is_none() {
        panic!("Slurm is not installed: tools/setup.sh installs it (apt-get install slurm-wlm)");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let clip = make_clip(d);
    let (one, out) = (d.join("one.mkv"), d.join("out.mkv"));
    upscale(&[ARGS, &["-q", s(&clip), "-o", s(&one)]].concat());

    let plan = upscale(&[&["job", "plan", s(&clip), "-o", s(&out), "--segments", "4", "-q"], ARGS].concat());
    let printed = String::from_utf8_lossy(&plan.stdout).into_owned();
    let work = d.join("out.mkv.upscale-work");
    assert_eq!(printed, format!("{}\n4\n", work.display()));
    let emitted = upscale(&["job", "emit", "slurm", s(&work)]);
    let submit = d.join("submit.sh");
    std::fs::write(&submit, &emitted.stdout).unwrap();

    let cluster = Cluster::start(&d.join("slurm"));
    // Held at submission, task 2 cancelled before it runs, then the rest released.
    let o = cluster.cmd("bash").arg(&submit).arg("--hold").output().unwrap();
    let (array, join) = submitted(&o);
    let array = array.expect("an array job");
    let cancel = cluster.cmd("scancel").arg(format!("{array}_2")).output().unwrap();
    assert!(cancel.status.success(), "{}", String::from_utf8_lossy(&cancel.stderr));
    for j in [&array, &join] {
        let r = cluster.cmd("scontrol").args(["release", j]).output().unwrap();
        assert!(r.status.success(), "release {j}: {}", String::from_utf8_lossy(&r.stderr));
    }
    cluster.wait(&[&array, &join]);
    let mut tasks = cluster.states(&array);
    tasks.sort();
    // A task cancelled while pending is CANCELLED, or gone from the array's records.
    let two: Vec<_> = tasks.iter().filter(|t| t.0 == "2").collect();
    assert!(two.iter().all(|t| t.1 == "CANCELLED"), "{tasks:?}");
    let states: Vec<(&str, &str)> =
        tasks.iter().filter(|t| t.0 != "2").map(|(t, st, _)| (t.as_str(), st.as_str())).collect();
    assert_eq!(states, [("0", "COMPLETED"), ("1", "COMPLETED"), ("3", "COMPLETED")], "{tasks:?}");
    let joined = cluster.states(&join);
    assert_eq!(joined[0].1, "FAILED", "the join ran without segment 2: {joined:?}");
    let log = std::fs::read_to_string(work.join(format!("slurm-{join}-join.out"))).unwrap();
    assert!(log.starts_with("error: ") && log.contains("segment 2 (segment-00002.packets) is not done"), "{log}");
    assert!(!out.exists());

    // Found, redone alone, joined.
    let missing = upscale(&["job", "status", s(&work), "--missing"]);
    assert_eq!(String::from_utf8_lossy(&missing.stdout), "2\n");
    let o = cluster.cmd("bash").arg(&submit).env("ARRAY", "2").output().unwrap();
    let (array2, join2) = submitted(&o);
    let array2 = array2.expect("an array job");
    cluster.wait(&[&array2, &join2]);
    let redo = cluster.states(&array2);
    assert_eq!(redo.iter().map(|t| (t.0.as_str(), t.1.as_str())).collect::<Vec<_>>(), [("2", "COMPLETED")]);
    let joined = cluster.states(&join2);
    let log = std::fs::read_to_string(work.join(format!("slurm-{join2}-join.out"))).unwrap_or_default();
    assert_eq!((joined[0].1.as_str(), joined[0].2.as_str()), ("COMPLETED", "0:0"), "{log}");
    drop(cluster);
    assert_daemons_gone(&d.join("slurm"));

    let status = upscale(&["job", "status", s(&work)]);
    assert!(String::from_utf8_lossy(&status.stdout).starts_with("4 of 4 segments done"));
    // Frame for frame the one-machine run, at its timestamps; every other stream bit-identical.
    let (want, got) = (frame_md5s(&one), frame_md5s(&out));
    assert_eq!(got.len(), 96);
    assert_eq!(want, got, "decoded frames differ from the one-machine run's");
    let pts = ["-select_streams", "v", "-show_entries", "packet=pts,dts", "-of", "csv"];
    assert_eq!(probe(&one, &pts), probe(&out, &pts));
    for map in ["0:a", "0:s"] {
        assert_eq!(stream_md5(&clip, map), stream_md5(&out, map), "stream {map}");
        assert_eq!(stream_md5(&one, map), stream_md5(&out, map), "stream {map}");
    }
    let chapters = ["-show_chapters", "-show_entries", "format_tags=title", "-of", "json"];
    assert!(probe(&out, &chapters).contains("\"Two\""));
    assert_eq!(probe(&clip, &chapters), probe(&out, &chapters));
    let streams = ["-show_entries", "stream=index,codec_name,time_base,start_pts", "-of", "csv"];
    assert_eq!(probe(&one, &streams), probe(&out, &streams));
}

fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join(prog))
        .find(|p| p.is_file())
}

/// The daemons named in the cluster's own pid files are gone.
fn assert_daemons_gone(dir: &Path) {
    for name in ["slurmctld.pid.own", "slurmd.pid.own"] {
        assert!(!dir.join(name).exists(), "{name} left behind: a daemon was not stopped");
    }
    let log = std::fs::read_to_string(dir.join("slurmctld.log")).unwrap_or_default();
    assert!(!log.is_empty(), "no controller log: the cluster never ran");
}
