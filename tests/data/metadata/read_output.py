"""Prints, as JSON, what Pillow reads from an upscaled picture: size, ICC profile (hex), EXIF
main and Exif-directory fields, XMP, dpi, PNG text, and how far its pixels are from the input's
(orientation applied by Pillow, resized to the output's size). Usage: read_output.py IN OUT."""
import json, sys
from PIL import Image, ImageChops, ImageOps, ImageStat

inp, out = Image.open(sys.argv[1]), Image.open(sys.argv[2])
ex = out.getexif()
sub = ex.get_ifd(0x8769)
xmp = out.info.get("xmp") or out.info.get("XML:com.adobe.xmp") or ex.get(700) or b""
if isinstance(xmp, str):
    xmp = xmp.encode()
expected = ImageOps.exif_transpose(inp).convert("RGB").resize(out.size, Image.LANCZOS)
diff = ImageStat.Stat(ImageChops.difference(expected, out.convert("RGB"))).mean
text = lambda v: v.decode("latin-1") if isinstance(v, bytes) else str(v)
print(json.dumps({
    "size": list(out.size),
    "icc": (out.info.get("icc_profile") or b"").hex(),
    "icc_in": (inp.info.get("icc_profile") or b"").hex(),
    "exif": {str(k): text(v) for k, v in ex.items() if k not in (0x8769, 34675, 700, 273, 279)},
    "exif_sub": {str(k): text(v) for k, v in sub.items()},
    "xmp": xmp.decode("utf-8", "replace"),
    "dpi": [float(d) for d in out.info.get("dpi", [])],
    "texts": {k: v for k, v in out.info.items() if isinstance(v, str)},
    "pixel_diff": sum(diff) / len(diff),
}))
