//! `upscale job emit k8s`: no cluster can run here, so the manifests are validated offline by
//! `kubernetes-validate` (PyPI; tools/setup.sh installs it) in strict mode against Kubernetes
//! 1.29 (the first with per-index backoff) and 1.33, a mutated copy is shown to be rejected (the
//! validator really validates), and each pod's command is run here as the Indexed Job would run
//! it (`JOB_COMPLETION_INDEX`), then the join's: the output appears. Without the validator the
//! test fails and says how to install it.

use std::path::Path;
use std::process::Command;

mod common;
use common::{ffmpeg_out, s, with_tone};

const BIN: &str = env!("CARGO_BIN_EXE_upscale");

fn validate(file: &Path, version: &str) -> (bool, String) {
    let o =
        Command::new("kubernetes-validate").args(["-k", version, "--strict", s(file)]).output().unwrap_or_else(|e| {
            panic!("kubernetes-validate: {e}: tools/setup.sh installs it (pip install kubernetes-validate)")
        });
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("No module named"),
        "kubernetes-validate is not installed: tools/setup.sh installs it: {err}"
    );
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

/// The manifests as JSON values (through PyYAML, which kubernetes-validate brings).
fn documents(file: &Path) -> Vec<serde_json::Value> {
    let o = Command::new("python3")
        .args(["-c", "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))", s(file)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn run(args: &[&str], env: &[(&str, String)]) -> String {
    let o = Command::new(BIN)
        .args(args)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .env_remove("BATCH_TASK_INDEX")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(o.status.success(), "upscale {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn k8s_manifests_validate_and_their_commands_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (inp, out) = (d.join("in.mp4"), d.join("out.mkv"));
    ffmpeg_out(&with_tone(&["-t", "2", "-c:v", "libx264", "-g", "12", "-c:a", "aac", "-shortest", s(&inp)]));
    let printed =
        run(&["job", "plan", s(&inp), "-o", s(&out), "--segments", "3", "-m", "bicubic", "-s", "2", "-q"], &[]);
    let work = d.join("out.mkv.upscale-work");
    assert_eq!(printed, format!("{}\n3\n", work.display()));
    let yaml = run(&["job", "emit", "k8s", s(&work), "--image", "registry.example/upscale:1", "--claim", "films"], &[]);
    let file = d.join("job.yaml");
    std::fs::write(&file, &yaml).unwrap();

    for v in ["1.29", "1.33"] {
        let (ok, text) = validate(&file, v);
        assert!(ok && text.matches("passed").count() == 2, "Kubernetes {v}: {text}");
    }
    let bad = d.join("bad.yaml");
    std::fs::write(&bad, yaml.replace("backoffLimitPerIndex: 3", "backoffLimitPerIndex: 3\n  retries: 3")).unwrap();
    let (ok, text) = validate(&bad, "1.33");
    assert!(!ok && text.contains("'retries' was unexpected"), "{text}");

    let docs = documents(&file);
    assert_eq!(docs.len(), 2);
    let (segs, join) = (&docs[0]["spec"], &docs[1]["spec"]);
    assert_eq!(segs["completionMode"], "Indexed");
    assert_eq!(segs["completions"], 3);
    assert_eq!(segs["backoffLimitPerIndex"], 3);
    let rule = &segs["podFailurePolicy"]["rules"][0];
    assert_eq!(rule["action"], "FailIndex");
    assert_eq!(rule["onExitCodes"]["values"], serde_json::json!([2]));
    assert_eq!(join["suspend"], true);
    for spec in [segs, join] {
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Never");
        assert_eq!(pod["containers"][0]["image"], "registry.example/upscale:1");
        assert_eq!(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], "films");
        assert_eq!(pod["containers"][0]["volumeMounts"][0]["mountPath"], s(d));
    }
    let wait = format!(
        "kubectl wait --for=condition=complete --timeout=-1s job/{}",
        docs[0]["metadata"]["name"].as_str().unwrap()
    );
    assert!(yaml.contains(&wait), "{yaml}");

    // Each pod's command, as the Indexed Job runs it; then the join's.
    let command = |spec: &serde_json::Value| -> Vec<String> {
        let c = spec["template"]["spec"]["containers"][0]["command"].as_array().unwrap().clone();
        assert_eq!(c[0], "upscale");
        c[1..].iter().map(|v| v.as_str().unwrap().to_string()).collect()
    };
    let worker = command(segs);
    let worker: Vec<&str> = worker.iter().map(String::as_str).collect();
    for i in 0..3 {
        run(&worker, &[("JOB_COMPLETION_INDEX", i.to_string())]);
    }
    let joiner = command(join);
    run(&joiner.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let frames = ffmpeg_out(&["-i", s(&out), "-map", "0:v", "-f", "framemd5", "-"]);
    assert_eq!(frames.lines().filter(|l| !l.starts_with('#')).count(), 48);
}
