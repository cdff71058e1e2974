//! Annotations drawn: each one as a premultiplied RGBA layer no larger than the part of the
//! picture it touches (`tiny-skia`'s anti-aliased strokes and fills for lines, arrows, rectangles
//! and ellipses; `text.rs` for text), all of an edit's flattened in order into one layer over
//! the part of the picture they touch together (memory checked before allocating: at most one
//! picture's worth, however many there are), then blended like a watermark ([`Ready`]) on a
//! picture's planes or, made once, on every video frame: the same pixels on every path.

use tiny_skia::{FillRule, LineCap, LineJoin, Paint, PathBuilder, Pixmap, Rect, Transform};

use super::layer::over;
use super::mark::Ready;
use super::meter::Meter;
use super::room;
use super::spec::{Annotation, Outline, Rgb, Stroke};
use super::text;
use crate::error::{EditError, Result};
use crate::planes::Planes;

/// An arrowhead's length for a stroke `width` wide (its half-width is 0.55 of that).
fn head_length(width: f32) -> f32 {
    (3.0 * width).max(8.0)
}

/// Where an annotation lands: the pixels (x0, y0)..(x1, y1) of the picture it touches, or the
/// text's box and where it goes.
enum Extent {
    /// Nothing of it is on the picture.
    Outside,
    /// A shape's bounding box clipped to the picture.
    Shape { x0: i64, y0: i64, x1: i64, y1: i64 },
    /// A text's box (checked to fit on the picture) and where it goes: its top-left corner.
    Text { width: u64, height: u64, x: i64, y: i64 },
}

/// The extent of `a` on a `width`×`height` picture, with its memory checked (no drawing).
fn extent(a: &Annotation, (width, height): (u32, u32)) -> Result<Extent, EditError> {
    let (minx, miny, maxx, maxy) = match a {
        Annotation::Text(t) => {
            let (mw, mh) = text::measure(&t.text, t.size)?;
            if mw > width as u64 || mh > height as u64 {
                return Err(EditError::invalid(format!(
                    "annotation text \"{}\" at size {} ({mw}x{mh}) is larger than the {width}x{height} picture: \
                     choose a smaller size or a shorter text",
                    t.text, t.size
                )));
            }
            room::check("annotation", mw, mh, 5, 1)?;
            // The text's em box at (x, y): its box starts size / 8 above and to the left.
            let pad = t.size as f32 / 8.0;
            return Ok(Extent::Text {
                width: mw,
                height: mh,
                x: (t.x - pad).round() as i64,
                y: (t.y - pad).round() as i64,
            });
        }
        Annotation::Arrow(s) | Annotation::Line(s) => {
            let r = s.width / 2.0 + if matches!(a, Annotation::Arrow(_)) { head_length(s.width) } else { 0.0 };
            (s.x1.min(s.x2) - r, s.y1.min(s.y2) - r, s.x1.max(s.x2) + r, s.y1.max(s.y2) + r)
        }
        Annotation::Rect(o) | Annotation::Ellipse(o) => {
            let r = o.line / 2.0;
            (o.x - r, o.y - r, o.x + o.width + r, o.y + o.height + r)
        }
    };
    // Two pixels more for the anti-aliased edge, clipped to the picture.
    let x0 = (minx - 2.0).floor().max(0.0) as i64;
    let y0 = (miny - 2.0).floor().max(0.0) as i64;
    let x1 = (maxx + 2.0).ceil().min(width as f32) as i64;
    let y1 = (maxy + 2.0).ceil().min(height as f32) as i64;
    if x1 <= x0 || y1 <= y0 {
        return Ok(Extent::Outside);
    }
    // The layer's planes and tiny-skia's RGBA bytes (one more plane's worth).
    room::check("annotation", (x1 - x0) as u64, (y1 - y0) as u64, 5, 1)?;
    Ok(Extent::Shape { x0, y0, x1, y1 })
}

impl Extent {
    /// The pixels of a `width`×`height` picture it touches, (x0, y0, x1, y1); none when outside.
    fn on_picture(&self, (width, height): (u32, u32)) -> Option<(i64, i64, i64, i64)> {
        let (x0, y0, x1, y1) = match *self {
            Extent::Outside => return None,
            Extent::Shape { x0, y0, x1, y1 } => (x0, y0, x1, y1),
            Extent::Text { width: w, height: h, x, y } => {
                (x.max(0), y.max(0), (x + w as i64).min(width as i64), (y + h as i64).min(height as i64))
            }
        };
        (x1 > x0 && y1 > y0).then_some((x0, y0, x1, y1))
    }
}

