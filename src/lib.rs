//! `upscale`: enlarge pictures and video with super-resolution networks (Real-ESRGAN,
//! Real-CUGAN, waifu2x, SPAN, converted to ONNX) on ONNX Runtime or OpenVINO, or with classic
//! resizers.
//!
//! The API in ten minutes:
//! - [`Config`] ([`config`]): every setting, with its default and [`Config::validate`]; the
//!   network is the one named or the input's kind's default ([`config::Kind::default_model`]).
//! - [`jobs`]: [`jobs::plan_all`] turns inputs (files, folders) into [`Job`]s;
//!   [`jobs::prepare`] loads their engines into an [`Engines`] cache and refuses what cannot
//!   start; [`jobs::run_all`] / [`run_job`] run them and say how each ended ([`Outcome`]);
//!   [`jobs::run_edit`] runs an edit ([`edit::EditSpec`]) alone; [`jobs::identify`] says what a
//!   file is.
//! - [`Engine`]: a network family loaded once per device and precision; [`Engine::upscaler`]
//!   gives an [`Upscaler`] for one job's scale and size, which upscales [`Planes`].
//! - [`progress`]: one serde [`Event`] type for every front end; a [`Progress`] that answers
//!   `false` cancels.
//! - [`steps`]: the scheduler's steps (plan, run one segment, status, join, emit) for one video
//!   over many machines.
//! - [`model`]: the family table ([`model::families`]) and what is installed ([`model::list`]);
//!   [`still`] and [`video`]: what a front end needs to show a file (previews, sizes);
//!   [`compare_file`], [`compare_models`], [`compare_picture`]: the side-by-side grid of networks
//!   (and classic resizers), on a picture or a region of it.
//! - [`error`]: one [`Error`] that names the file and the cause and keeps its source; [`exit`]:
//!   the exit status for it, for a batch's summary and for a step's failure.
//!
//! The command line, the web page (`upscale serve`) and the scheduler steps are thin callers of
//! these; the library never prints.

// The API: what the front ends (the command line, the page, the scheduler steps and the coming
// Python package), the tests and the benches use.
pub mod config;
pub mod edit;
pub mod error;
pub mod exit;
pub mod formats;
pub mod jobs;
pub mod model;
pub mod progress;
pub mod still;
#[cfg(feature = "video")]
pub mod video;

// The rooms behind it.
mod budget;
mod compare;
mod engine;
mod engines;
mod memory;
mod outcome;
mod output;
mod planes;
mod provenance;
mod resize;
#[cfg(feature = "video")]
mod segments;
mod speed;
mod tile;

pub use compare::{compare_file, compare_models, compare_picture, CompareSpec};
pub use config::{Config, Device};
pub use engine::{Engine, Resolved, Upscaler};
pub use engines::Engines;
pub use error::{Error, Result};
pub use jobs::{run_job, Job};
pub use outcome::Outcome;
pub use planes::Planes;
pub use progress::{Event, Progress};
#[cfg(feature = "video")]
pub use segments::steps;
pub use speed::{measure_families, Measured};

/// Not API: the pieces this repository's own tests, benches and fuzz targets reach into, under
/// the paths they had. No promise of stability; front ends use the modules above.
#[doc(hidden)]
pub mod internals {
    /// The model folder's internals.
    pub mod model {
        pub use crate::model::*;
        /// Runtime and precision choice on the CPU.
        pub mod openvino_choice {
            pub use crate::model::openvino_choice::*;
        }
        /// Runtimes and execution.
        pub mod runtime {
            pub use crate::model::runtime::{Execution, Runtime};
        }
        /// The cap on a session's tensor memory.
        pub mod arena {
            pub use crate::model::arena::set_limit;
        }
        /// One network in one session.
        pub mod network {
            pub use crate::model::network::{fixed_shape, is_out_of_memory};
        }
        /// OpenVINO's library.
        pub mod openvino {
            pub use crate::model::openvino::{load, OPENVINO_VERSION};
        }
        /// The family table's types.
        pub mod registry {
            pub use crate::model::registry::Location;
        }
        pub use crate::model::network::Network;
        pub use crate::model::runtime::Source;
    }
    /// Picture planes.
    pub mod planes {
        pub use crate::planes::psnr;
    }
    /// Picture files.
    pub mod still {
        pub use crate::still::{decode, load, Picture};
    }
    /// Video files.
    #[cfg(feature = "video")]
    pub mod video {
        pub use crate::video::upscale_file;
    }
    pub use crate::engine::plan_passes;
}
