//! Model-only CPU throughput: one network run on a real photo crop, no tiling, no I/O.
//! Criterion's throughput is set to the network's FLOPs, so "elem/s" reads as FLOP/s (for the
//! int8 network: the fp32 operations it stands in for).

use criterion::{criterion_main, Criterion, Throughput};
use upscale::config::Precision;
use upscale::internals::model::{self, ModelSpec, Network};
use upscale::{Device, Planes};

/// FLOPs per input pixel, as printed by tools/ncnn2onnx.py (see models/README.md).
const FLOPS: [(&str, Precision, u64, u32); 3] = [
    ("realesr-animevideov3", Precision::Fp32, 1_241_760, 256),
    ("realesr-animevideov3", Precision::Int8, 1_241_760, 256),
    ("realesrgan-x4plus", Precision::Fp32, 35_892_400, 128),
];

fn photo(side: u32) -> Planes {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/coffee.png");
    let img =
        image::open(path).expect("samples/coffee.png").resize_exact(side, side, image::imageops::FilterType::Lanczos3);
    Planes::from_buffer(&img.to_rgb8())
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("model-only-cpu");
    g.sample_size(10);
    for (name, precision, flops, side) in FLOPS {
        let ModelSpec::Net { variants, .. } =
            model::resolve(name, None, precision).expect("model installed: run tools/setup.sh")
        else {
            unreachable!("a network")
        };
        let (scale, src) = variants.into_iter().find(|v| v.0 == Some(4)).expect("x4 variant");
        let mut net = Network::load(name, &src, Device::Cpu, 0, scale).expect("loads");
        let input = photo(side);
        net.run(&input).expect("warm-up run");
        g.throughput(Throughput::Elements(flops * (side * side) as u64));
        g.bench_function(format!("{name} x4 {precision:?} {side}x{side}"), |b| {
            b.iter(|| net.run(&input).expect("runs"))
        });
    }
    g.finish();
}

/// Criterion's group in a private module: the `pub fn` the macro makes cannot carry a doc
/// comment, and private it needs none (`missing_docs`).
mod harness {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(harness::benches);