/// The part of the picture all of `list` touches, each annotation checked (values, text box,
/// memory) and the flattened layer's memory too; none when all are outside.
fn union(list: &[Annotation], size: (u32, u32)) -> Result<Option<(i64, i64, i64, i64)>, EditError> {
    let mut all: Option<(i64, i64, i64, i64)> = None;
    for a in list {
        if let Some((x0, y0, x1, y1)) = extent(a, size)?.on_picture(size) {
            all = Some(all.map_or((x0, y0, x1, y1), |u| (u.0.min(x0), u.1.min(y0), u.2.max(x1), u.3.max(y1))));
        }
    }
    if let Some((x0, y0, x1, y1)) = all {
        // The flattened layer and, while each is drawn, one annotation's layer of at most its size.
        room::check("annotations", (x1 - x0) as u64, (y1 - y0) as u64, 9, 1)?;
    }
    Ok(all)
}

/// Checks that `list` can go on a picture of `size` (values, text boxes, memory) without drawing.
pub fn check(list: &[Annotation], size: (u32, u32)) -> Result<(), EditError> {
    union(list, size).map(|_| ())
}

/// Every annotation of `list`, in order, flattened into one layer for a picture of `size` (none
/// when nothing lands on it). Each one is a step of `meter`; text no font can draw is a box and
/// a warning through it.
pub fn flatten(list: &[Annotation], size: (u32, u32), meter: &Meter) -> Result<Option<Ready>> {
    let Some((x0, y0, x1, y1)) = union(list, size)? else {
        for _ in list {
            meter.finish_step(0)?;
        }
        return Ok(None);
    };
    let mut planes = Planes::try_new((x1 - x0) as u32, (y1 - y0) as u32, 4)?;
    for a in list {
        if let Some(layer) = prepare(a, size, meter)? {
            over(&mut planes, &layer.planes, (layer.x - x0, layer.y - y0));
        }
        meter.finish_step(0)?;
    }
    Ok(Some(Ready { planes, x: x0, y: y0 }))
}

/// `a` drawn for a picture of `size`: a layer to blend, or `None` when it is all outside.
/// Text that no font can draw is a box and a warning through `meter`.
fn prepare(a: &Annotation, size: (u32, u32), meter: &Meter) -> Result<Option<Ready>> {
    match extent(a, size)? {
        Extent::Outside => Ok(None),
        Extent::Text { x, y, .. } => {
            let Annotation::Text(t) = a else { unreachable!("a text extent is a text's") };
            let planes = text::render_colored(&t.text, t.size, t.color.unit(), meter)?;
            Ok(Some(Ready { planes, x, y }))
        }
        Extent::Shape { x0, y0, x1, y1 } => {
            let (w, h) = ((x1 - x0) as u32, (y1 - y0) as u32);
            let mut pixmap = Pixmap::new(w, h).ok_or_else(|| EditError::invalid("annotation: empty layer"))?;
            let at = Transform::from_translate(-x0 as f32, -y0 as f32);
            match a {
                Annotation::Line(s) => line(&mut pixmap, s, at, false),
                Annotation::Arrow(s) => line(&mut pixmap, s, at, true),
                Annotation::Rect(o) => outline(&mut pixmap, o, at, false),
                Annotation::Ellipse(o) => outline(&mut pixmap, o, at, true),
                Annotation::Text(_) => unreachable!("text has its own extent"),
            }
            meter.check()?;
            Ok(Some(Ready { planes: planes(&pixmap), x: x0, y: y0 }))
        }
    }
}

fn paint(c: Rgb) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(c.0[0], c.0[1], c.0[2], 255);
    p.anti_alias = true;
    p
}

/// A line with round ends; an arrow's ends where its head begins, the head a filled triangle
/// whose point is (x2, y2).
fn line(pixmap: &mut Pixmap, s: &Stroke, at: Transform, arrow: bool) {
    let (dx, dy) = (s.x2 - s.x1, s.y2 - s.y1);
    let len = (dx * dx + dy * dy).sqrt();
    let (ux, uy) = if len > 0.0 { (dx / len, dy / len) } else { (1.0, 0.0) };
    let head = if arrow { head_length(s.width) } else { 0.0 };
    // The shaft stops inside the head (its round end hidden under it).
    let shaft = (len - head * 0.8).max(0.0);
    let mut pb = PathBuilder::new();
    pb.move_to(s.x1, s.y1);
    pb.line_to(s.x1 + ux * shaft, s.y1 + uy * shaft);
    if let Some(path) = pb.finish() {
        let stroke = tiny_skia::Stroke {
            width: s.width,
            line_cap: if arrow { LineCap::Butt } else { LineCap::Round },
            ..Default::default()
        };
        if shaft > 0.0 || !arrow {
            pixmap.stroke_path(&path, &paint(s.color), &stroke, at, None);
        }
    }
    if arrow {
        let (bx, by) = (s.x2 - ux * head, s.y2 - uy * head);
        let half = head * 0.55;
        let mut pb = PathBuilder::new();
        pb.move_to(s.x2, s.y2);
        pb.line_to(bx - uy * half, by + ux * half);
        pb.line_to(bx + uy * half, by - ux * half);
        pb.close();
        if let Some(path) = pb.finish() {
            pixmap.fill_path(&path, &paint(s.color), FillRule::Winding, at, None);
        }
    }
}

