//! One video over many machines: a job is planned once (cut points at any frame, every setting
//! resolved by the engine, the input identified by content) into
//! `<output>.upscale-work/plan.json`; workers on any machine each encode one segment into that
//! shared folder, a segment being done when its file is linked into place; the join checks every
//! segment and muxes them with the input's other streams, untouched. `--resume` is the same steps
//! run one after another on one machine. This module calls `crate::video` (its one run,
//! [`crate::video`]'s `transcode`), never the other way round.
//!
//! ```text
//! plan.rs ── plan.json ──► worker.rs (one index; many at once) ──► segment-NNNNN.packets
//!   keyframes.rs: demux-only frame list, cut points    seek.rs: decoder to a segment's start
//!   identity.rs: size + head/tail hash     packets.rs ──► join.rs (checks) ──► mux.rs ──► output
//! store.rs: the folder's names, locks, status; emit.rs: Slurm and Kubernetes steps;
//! resume.rs: one machine
//! ```

pub mod emit;
pub mod identity;
pub mod join;
pub mod keyframes;
mod mux;
mod packets;
pub mod plan;
pub mod resume;
mod seek;
pub mod steps;
pub mod store;
pub mod worker;

pub use plan::{Cut, Plan};
pub use store::WorkDir;
pub use worker::{Checked, Failure, RunOutcome};
