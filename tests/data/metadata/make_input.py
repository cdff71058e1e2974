"""Makes a test picture (40x24: red left, blue right, a green square at the top left) that
carries an sRGB ICC profile, EXIF (camera, date, copyright, orientation 6, an Exif directory),
XMP (orientation 6, rights), 300 dpi and, for PNG, a text chunk. Usage: make_input.py FORMAT PATH
(png, jpg, webp, tif). Written with Pillow, which the checks also read with: another
implementation than the one under test."""
import sys, io
from PIL import Image, ImageCms, PngImagePlugin
fmt, path = sys.argv[1], sys.argv[2]
w, h = 40, 24
im = Image.new("RGB", (w, h), (200, 30, 30))
for y in range(h):
    for x in range(w // 2, w):
        im.putpixel((x, y), (30, 30, 200))
for y in range(8):
    for x in range(8):
        im.putpixel((x, y), (30, 200, 30))
icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
e = Image.Exif()
e[271] = "TestCam"; e[272] = "Model X"; e[33432] = "(c) Someone"; e[274] = 6
e[306] = "2024:01:02 03:04:05"
ifd = e.get_ifd(0x8769); ifd[36867] = "2024:01:02 03:04:05"; ifd[0xA002] = w; ifd[0xA003] = h
xmp = ('<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
       'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
       'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
       'tiff:Orientation="6"><dc:rights>CC-BY test</dc:rights></rdf:Description></rdf:RDF></x:xmpmeta>'
       '<?xpacket end="w"?>').encode()
if fmt == "png":
    info = PngImagePlugin.PngInfo(); info.add_text("Comment", "hello"); info.add_itxt("XML:com.adobe.xmp", xmp.decode())
    im.save(path, pnginfo=info, icc_profile=icc, exif=e, dpi=(300, 300))
elif fmt == "jpg":
    im.save(path, quality=95, icc_profile=icc, exif=e, dpi=(300, 300), xmp=xmp)
elif fmt == "webp":
    im.save(path, lossless=True, icc_profile=icc, exif=e, xmp=xmp)
elif fmt == "tif":
    e[700] = xmp  # XMP is a tag of the TIFF's own directory
    im.save(path, icc_profile=icc, exif=e, dpi=(300, 300))
