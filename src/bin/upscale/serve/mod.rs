//! `upscale serve`: the article's upload → scale → wait → edit → download flow as a local web
//! page, for pictures and videos, with an HTTP API. Loopback by default; any other address only
//! with a random access token. Jobs run on worker threads, one at a time unless asked.

mod args;
mod compare;
mod files;
mod guard;
mod lan;
mod presets;
mod queue;
mod reply;
mod routes;
mod upload;
mod view;
mod work;
mod workdir;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub use args::ServeArgs;
use upscale::Device;

use crate::report::status;

/// What every handler shares.
pub struct App {
    pub store: Arc<queue::Store>,
    pub args: ServeArgs,
    pub device: Device,
    /// Upload limit in bytes.
    pub max_upload: u64,
    /// Becomes true when the server is stopping (event streams end).
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// This run's random id: a page that sees it change knows its jobs are gone.
    pub instance: String,
    /// The one engine cache of this process: the workers' jobs and the page's comparisons.
    pub engines: Arc<upscale::Engines>,
}

/// Runs the server until Ctrl-C / SIGTERM; the exit status of the library's rule then (130), or
/// for the error that kept it from starting (2).
pub fn run(args: &ServeArgs) -> ExitCode {
    let fail = |e: upscale::Error| {
        eprintln!("error: {}", crate::opts::flags(&e));
        status(e.exit_code())
    };
    let device: Device = match args.device.parse() {
        Ok(d) => d,
        Err(e) => return fail(upscale::Error::Config(e)),
    };
    for (name, v) in [("jobs", args.jobs as u64), ("max_upload_mib", args.max_upload_mib)] {
        if v == 0 {
            return fail(upscale::error::ConfigError::new(name, v, "at least 1").into());
        }
    }
    let start = |what: &str, source| upscale::Error::Start { what: what.to_string(), source };
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(start("start the server runtime", e)),
    };
    // Everything this server writes (uploads, results, FFmpeg's files) is for this user only:
    // folders 0700, files 0600.
    // SAFETY: umask only sets the process's file-creation mask.
    unsafe { libc::umask(0o077) };
    // Private (0700), locked while this server runs, removed at the end; the folders of earlier
    // runs that crashed or were killed are removed now.
    let tmp = std::env::temp_dir();
    let work = match workdir::create(&tmp) {
        Ok(w) => w,
        Err(e) => return fail(start(&format!("create a work folder in {}", tmp.display()), e)),
    };
    for old in workdir::sweep(&tmp, work.dir.path()) {
        eprintln!("upscale: removed {}, left by a server that did not stop cleanly", old.display());
    }
    let code = rt.block_on(serve(args.clone(), device, work.dir.path().to_path_buf()));
    rt.shutdown_timeout(Duration::from_secs(2));
    drop(work);
    code
}

async fn serve(args: ServeArgs, device: Device, root: std::path::PathBuf) -> ExitCode {
    let fail = |what: String, source| {
        let e = upscale::Error::Start { what, source };
        eprintln!("error: {}", e.report());
        status(e.exit_code())
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => return fail(format!("listen on {}", args.listen), e),
    };
    let addr: SocketAddr = listener.local_addr().unwrap_or(args.listen);
    let token = match (!addr.ip().is_loopback()).then(|| queue::random_hex(16)).transpose() {
        Ok(t) => t,
        Err(e) => return fail("find a random source for the access token".into(), e),
    };
    let (store, rx) = queue::Store::new(root, args.max_jobs);
    let engines = Arc::new(upscale::Engines::new());
    let workers = match work::start_workers(args.jobs, store.clone(), rx, engines.clone()) {
        Ok(w) => w,
        Err(e) => return fail("start the worker threads".into(), e),
    };
    let instance = match queue::random_hex(8) {
        Ok(i) => i,
        Err(e) => return fail("find a random source for the instance id".into(), e),
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut stopped = stop_rx.clone();
    let app = Arc::new(App {
        store: store.clone(),
        device,
        max_upload: args.max_upload_mib.saturating_mul(1 << 20),
        stopping: stop_rx,
        args: args.clone(),
        instance,
        engines,
    });
    let guard = Arc::new(guard::Guard::new(addr, &args.allow_host, token.clone()));
    let router = routes::router(app).layer(axum::middleware::from_fn_with_state(guard, guard::check));

    let shown = if addr.ip().is_unspecified() { SocketAddr::new([127, 0, 0, 1].into(), addr.port()) } else { addr };
    let url = match &token {
        Some(t) => format!("http://{shown}/?token={t}"),
        None => format!("http://{shown}/"),
    };
    if let Some(_t) = &token {
        eprintln!(
            "warning: listening on {addr}, reachable from other machines: anyone with the address below \
             (token included) can use this server; traffic is not encrypted"
        );
    }
    eprintln!("upscale: serving on {url}");
    // 127.0.0.1 is this machine alone: a phone needs the address it has on the network.
    if addr.ip().is_unspecified() {
        for ip in lan::addresses() {
            let at = SocketAddr::new(ip, addr.port());
            let link = match &token {
                Some(t) => format!("http://{at}/?token={t}"),
                None => format!("http://{at}/"),
            };
            eprintln!("upscale: from other devices on this network: {link}");
        }
    }
    eprintln!(
        "upscale: jobs at once: {}, uploads up to {} MiB, results kept {} s, work folder {}",
        args.jobs,
        args.max_upload_mib,
        args.keep_secs,
        store.root.display()
    );
    if args.open {
        let _ = std::process::Command::new("xdg-open")
            .arg(&url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }

    let sweeper = {
        let store = store.clone();
        let keep = Duration::from_secs(args.keep_secs);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1).max(keep / 10).min(Duration::from_secs(60)));
            loop {
                tick.tick().await;
                store.expire(keep);
            }
        })
    };

    let (sig_tx, sig_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {},
        }
        let _ = sig_tx.send(());
    });
    let shutdown = {
        let store = store.clone();
        async move {
            let _ = sig_rx.await;
            eprintln!("upscale: stopping: cancelling the jobs, removing the files");
            store.shutdown();
            let _ = stop_tx.send(true);
        }
    };
    let server = axum::serve(listener, router).with_graceful_shutdown(shutdown);
    let mut served = tokio::spawn(async move { server.await });
    // The server ends only through the signal; open downloads get a moment to finish.
    let result = tokio::select! {
        r = &mut served => r,
        _ = async {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(Duration::from_secs(3)).await;
        } => {
            served.abort();
            Ok(Ok(()))
        }
    };
    sweeper.abort();
    // Running jobs were told to stop; wait for them a little (a picture cannot be stopped midway).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    for w in workers {
        while !w.is_finished() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Stopped by a signal: the interruption's status; a server that failed: its error's.
    let e = match result {
        Ok(Ok(())) => {
            eprintln!("upscale: stopped");
            upscale::Error::Cancelled
        }
        Ok(Err(e)) => upscale::Error::Start { what: "go on serving".into(), source: e },
        Err(e) => upscale::Error::Thread { what: "server".into(), source: std::io::Error::other(e.to_string()) },
    };
    if !matches!(e, upscale::Error::Cancelled) {
        eprintln!("error: {}", e.report());
    }
    status(e.exit_code())
}
