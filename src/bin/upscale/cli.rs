//! The command line's shape (clap): the inputs and the subcommands. The options every command
//! shares are in `opts.rs`. See docs/CLI.md: the flags here are a contract other programs rely on.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::opts::Opts;

#[derive(Parser, Debug)]
#[command(
    name = "upscale",
    version,
    about = "Enlarge pictures and video with super-resolution networks (Real-ESRGAN, Real-CUGAN, waifu2x, SPAN) on ONNX Runtime or OpenVINO, or with classic resizers"
)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Images, videos or folders (the kind is found from the content).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output file; a folder for several inputs or a folder input.
    /// Default: <stem>_x<scale>.<ext> beside the input, <folder>_x<scale>/ for a folder.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub opts: Opts,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the network families: purpose, scales, denoise levels, licence, speed, presence.
    Models {
        /// Folder with the large models (default: see README).
        #[arg(long)]
        model_dir: Option<PathBuf>,
        /// Also time every installed family on this machine (a 160x120 picture, all cores).
        #[arg(long)]
        measure: bool,
    },
    /// Write one picture: the input (or a region) enlarged by each network of -m A,B,C side by
    /// side, labelled; with one network, nearest, bicubic and Lanczos beside it.
    Compare {
        image: PathBuf,
        /// Default: <stem>_compare.png beside the input.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Compare on this rectangle of the input only (input pixels): a preview in seconds.
        #[arg(long, value_name = "X,Y,W,H", value_parser = parse_region)]
        region: Option<(u32, u32, u32, u32)>,
        /// Also show nearest, bicubic and Lanczos when several networks are compared.
        #[arg(long)]
        classic: bool,
        #[command(flatten)]
        opts: Box<Opts>,
    },
    /// One video over many machines: plan, run one segment, status, join, emit scheduler steps.
    Job {
        #[command(subcommand)]
        command: crate::steps::JobCommand,
    },
    /// The local web page: upload, scale, compare, edit, download (and its HTTP API).
    #[cfg(feature = "serve")]
    Serve(crate::serve::ServeArgs),
}

/// `X,Y,W,H`: four whole numbers.
fn parse_region(s: &str) -> Result<(u32, u32, u32, u32), String> {
    let v: Vec<u32> = s
        .split(',')
        .map(|p| p.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("'{s}': expected X,Y,W,H (four whole numbers)"))?;
    match v[..] {
        [x, y, w, h] => Ok((x, y, w, h)),
        _ => Err(format!("'{s}': expected X,Y,W,H (four whole numbers)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opts::{flag, flags};
    use upscale::error::Conflict;
    use upscale::Error;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(["upscale"].iter().chain(args)).expect("parses")
    }

    /// The library's errors name settings; the command line's line names its flags.
    #[test]
    fn errors_name_the_flags() {
        let e = cli(&["a.png", "--outscale", "2", "--width", "9"]).opts.config().unwrap_err();
        assert_eq!(flags(&e), "--outscale cannot be combined with --width/--height");
        assert_eq!(e.to_string(), "outscale cannot be combined with width/height");
        let e = cli(&["a.png", "--crf", "70"]).opts.config().unwrap_err();
        assert_eq!(flags(&e), "--crf 70: expected 0 to 63");
        let big = Error::TooLarge { path: "a.png".into(), width: 9, height: 9, limit: 80 };
        assert!(!big.report().contains("--"), "{}", big.report());
        assert_eq!(flags(&big), "a.png: image is 9x9, over the limit of 80 pixels (see --max-pixels)");
        let other = Error::from(Conflict::Model { engine: "a".into(), job: "b".into() });
        assert_eq!(flags(&other), "this engine runs model a, the job asks for b (see --model)");
    }

    /// Every setting an error can name is a flag of the command line.
    #[test]
    fn every_named_setting_is_a_flag() {
        use clap::CommandFactory;
        let cmd = Cli::command();
        let longs: Vec<String> = cmd.get_arguments().filter_map(|a| a.get_long()).map(|l| format!("--{l}")).collect();
        for field in [
            "scale",
            "outscale",
            "width",
            "height",
            "tile",
            "tile_pad",
            "device",
            "max_pixels",
            "model",
            "video.crf",
            "segment_frames",
        ] {
            assert!(longs.contains(&flag(field)), "{field} → {}", flag(field));
        }
    }
}
