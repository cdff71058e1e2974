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

pub(crate) mod emit;
pub(crate) mod identity;
pub(crate) mod join;
pub(crate) mod keyframes;
mod mux;
mod packets;
pub(crate) mod plan;
pub(crate) mod resume;
mod seek;
pub mod steps;
pub(crate) mod store;
pub(crate) mod worker;
