//! What the benchmark scripts in benches/ share: settings from the environment, medians and the
//! CPU time the process used (figures beside the wall clock on a shared machine).

/// A comma-separated list from the environment variable `var` (unset or empty: `default`).
pub fn list(var: &str, default: &str) -> Vec<String> {
    let v = std::env::var(var).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.into());
    v.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

/// A number from the environment variable `var` (unset: `default`; not a number: a panic).
pub fn number(var: &str, default: f64) -> f64 {
    std::env::var(var).map_or(default, |v| v.parse().expect("a number"))
}

/// The median of `v` (NaN when empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// CPU seconds used by this process so far, all threads (user + system).
pub fn cpu_seconds() -> f64 {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let u = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr());
        u.assume_init()
    };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 * 1e-6;
    t(u.ru_utime) + t(u.ru_stime)
}
