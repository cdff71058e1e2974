//! The options of `upscale serve` (a clap `Args` struct the command line flattens in).

use std::net::SocketAddr;
use std::path::PathBuf;

/// `upscale serve [--listen ADDR:PORT] [--open] …`
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address and port to listen on. Loopback by default; any other address is served only
    /// with a random access token (printed in the URL) and a warning.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Open the page in the default browser.
    #[arg(long)]
    pub open: bool,
    /// Extra Host names the page may be reached by (the loopback names and the bound address
    /// are always accepted). Repeatable.
    #[arg(long)]
    pub allow_host: Vec<String>,
    /// Jobs run at the same time; the rest wait in a queue.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Largest upload in MiB (refused with 413 while it streams in).
    #[arg(long, default_value_t = 2048)]
    pub max_upload_mib: u64,
    /// Largest accepted picture (or video frame) in pixels, as for the command line.
    #[arg(long, default_value_t = 1 << 28)]
    pub max_pixels: u64,
    /// Seconds a finished job and its files are kept before they are deleted.
    #[arg(long, default_value_t = 3600)]
    pub keep_secs: u64,
    /// Largest number of jobs held (queued, running and finished) before uploads are refused.
    #[arg(long, default_value_t = 256)]
    pub max_jobs: usize,
    /// auto, cpu, cuda or cuda:N.
    #[arg(short, long, default_value = "auto")]
    pub device: String,
    /// ONNX Runtime threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Folder with the large models (default: see README).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
}
