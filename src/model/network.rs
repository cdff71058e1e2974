//! One ONNX super-resolution network in one ONNX Runtime session: NCHW float RGB in [0, 1] in,
//! the same `scale` times larger out. Checks the model's shape contract when loading and finds
//! its scale by probing.

use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

use crate::config::Device;
use crate::error::{Error, Result};
use crate::model::runtime;
use crate::planes::Planes;

/// Where a network's bytes come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Compiled into the binary.
    Embedded(&'static [u8]),
    /// A file on disk.
    File(std::path::PathBuf),
}

/// A loaded network.
pub struct Network {
    name: String,
    session: Session,
    scale: u32,
}

impl Network {
    /// Loads a network, checks it takes and gives 3-channel float NCHW, and finds its scale by
    /// running it once on a small input when `scale` is not given.
    pub fn load(name: &str, source: &Source, device: Device, threads: usize, scale: Option<u32>) -> Result<Self> {
        let bad = |msg: String| Error::model(name, msg);
        let mut b = runtime::builder(device, threads)?;
        let session = match source {
            Source::Embedded(bytes) => b.commit_from_memory(bytes),
            Source::File(path) => b.commit_from_file(path),
        }
        .map_err(|e| Error::model_ort(name, "not a loadable ONNX model", e))?;
        if session.inputs().len() != 1 || session.outputs().is_empty() {
            return Err(bad(format!(
                "expected one image input and an image output, found {} inputs and {} outputs",
                session.inputs().len(),
                session.outputs().len()
            )));
        }
        for (what, outlet) in [("input", &session.inputs()[0]), ("output", &session.outputs()[0])] {
            check_nchw3(outlet.dtype()).map_err(|m| bad(format!("{what} '{}': {m}", outlet.name())))?;
        }
        let mut net = Network { name: name.to_string(), session, scale: scale.unwrap_or(1) };
        if scale.is_none() {
            net.scale = net.probe_scale()?;
        }
        Ok(net)
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Output size ÷ input size.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    fn probe_scale(&mut self) -> Result<u32> {
        let probe = Planes::new(32, 32, 3);
        let out = self.run(&probe)?;
        // An output as large as the input (an identity or a restoration model) is refused too:
        // run as x1 it would quietly turn `-s 4` into a plain Lanczos enlargement.
        if out.width % 32 != 0 || out.width != out.height || out.width <= 32 {
            let same = if out.width == 32 && out.height == 32 { " (no enlargement)" } else { "" };
            return Err(Error::model(
                &self.name,
                format!("not a super-resolution model: a 32x32 input gave {}x{}{same}", out.width, out.height),
            ));
        }
        Ok(out.width / 32)
    }

    /// Runs the network on a 3-plane picture.
    pub fn run(&mut self, input: &Planes) -> Result<Planes> {
        let name = self.name.clone();
        let err = |e: ort::Error| Error::model_ort(&name, "running the network", e);
        let (w, h) = (input.width as usize, input.height as usize);
        let tensor = TensorRef::from_array_view(([1usize, 3, h, w], &input.data[..3 * w * h])).map_err(err)?;
        let outputs = self.session.run(ort::inputs![tensor]).map_err(err)?;
        let (shape, data) = outputs[0].try_extract_tensor::<f32>().map_err(err)?;
        let dims: Vec<i64> = shape.iter().copied().collect();
        let [1, 3, oh, ow] = dims[..] else {
            return Err(Error::model(&name, format!("output shape {dims:?}, expected [1, 3, H, W]")));
        };
        if self.scale > 1 && (ow as usize != w * self.scale as usize || oh as usize != h * self.scale as usize) {
            return Err(Error::model(&name, format!("{w}x{h} input gave {ow}x{oh}, not x{}", self.scale)));
        }
        if data.iter().any(|v| !v.is_finite()) {
            return Err(Error::model(&name, "output holds NaN or infinite values"));
        }
        Ok(Planes { width: ow as u32, height: oh as u32, channels: 3, data: data.to_vec() })
    }
}

/// Checks a model input/output is a float tensor of shape [N, 3, H, W] (dimensions may be dynamic).
fn check_nchw3(t: &ValueType) -> std::result::Result<(), String> {
    let ValueType::Tensor { ty, shape, .. } = t else {
        return Err("not a tensor".into());
    };
    if *ty != TensorElementType::Float32 {
        return Err(format!("element type {ty:?}, expected float32"));
    }
    let dims: Vec<i64> = shape.iter().copied().collect();
    if dims.len() == 4 && dims[3] == 3 && dims[1] != 3 {
        return Err(format!("shape {dims:?} is channels-last (NHWC), expected [N, 3, H, W] (NCHW RGB)"));
    }
    if dims.len() != 4 || !(dims[1] == 3 || dims[1] == -1) {
        return Err(format!("shape {dims:?}, expected [N, 3, H, W] (NCHW RGB)"));
    }
    Ok(())
}