/// A rectangle or the ellipse inside it: filled when asked, then outlined (the outline centred
/// on the edge, mitred corners).
fn outline(pixmap: &mut Pixmap, o: &Outline, at: Transform, ellipse: bool) {
    let Some(rect) = Rect::from_xywh(o.x, o.y, o.width, o.height) else { return };
    let path = if ellipse { PathBuilder::from_oval(rect) } else { Some(PathBuilder::from_rect(rect)) };
    let Some(path) = path else { return };
    if let Some(fill) = o.fill {
        pixmap.fill_path(&path, &paint(fill), FillRule::Winding, at, None);
    }
    if o.line > 0.0 {
        let stroke = tiny_skia::Stroke { width: o.line, line_join: LineJoin::Miter, ..Default::default() };
        pixmap.stroke_path(&path, &paint(o.color), &stroke, at, None);
    }
}

/// tiny-skia's premultiplied RGBA bytes as four premultiplied planes in 0…1.
fn planes(pixmap: &Pixmap) -> Planes {
    let mut p = Planes::new(pixmap.width(), pixmap.height(), 4);
    let a = p.area();
    for (i, px) in pixmap.data().chunks_exact(4).enumerate() {
        for (k, v) in px.iter().enumerate() {
            p.data[k * a + i] = *v as f32 / 255.0;
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    fn layer(json: &str, size: (u32, u32)) -> Option<Ready> {
        let a: Annotation = serde_json::from_str(json).unwrap();
        prepare(&a, size, &Meter::new(&NoProgress, 1)).unwrap()
    }

    /// The layer's alpha at picture pixel (x, y).
    fn alpha(r: &Ready, x: i64, y: i64) -> f32 {
        let (lx, ly) = (x - r.x, y - r.y);
        if lx < 0 || ly < 0 || lx >= r.planes.width as i64 || ly >= r.planes.height as i64 {
            return 0.0;
        }
        r.planes.plane(3)[(ly * r.planes.width as i64 + lx) as usize]
    }

    #[test]
    fn shapes_land_where_asked_and_nowhere_else() {
        let r = layer(r##"{"op":"rect","x":20,"y":10,"width":40,"height":30,"line":4,"color":"#ff0000"}"##, (100, 80))
            .unwrap();
        // The layer is the rectangle's box and two pixels, not the picture.
        assert_eq!((r.x, r.y, r.planes.width, r.planes.height), (16, 6, 48, 38));
        assert_eq!(alpha(&r, 20, 25), 1.0, "the left edge");
        assert_eq!(alpha(&r, 40, 25), 0.0, "the inside");
        assert_eq!(alpha(&r, 70, 25), 0.0, "outside");
        let e =
            layer(r##"{"op":"ellipse","x":20,"y":10,"width":40,"height":30,"line":0,"fill":"#00ff00"}"##, (100, 80))
                .unwrap();
        assert_eq!(alpha(&e, 40, 25), 1.0, "the centre filled");
        assert_eq!(alpha(&e, 21, 11), 0.0, "the box's corner is outside the ellipse");
        let a = layer(r##"{"op":"arrow","x1":10,"y1":40,"x2":90,"y2":40,"width":4}"##, (100, 80)).unwrap();
        assert_eq!(alpha(&a, 50, 40), 1.0, "the shaft");
        assert!(alpha(&a, 81, 43) > 0.9, "the head is wider than the shaft");
        assert_eq!(alpha(&a, 50, 43), 0.0, "the shaft is 4 wide");
        assert!(layer(r##"{"op":"line","x1":-50,"y1":-50,"x2":-10,"y2":-10}"##, (100, 80)).is_none());
    }

    #[test]
    fn many_annotations_are_one_layer_that_blends_as_each_in_turn() {
        let list: Vec<Annotation> = (0..64)
            .map(|i| {
                let json = format!(
                    r##"{{"op":"rect","x":{},"y":{},"width":50,"height":40,"line":3,"color":"#{:02x}8000","fill":"#0000{:02x}"}}"##,
                    i,
                    i / 2,
                    i * 4,
                    255 - i * 4
                );
                serde_json::from_str(&json).unwrap()
            })
            .collect();
        let size = (120, 90);
        let meter = Meter::new(&NoProgress, 64);
        let one = flatten(&list, size, &meter).unwrap().unwrap();
        // The union of the rectangles (and their edges), not 64 layers.
        assert_eq!((one.x, one.y, one.planes.width, one.planes.height), (0, 0, 117, 75));
        let mut flat = Planes::new(120, 90, 3);
        flat.data.iter_mut().enumerate().for_each(|(i, v)| *v = (i % 97) as f32 / 97.0);
        let mut each = flat.clone();
        one.blend(&mut flat);
        for a in &list {
            if let Some(layer) = prepare(a, size, &meter).unwrap() {
                layer.blend(&mut each);
            }
        }
        let worst = flat.data.iter().zip(&each.data).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(worst < 1e-4, "{worst}");
    }
}
