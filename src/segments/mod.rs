//! One video over many machines: a job is planned once (keyframe cut points, every setting
//! resolved, the input identified by content) into `<output>.upscale-work/plan.json`; workers on
//! any machine each encode one segment into that shared folder, a segment being done when its
//! file is renamed into place; the join checks every segment and muxes them with the input's
//! other streams, untouched. `--resume` is the same steps run one after another on one machine.
//!
//! ```text
//! plan.rs ── plan.json ──► worker.rs (one index; many at once) ──► segment-NNNNN.packets
//!   keyframes.rs: demux-only scan                                        │
//!   identity.rs: size + head/tail hash          join.rs ◄────────────────┘ ──► output
//! store.rs: the folder's names, status; emit.rs: Slurm and Kubernetes steps; resume.rs: one machine
//! ```

pub mod emit;
pub mod identity;
pub mod join;
pub mod keyframes;
pub mod plan;
pub mod resume;
pub mod store;
pub mod worker;

pub use plan::{Cut, Plan};
pub use store::WorkDir;
pub use worker::{Failure, RunOutcome};
