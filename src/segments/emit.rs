//! The scheduler's side of a plan, printed ready to use: for Slurm a submit script (an array
//! of `job run`, one task per segment, then `job join` after any end of them — the join checks
//! the segments itself); for Kubernetes an Indexed Job (a permanent failure, exit 2, fails its
//! index at once; others are retried per index) and a suspended join Job to resume after it.

use std::fmt::Write as _;
use std::path::Path;

use super::plan::Plan;
use super::store::WorkDir;

/// A string as one shell word.
fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A string as a YAML scalar (JSON strings are YAML).
fn yaml(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The Slurm submit script: `bash SCRIPT [sbatch options…]` submits the array (all indices,
/// or those in `$ARRAY`) and the join.
pub fn slurm(plan: &Plan, work: &WorkDir, exe: &Path) -> String {
    let n = plan.segments.len();
    let w = work.path().display().to_string();
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(s, "# upscale on Slurm: {n} segments of {}", plan.input.path.display());
    let _ = writeln!(s, "# into {} (work folder {w}).", work.output().display());
    let _ = writeln!(s, "# Run:    bash THIS_FILE [sbatch options, e.g. --partition=gpu --gres=gpu:1]");
    let _ = writeln!(s, "# Redo the segments that did not finish, then join again:");
    let _ = writeln!(
        s,
        "#         ARRAY=$({} job status {} --missing) bash THIS_FILE",
        sh(&exe.display().to_string()),
        sh(&w)
    );
    let _ = writeln!(s, "# Each task exits 0 (done, or done before), 1 (a retry may help) or 2 (it never will).");
    let _ = writeln!(s, "set -euo pipefail");
    let _ = writeln!(s, "UPSCALE=${{UPSCALE:-{}}}", sh(&exe.display().to_string()));
    let _ = writeln!(s, "WORK={}", sh(&w));
    let _ = writeln!(s, "ARRAY=${{ARRAY-0-{}}}", n - 1);
    let _ = writeln!(s, "dep=");
    let _ = writeln!(s, "if [ -n \"$ARRAY\" ]; then");
    let _ = writeln!(
        s,
        "  array=$(sbatch --parsable --job-name=upscale-segments --array=\"$ARRAY\" --output=\"$WORK/slurm-%A_%a.out\" \"$@\" <<EOF"
    );
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(s, "exec \"$UPSCALE\" job run \"$WORK\"");
    let _ = writeln!(s, "EOF");
    let _ = writeln!(s, "  )");
    let _ = writeln!(s, "  array=${{array%%;*}}");
    let _ = writeln!(s, "  dep=--dependency=afterany:$array");
    let _ = writeln!(s, "  echo \"segments: job $array\"");
    let _ = writeln!(s, "else");
    let _ = writeln!(s, "  echo \"segments: every one is done\"");
    let _ = writeln!(s, "fi");
    let _ = writeln!(
        s,
        "join=$(sbatch --parsable --job-name=upscale-join $dep --output=\"$WORK/slurm-%j-join.out\" \"$@\" <<EOF"
    );
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(s, "exec \"$UPSCALE\" job join \"$WORK\"");
    let _ = writeln!(s, "EOF");
    let _ = writeln!(s, ")");
    let _ = writeln!(s, "join=${{join%%;*}}");
    let _ = writeln!(s, "echo \"join: job $join\"");
    s
}

/// Kubernetes manifests: the Indexed Job of the segments and a suspended join Job. `image`
/// holds `upscale` (on its PATH) and FFmpeg; `claim` is a ReadWriteMany volume mounted at the
/// folder that holds the work folder, at the same path as here (the input is best kept in it).
pub fn k8s(plan: &Plan, work: &WorkDir, image: &str, claim: &str) -> String {
    let n = plan.segments.len();
    let w = work.path().display().to_string();
    let mount = work.path().parent().map_or("/".into(), |p| p.display().to_string());
    let id = &plan.input.id.head_tail_sha256[..10];
    let (seg_name, join_name) = (format!("upscale-segments-{id}"), format!("upscale-join-{id}"));
    let pod = |command: &str| -> String {
        let mut s = String::new();
        let _ = writeln!(s, "      restartPolicy: Never");
        let _ = writeln!(s, "      containers:");
        let _ = writeln!(s, "        - name: upscale");
        let _ = writeln!(s, "          image: {}", yaml(image));
        let _ = writeln!(s, "          command: [\"upscale\", \"job\", {}, {}]", yaml(command), yaml(&w));
        let _ = writeln!(s, "          volumeMounts:");
        let _ = writeln!(s, "            - name: work");
        let _ = writeln!(s, "              mountPath: {}", yaml(&mount));
        let _ = writeln!(s, "      volumes:");
        let _ = writeln!(s, "        - name: work");
        let _ = writeln!(s, "          persistentVolumeClaim:");
        let _ = writeln!(s, "            claimName: {}", yaml(claim));
        s
    };
    let mut s = String::new();
    let _ = writeln!(s, "# upscale on Kubernetes (1.29 or later): {n} segments of {}", plan.input.path.display());
    let _ = writeln!(s, "# into {} (work folder {w}).", work.output().display());
    let _ = writeln!(s, "#   kubectl apply -f THIS_FILE");
    let _ = writeln!(s, "#   kubectl wait --for=condition=complete --timeout=-1s job/{seg_name}");
    let _ = writeln!(s, "#   kubectl patch job/{join_name} --type=merge -p '{{\"spec\":{{\"suspend\":false}}}}'");
    let _ =
        writeln!(s, "# Volume {claim:?} (ReadWriteMany) holds the work folder, mounted at the same path in every pod.");
    let _ = writeln!(s, "apiVersion: batch/v1");
    let _ = writeln!(s, "kind: Job");
    let _ = writeln!(s, "metadata:");
    let _ = writeln!(s, "  name: {seg_name}");
    let _ = writeln!(s, "  labels:");
    let _ = writeln!(s, "    app.kubernetes.io/name: upscale");
    let _ = writeln!(s, "spec:");
    let _ = writeln!(s, "  completionMode: Indexed");
    let _ = writeln!(s, "  completions: {n}");
    let _ = writeln!(s, "  parallelism: {n}");
    let _ = writeln!(s, "  backoffLimitPerIndex: 3");
    let _ = writeln!(s, "  maxFailedIndexes: {n}");
    let _ = writeln!(s, "  podFailurePolicy:");
    let _ = writeln!(s, "    rules:");
    let _ = writeln!(s, "      # Exit 2: bad plan, index out of range, settings that differ: no retry.");
    let _ = writeln!(s, "      - action: FailIndex");
    let _ = writeln!(s, "        onExitCodes:");
    let _ = writeln!(s, "          containerName: upscale");
    let _ = writeln!(s, "          operator: In");
    let _ = writeln!(s, "          values: [2]");
    let _ = writeln!(s, "      # A pod evicted or preempted is not the worker's failure.");
    let _ = writeln!(s, "      - action: Ignore");
    let _ = writeln!(s, "        onPodConditions:");
    let _ = writeln!(s, "          - type: DisruptionTarget");
    let _ = writeln!(s, "            status: \"True\"");
    let _ = writeln!(s, "  template:");
    let _ = writeln!(s, "    metadata:");
    let _ = writeln!(s, "      labels:");
    let _ = writeln!(s, "        app.kubernetes.io/name: upscale");
    let _ = writeln!(s, "    spec:");
    s.push_str(&pod("run"));
    let _ = writeln!(s, "---");
    let _ = writeln!(s, "apiVersion: batch/v1");
    let _ = writeln!(s, "kind: Job");
    let _ = writeln!(s, "metadata:");
    let _ = writeln!(s, "  name: {join_name}");
    let _ = writeln!(s, "  labels:");
    let _ = writeln!(s, "    app.kubernetes.io/name: upscale");
    let _ = writeln!(s, "spec:");
    let _ = writeln!(s, "  # Resumed once every segment is done (see the top of this file).");
    let _ = writeln!(s, "  suspend: true");
    let _ = writeln!(s, "  backoffLimit: 2");
    let _ = writeln!(s, "  template:");
    let _ = writeln!(s, "    metadata:");
    let _ = writeln!(s, "      labels:");
    let _ = writeln!(s, "        app.kubernetes.io/name: upscale");
    let _ = writeln!(s, "    spec:");
    s.push_str(&pod("join"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_survive_quotes() {
        assert_eq!(sh("it's"), r"'it'\''s'");
        assert_eq!(yaml("a \"b\""), r#""a \"b\"""#);
    }
}
