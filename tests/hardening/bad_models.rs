//! Bad models (tests/data/bad_models/): wrong inputs or outputs, channels-last, NaN output, no
//! whole enlargement, an identity, unloadable files, a model that fails on real pictures. Each is
//! refused with one clear error naming the model, and nothing is written.

use super::*;

/// Runs the model at `tests/data/bad_models/<name>` on a small photo and checks the outcome is one
/// clear error naming the model and saying `cause`, with nothing written.
fn assert_model_refused(name: &str, cause: &str) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    photo(40, 30).save(&input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let out = dir.path().join("out.png");
    let model = bad_model(name);
    let r = upscale(&[s(&input), "-m", s(&model), "-s", "2", "-o", s(&out)]);
    assert_one_error(&r, name, cause);
    assert_nothing_written(dir.path(), &out);
    assert_eq!(std::fs::read(&input).unwrap(), before, "input changed");
}

#[test]
fn the_control_model_works() {
    // The bad models are all this one, broken in one way: it must work, so that each failure
    // below is the model's fault and not the harness's.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    let src = photo(40, 30);
    src.save(&input).unwrap();
    for scale in [2, 4] {
        let out = dir.path().join(format!("x{scale}.png"));
        let model = bad_model("good_x2.onnx");
        let r = upscale(&[s(&input), "-m", s(&model), "-s", &scale.to_string(), "-o", s(&out)]);
        assert_success(&r, "good_x2.onnx");
        assert_upscaled(&out, &src, scale);
    }
}

#[test]
fn models_with_the_wrong_input_or_output_are_refused() {
    for (name, cause) in [
        ("one_channel_input.onnx", "expected [N, 3, H, W]"),
        ("int64_input.onnx", "expected float32"),
        ("float16_input.onnx", "expected float32"),
        ("two_inputs.onnx", "2 inputs"),
        ("two_channel_output.onnx", "expected [N, 3, H, W]"),
        ("one_channel_output_dynamic.onnx", "[N, 3, H, W]"),
        ("int64_output.onnx", "expected float32"),
    ] {
        assert_model_refused(name, cause);
    }
}

#[test]
fn nhwc_models_are_refused_as_channels_last() {
    assert_model_refused("nhwc_input.onnx", "NHWC");
}

#[test]
fn models_that_output_nan_or_infinity_are_refused() {
    assert_model_refused("nan_output.onnx", "NaN");
    assert_model_refused("inf_output.onnx", "infinite");
    // NaN only for bright pixels: the black scale probe passes; the real picture must not be
    // written with black or garbage where the NaNs were.
    assert_model_refused("nan_when_bright.onnx", "NaN");
}

#[test]
fn models_that_do_not_enlarge_by_a_whole_factor_are_refused() {
    assert_model_refused("downscale_half.onnx", "not a super-resolution model");
    assert_model_refused("scale_1_5.onnx", "not a super-resolution model");
    assert_model_refused("anisotropic_2x1.onnx", "not a super-resolution model");
}

#[test]
fn an_identity_model_is_refused_not_run_as_scale_one() {
    // Decision: a model whose output is as large as its input is not a super-resolution model;
    // accepting it as x1 would quietly turn `-s 4` into a plain Lanczos enlargement.
    assert_model_refused("identity.onnx", "not a super-resolution model");
}

#[test]
fn unloadable_models_are_refused() {
    assert_model_refused("truncated.onnx", "not a loadable ONNX model");
    assert_model_refused("missing_external_weights.onnx", "not a loadable ONNX model");
    assert_model_refused("opset_99.onnx", "not a loadable ONNX model");
}

#[test]
fn a_model_that_fails_on_real_pictures_is_one_clear_error() {
    // It passes the 32x32 scale probe and fails inside ONNX Runtime on the real picture: the
    // runtime's own log must not reach stderr, and its multi-line message is one line.
    assert_model_refused("fixed_32x32.onnx", "reshape");
}
