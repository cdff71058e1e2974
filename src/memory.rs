//! How much memory this process may still use: the room under its cgroup's limit (a Kubernetes
//! pod, a Slurm job confined by cgroups, a container) when there is one, else the machine's
//! `MemAvailable`, and never more than the room left under the address-space limit (`ulimit -v`,
//! `prlimit --as`). The automatic tile size and the memory budget (`crate::budget`) use it.

use std::path::{Path, PathBuf};

/// Used when neither the cgroup nor /proc/meminfo can be read.
const FALLBACK: u64 = 2 << 30;
/// cgroup v1 reports "no limit" as a number near 2^63 (rounded down to the page size).
const V1_UNLIMITED: u64 = 1 << 60;

/// Bytes this process can still use: the smaller of the room under the tightest cgroup memory
/// limit (v2 `memory.max`, v1 `memory.limit_in_bytes`, less the usage that cannot be reclaimed)
/// and `MemAvailable`; 2 GiB when neither can be read; in any case no more than the room under
/// the address-space limit (`RLIMIT_AS` less this process's `VmSize`) when one is set.
pub fn available_memory() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| mem_available(&s));
    let cgroup =
        std::fs::read_to_string("/proc/self/cgroup").ok().and_then(|s| cgroup_room(Path::new("/sys/fs/cgroup"), &s));
    let room = match (cgroup, meminfo) {
        (Some(c), Some(m)) => c.min(m),
        (c, m) => c.or(m).unwrap_or(FALLBACK),
    };
    address_room().map_or(room, |a| a.min(room))
}

/// Room under the address-space limit: the soft `RLIMIT_AS` less the `VmSize` of
/// /proc/self/status; `None` without a limit.
fn address_room() -> Option<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } != 0 || lim.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok();
    let used = status.as_deref().and_then(|s| status_kb(s, "VmSize:")).unwrap_or(0);
    Some(lim.rlim_cur.saturating_sub(used))
}

/// A `kB` field of /proc/self/status (or /proc/meminfo), in bytes.
fn status_kb(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `MemAvailable` of a /proc/meminfo text, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    status_kb(meminfo, "MemAvailable:")
}

/// The room under the tightest memory limit of the cgroups on the way from this process's
/// cgroup (`self_cgroup`: the text of /proc/self/cgroup) up to `root` (the cgroup file system's
/// mount), v2 or v1; `None` when no limit is set.
fn cgroup_room(root: &Path, self_cgroup: &str) -> Option<u64> {
    let mut best: Option<u64> = None;
    for line in self_cgroup.lines() {
        let mut f = line.splitn(3, ':');
        let (_, controllers, path) = (f.next()?, f.next()?, f.next()?);
        let (base, v2) = if controllers.is_empty() {
            (root.to_path_buf(), true)
        } else if controllers.split(',').any(|c| c == "memory") {
            (root.join("memory"), false)
        } else {
            continue;
        };
        for dir in ancestors(&base, path) {
            if let Some(room) = room_in(&dir, v2) {
                best = Some(best.map_or(room, |b| b.min(room)));
            }
        }
    }
    best
}

/// `base/path` and each of its parents up to `base`; just `base` when `base/path` does not
/// exist (a container that sees its own cgroup as the root but is told the host's path).
fn ancestors(base: &Path, path: &str) -> Vec<PathBuf> {
    let own = base.join(path.trim_start_matches('/'));
    if !own.is_dir() {
        return vec![base.to_path_buf()];
    }
    own.ancestors().take_while(|d| d.starts_with(base)).map(Path::to_path_buf).collect()
}

/// Limit less non-reclaimable usage in one cgroup folder; `None` without a limit.
fn room_in(dir: &Path, v2: bool) -> Option<u64> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let (limit, usage, stat, inactive) = if v2 {
        ("memory.max", "memory.current", "memory.stat", "inactive_file")
    } else {
        ("memory.limit_in_bytes", "memory.usage_in_bytes", "memory.stat", "total_inactive_file")
    };
    let limit: u64 = read(limit)?.trim().parse().ok()?; // "max" (v2) does not parse: no limit
    if !v2 && limit >= V1_UNLIMITED {
        return None;
    }
    let used: u64 = read(usage).and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    // Page cache the kernel drops before it runs out (the working set, as the kubelet counts it).
    let cache: u64 = read(stat)
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(inactive).and_then(|v| v.strip_prefix(' ')).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0);
    Some(limit.saturating_sub(used.saturating_sub(cache)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn cgroup_limit_comes_before_meminfo() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        // v2: a pod limit of 1 GiB two levels up, 300 MiB used of which 100 MiB is cache.
        let pod = root.join("kubepods/pod1");
        write(&pod, "memory.max", "1073741824\n");
        write(&pod, "memory.current", &format!("{}\n", 300 << 20));
        write(&pod, "memory.stat", &format!("anon 1\ninactive_file {}\nactive_file 5\n", 100 << 20));
        let ctr = pod.join("ctr");
        write(&ctr, "memory.max", "max\n");
        write(&ctr, "memory.current", "5\n");
        assert_eq!(cgroup_room(root, "0::/kubepods/pod1/ctr\n"), Some((1 << 30) - (200 << 20)));
        // No limit anywhere.
        assert_eq!(cgroup_room(root, "0::/elsewhere\n"), None);
        // v1: the memory controller's folder; a huge limit means none.
        let v1 = root.join("memory/slurm/job7");
        write(&v1, "memory.limit_in_bytes", "536870912\n");
        write(&v1, "memory.usage_in_bytes", "0\n");
        write(&root.join("memory"), "memory.limit_in_bytes", "9223372036854771712\n");
        assert_eq!(cgroup_room(root, "12:cpu:/x\n7:memory:/slurm/job7\n"), Some(512 << 20));
        assert_eq!(mem_available("MemTotal: 9 kB\nMemAvailable:  2048 kB\n"), Some(2 << 20));
        assert!(available_memory() > 0);
        assert_eq!(status_kb("Name: x\nVmSize:\t  1000 kB\n", "VmSize:"), Some(1_024_000));
    }
}
