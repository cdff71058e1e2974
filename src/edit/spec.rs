//! What an edit is: one typed [`EditSpec`] (serde) in the page's fixed order — crop, rotate,
//! flip, colour, filters, resize, annotations, watermark — its checks (every limit stated here
//! once), the size it leads to, and the page's list of operations (the HTTP API's wire form, the
//! command line's `--edit`) turned into it.

use serde::{Deserialize, Serialize};

use crate::error::EditError;

/// Largest watermark text, in characters.
pub const MAX_TEXT: usize = 200;
/// Largest watermark size (its height in pixels).
pub const MAX_MARK_SIZE: u32 = 4096;
use crate::planes::MAX_SIDE;

/// Most annotations in one edit.
pub const MAX_ANNOTATIONS: usize = 64;
/// Widest annotation stroke (lines, arrows, outlines), in pixels.
pub const MAX_STROKE: f32 = 1000.0;
/// Farthest an annotation's coordinates may lie from the picture's origin, in pixels (either
/// side: a shape may begin outside the picture).
pub const MAX_COORD: f32 = 2.0 * MAX_SIDE as f32;
/// Most operations in the page's list besides the annotations.
pub const MAX_OPERATIONS: usize = 16;

/// Every edit of one picture or video, applied after scaling in this order: crop, rotate, flip,
/// colour, filters, resize, annotations, watermark. The default changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EditSpec {
    /// Keep this rectangle (in pixels of the scaled picture).
    pub crop: Option<Crop>,
    /// Turn clockwise.
    pub rotate: Option<Rotation>,
    /// Mirror left↔right.
    pub flip_horizontal: bool,
    /// Mirror top↔bottom.
    pub flip_vertical: bool,
    /// Brightness, contrast, saturation.
    pub color: Option<Color>,
    /// Named filters (grayscale, sepia, …), in this order, after the colour.
    pub filters: Vec<FilterStep>,
    /// Exact dimensions (Lanczos), after the steps above.
    pub resize: Option<Size>,
    /// Text, arrows, lines, rectangles and ellipses drawn after the resize, in this order, in
    /// pixels of the picture as it is then.
    pub annotations: Vec<Annotation>,
    /// Marks drawn last (a text, a picture, or both), in this order.
    pub watermarks: Vec<Watermark>,
}

/// A rectangle `width`×`height` at (`x`, `y`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crop {
    /// Left edge, in pixels from the picture's left.
    pub x: u32,
    /// Top edge, in pixels from the picture's top.
    pub y: u32,
    /// Width kept, in pixels (at least 1; `x + width` within the picture).
    pub width: u32,
    /// Height kept, in pixels (at least 1; `y + height` within the picture).
    pub height: u32,
}

/// A quarter turn, half turn or three quarters, clockwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub enum Rotation {
    /// 90° clockwise (width and height swap); `90` in JSON.
    Cw90,
    /// 180°; `180` in JSON.
    Cw180,
    /// 270° clockwise, a quarter turn anticlockwise (width and height swap); `270` in JSON.
    Cw270,
}

impl TryFrom<u32> for Rotation {
    type Error = EditError;
    fn try_from(degrees: u32) -> Result<Self, EditError> {
        match degrees {
            90 => Ok(Rotation::Cw90),
            180 => Ok(Rotation::Cw180),
            270 => Ok(Rotation::Cw270),
            d => Err(EditError::invalid(format!("rotate {d}: expected 90, 180 or 270"))),
        }
    }
}

impl From<Rotation> for u32 {
    fn from(r: Rotation) -> u32 {
        match r {
            Rotation::Cw90 => 90,
            Rotation::Cw180 => 180,
            Rotation::Cw270 => 270,
        }
    }
}

/// Brightness added (−1…1, 0 = as is), contrast about mid-grey and saturation about Rec. 709
/// luma (0…3, 1 = as is): the page's canvas maths.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Color {
    /// Added to every sample: −1…1, 0 leaves the picture as is.
    pub brightness: f32,
    /// Gain about mid-grey: 0…3, 1 leaves the picture as is.
    pub contrast: f32,
    /// Gain about Rec. 709 luma: 0…3 (0 is grey), 1 leaves the picture as is.
    pub saturation: f32,
}

impl Default for Color {
    fn default() -> Self {
        Color { brightness: 0.0, contrast: 1.0, saturation: 1.0 }
    }
}

/// A named filter and how strongly it applies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterStep {
    /// Which filter.
    pub name: FilterName,
    /// How much ([`FilterName`] says what the number means for each); default 1.
    #[serde(default = "one")]
    pub amount: f32,
}

/// The filters, each one picture operation (the same code for pictures and every video frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterName {
    /// Rec. 709 luma; `amount` 0…1 mixes it in (1: grey).
    Grayscale,
    /// The classic sepia matrix; `amount` 0…1 mixes it in.
    Sepia,
    /// Each sample `1 - v`; `amount` 0…1 mixes it in.
    Invert,
    /// Gaussian blur of standard deviation `amount` pixels, 0…50.
    Blur,
    /// Unsharp mask (a 1-pixel Gaussian): `amount` 0…5 times the detail added back.
    Sharpen,
    /// Corners darkened by `amount` 0…1 (the centre stays), with the square of the distance.
    Vignette,
}

impl FilterName {
    /// Every filter, as named in JSON and on the command line.
    pub const ALL: [FilterName; 6] = [
        FilterName::Grayscale,
        FilterName::Sepia,
        FilterName::Invert,
        FilterName::Blur,
        FilterName::Sharpen,
        FilterName::Vignette,
    ];

    /// The name (`grayscale`, `sepia`, …).
    pub fn name(self) -> &'static str {
        ["grayscale", "sepia", "invert", "blur", "sharpen", "vignette"][self as usize]
    }

    /// The largest `amount` accepted.
    pub fn max_amount(self) -> f32 {
        match self {
            FilterName::Blur => 50.0,
            FilterName::Sharpen => 5.0,
            _ => 1.0,
        }
    }
}

impl std::str::FromStr for FilterStep {
    type Err = EditError;
    /// `NAME` or `NAME=AMOUNT` (`sepia`, `blur=2.5`).
    fn from_str(s: &str) -> Result<Self, EditError> {
        let (n, a) = s.split_once('=').map_or((s, None), |(n, a)| (n, Some(a)));
        let names: Vec<&str> = FilterName::ALL.iter().map(|f| f.name()).collect();
        let name = FilterName::ALL
            .into_iter()
            .find(|f| f.name() == n.trim())
            .ok_or_else(|| EditError::invalid(format!("filter '{n}': expected {}", names.join(", "))))?;
        let amount = match a {
            None => 1.0,
            Some(a) => {
                a.trim().parse().map_err(|_| EditError::invalid(format!("filter {n}={a}: expected a number")))?
            }
        };
        Ok(FilterStep { name, amount })
    }
}

/// Exact dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Size {
    /// Width in pixels, 1…[`MAX_SIDE`].
    pub width: u32,
    /// Height in pixels, 1…[`MAX_SIDE`].
    pub height: u32,
}

/// What a watermark shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    /// One line of text, white with a dark outline (DejaVu Sans Mono Bold for Latin, the fonts
    /// found on the machine for other scripts: `text.rs`).
    Text(String),
    /// A PNG, JPEG or WebP picture (its encoded bytes; base64 in JSON).
    Image(#[serde(with = "super::base64")] Vec<u8>),
}

/// Where a mark goes: a corner or the centre, a margin of 1/40 of the shorter side from the edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    /// Bottom-right corner (`bottom-right`), the default.
    #[default]
    BottomRight,
    /// Bottom-left corner (`bottom-left`).
    BottomLeft,
    /// Top-left corner (`top-left`).
    TopLeft,
    /// Top-right corner (`top-right`).
    TopRight,
    /// Centred on the picture (`center`), no margin.
    Center,
}

impl std::str::FromStr for Position {
    type Err = EditError;
    fn from_str(s: &str) -> Result<Self, EditError> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
            EditError::invalid(format!(
                "watermark position '{s}': expected bottom-right, bottom-left, top-left, top-right or center"
            ))
        })
    }
}

/// A text or a picture drawn over the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watermark {
    /// The text or picture drawn.
    pub mark: Mark,
    /// Where it goes (default bottom-right).
    #[serde(default)]
    pub position: Position,
    /// Height in pixels: default 1/20 of the shorter side for text (smaller when a long text
    /// would not fit), 1/8 for a picture.
    #[serde(default)]
    pub size: Option<u32>,
    /// 0…1, default 0.8.
    #[serde(default)]
    pub opacity: Option<f32>,
}

/// A colour, `#rrggbb` in JSON (default red, `#ff0000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rgb(pub [u8; 3]);

impl Default for Rgb {
    fn default() -> Self {
        Rgb([255, 0, 0])
    }
}

impl TryFrom<String> for Rgb {
    type Error = EditError;
    fn try_from(s: String) -> Result<Self, EditError> {
        let bad = || EditError::invalid(format!("colour '{s}': expected #rrggbb"));
        let hex = s.strip_prefix('#').filter(|h| h.len() == 6 && h.is_ascii()).ok_or_else(bad)?;
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        Ok(Rgb([byte(0)?, byte(2)?, byte(4)?]))
    }
}

impl From<Rgb> for String {
    fn from(c: Rgb) -> String {
        format!("#{:02x}{:02x}{:02x}", c.0[0], c.0[1], c.0[2])
    }
}

impl Rgb {
    /// The colour as three samples in 0…1.
    pub fn unit(self) -> [f32; 3] {
        self.0.map(|v| v as f32 / 255.0)
    }
}

/// Something drawn over the picture: the page's drawing tools, the API's and `--edit`'s
/// `{"op": "text" | "arrow" | "line" | "rect" | "ellipse", …}`. Coordinates in pixels of the
/// picture as it is after the resize (0, 0 the top-left corner of its top-left pixel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Annotation {
    /// One line of text, its em box's top-left corner at (`x`, `y`).
    Text(TextNote),
    /// A line from (`x1`, `y1`) with an arrowhead at (`x2`, `y2`).
    Arrow(Stroke),
    /// A line from (`x1`, `y1`) to (`x2`, `y2`), round ends.
    Line(Stroke),
    /// A rectangle's outline (centred on its edges), filled when `fill` is given.
    Rect(Outline),
    /// The ellipse inside the rectangle, outlined, filled when `fill` is given.
    Ellipse(Outline),
}

/// A text annotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextNote {
    /// One line, 1 to [`MAX_TEXT`] characters, any script a font on the machine has.
    pub text: String,
    /// Left edge of the text, in pixels.
    pub x: f32,
    /// Top of the text's em box, in pixels.
    pub y: f32,
    /// Pixels to the em, 1 to [`MAX_MARK_SIZE`] (default 32).
    #[serde(default = "text_size")]
    pub size: u32,
    /// Its colour (default red).
    #[serde(default)]
    pub color: Rgb,
}

/// An arrow or a line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stroke {
    /// Start, in pixels.
    pub x1: f32,
    /// Start, in pixels.
    pub y1: f32,
    /// End (the arrow's point), in pixels.
    pub x2: f32,
    /// End, in pixels.
    pub y2: f32,
    /// Stroke width in pixels, above 0 and at most [`MAX_STROKE`] (default 4).
    #[serde(default = "stroke")]
    pub width: f32,
    /// Its colour (default red).
    #[serde(default)]
    pub color: Rgb,
}

/// A rectangle or an ellipse.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outline {
    /// Left edge, in pixels.
    pub x: f32,
    /// Top edge, in pixels.
    pub y: f32,
    /// Width in pixels (0 or more).
    pub width: f32,
    /// Height in pixels (0 or more).
    pub height: f32,
    /// Outline width in pixels, 0 to [`MAX_STROKE`] (0: the fill alone; default 4).
    #[serde(default = "stroke")]
    pub line: f32,
    /// The outline's colour (default red).
    #[serde(default)]
    pub color: Rgb,
    /// The inside's colour; none leaves the inside as it is.
    #[serde(default)]
    pub fill: Option<Rgb>,
}

fn text_size() -> u32 {
    32
}

fn stroke() -> f32 {
    4.0
}

impl Annotation {
    /// Its operation name (`text`, `arrow`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Annotation::Text(_) => "text",
            Annotation::Arrow(_) => "arrow",
            Annotation::Line(_) => "line",
            Annotation::Rect(_) => "rect",
            Annotation::Ellipse(_) => "ellipse",
        }
    }

    /// Checks the values (the limits above), naming the annotation by its place `i`.
    fn check(&self, i: usize) -> Result<(), EditError> {
        let what = format!("annotation {i} ({})", self.name());
        let coord = |name: &str, v: f32| {
            if v.is_finite() && v.abs() <= MAX_COORD {
                Ok(())
            } else {
                Err(EditError::invalid(format!("{what}: {name} {v}: expected -{MAX_COORD} to {MAX_COORD}")))
            }
        };
        match self {
            Annotation::Text(t) => {
                check_text(&what, &t.text)?;
                if t.size == 0 || t.size > MAX_MARK_SIZE {
                    return Err(EditError::invalid(format!("{what}: size {}: expected 1 to {MAX_MARK_SIZE}", t.size)));
                }
                coord("x", t.x)?;
                coord("y", t.y)?;
            }
            Annotation::Arrow(s) | Annotation::Line(s) => {
                for (n, v) in [("x1", s.x1), ("y1", s.y1), ("x2", s.x2), ("y2", s.y2)] {
                    coord(n, v)?;
                }
                if !(s.width > 0.0 && s.width <= MAX_STROKE) {
                    return Err(EditError::invalid(format!(
                        "{what}: width {}: expected above 0, at most {MAX_STROKE}",
                        s.width
                    )));
                }
            }
            Annotation::Rect(o) | Annotation::Ellipse(o) => {
                for (n, v) in [("x", o.x), ("y", o.y), ("x + width", o.x + o.width), ("y + height", o.y + o.height)] {
                    coord(n, v)?;
                }
                if !(o.width >= 0.0 && o.height >= 0.0) {
                    return Err(EditError::invalid(format!(
                        "{what}: {}x{}: width and height must be 0 or more",
                        o.width, o.height
                    )));
                }
                if !(0.0..=MAX_STROKE).contains(&o.line) || (o.line == 0.0 && o.fill.is_none()) {
                    return Err(EditError::invalid(format!(
                        "{what}: line {}: expected 0 to {MAX_STROKE} (0 only with a fill)",
                        o.line
                    )));
                }
            }
        }
        Ok(())
    }
}

/// One line of 1 to [`MAX_TEXT`] characters without control characters.
fn check_text(what: &str, t: &str) -> Result<(), EditError> {
    if t.is_empty() || t.chars().count() > MAX_TEXT {
        return Err(EditError::invalid(format!("{what} text must have 1 to {MAX_TEXT} characters")));
    }
    if t.chars().any(char::is_control) {
        return Err(EditError::invalid(format!("{what} text must be one line without control characters")));
    }
    Ok(())
}

impl EditSpec {
    /// Whether the spec changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == EditSpec::default()
    }

    /// Checks the values that do not depend on the picture (ranges, text length).
    pub fn check(&self) -> Result<(), EditError> {
        if let Some(c) = &self.color {
            let ok = (-1.0..=1.0).contains(&c.brightness)
                && (0.0..=3.0).contains(&c.contrast)
                && (0.0..=3.0).contains(&c.saturation);
            if !ok {
                return Err(EditError::invalid(format!(
                    "colour: brightness {}, contrast {}, saturation {}: expected brightness in -1..1, \
                     contrast and saturation in 0..3",
                    c.brightness, c.contrast, c.saturation
                )));
            }
        }
        if self.filters.len() > 8 {
            return Err(EditError::invalid("at most 8 filters"));
        }
        for f in &self.filters {
            let max = f.name.max_amount();
            if !(0.0..=max).contains(&f.amount) {
                return Err(EditError::invalid(format!(
                    "filter {} amount {}: expected 0 to {max}",
                    f.name.name(),
                    f.amount
                )));
            }
        }
        if let Some(r) = &self.resize {
            if r.width == 0 || r.height == 0 || r.width > MAX_SIDE || r.height > MAX_SIDE {
                return Err(EditError::invalid(format!(
                    "resize {}x{}: each side must be 1 to {MAX_SIDE}",
                    r.width, r.height
                )));
            }
        }
        if self.annotations.len() > MAX_ANNOTATIONS {
            return Err(EditError::invalid(format!("at most {MAX_ANNOTATIONS} annotations")));
        }
        for (i, a) in self.annotations.iter().enumerate() {
            a.check(i)?;
        }
        if self.watermarks.len() > 4 {
            return Err(EditError::invalid("at most 4 watermarks"));
        }
        for w in &self.watermarks {
            match &w.mark {
                Mark::Text(t) => check_text("watermark", t)?,
                Mark::Image(b) if b.is_empty() => return Err(EditError::invalid("watermark picture is empty")),
                _ => {}
            }
            if let Some(s) = w.size.filter(|&s| s == 0 || s > MAX_MARK_SIZE) {
                return Err(EditError::invalid(format!("watermark size {s}: expected 1 to {MAX_MARK_SIZE}")));
            }
            if let Some(o) = w.opacity.filter(|o| !(0.0..=1.0).contains(o)) {
                return Err(EditError::invalid(format!("watermark opacity {o}: expected 0..1")));
            }
        }
        Ok(())
    }

    /// The size after every step, for a `w`×`h` picture; an error when a crop is not inside it.
    pub fn output_size(&self, (w, h): (u32, u32)) -> Result<(u32, u32), EditError> {
        let (mut w, mut h) = (w, h);
        if let Some(c) = &self.crop {
            if c.width == 0
                || c.height == 0
                || c.x as u64 + c.width as u64 > w as u64
                || c.y as u64 + c.height as u64 > h as u64
            {
                return Err(EditError::invalid(format!(
                    "crop {}x{} at {},{} is not inside the {w}x{h} picture",
                    c.width, c.height, c.x, c.y
                )));
            }
            (w, h) = (c.width, c.height);
        }
        if matches!(self.rotate, Some(Rotation::Cw90 | Rotation::Cw270)) {
            (w, h) = (h, w);
        }
        if let Some(r) = &self.resize {
            (w, h) = (r.width, r.height);
        }
        Ok((w, h))
    }

    /// The page's list of operations (the API's `{"operations": [...]}`, the command line's
    /// `--edit`) as a spec. The list must follow the page's order (crop, rotate, flip, adjust,
    /// filter, resize, annotations, watermark) with each step at most once (two flips,
    /// horizontal and vertical, several filters, annotations and watermarks allowed).
    pub fn from_operations(ops: &[Operation]) -> Result<EditSpec, EditError> {
        if ops.is_empty() {
            return Err(EditError::invalid("no operations"));
        }
        let drawn = ops.iter().filter(|o| o.rank() == ANNOTATE).count();
        if ops.len() - drawn > MAX_OPERATIONS {
            return Err(EditError::invalid(format!("at most {MAX_OPERATIONS} operations besides the annotations")));
        }
        if drawn > MAX_ANNOTATIONS {
            return Err(EditError::invalid(format!("at most {MAX_ANNOTATIONS} annotations")));
        }
        let mut spec = EditSpec::default();
        let mut last = 0;
        for (i, op) in ops.iter().enumerate() {
            let rank = op.rank();
            let repeatable = rank == ANNOTATE
                || matches!(op, Operation::Flip { .. } | Operation::Filter { .. } | Operation::Watermark { .. });
            if rank < last || (rank == last && !repeatable) {
                return Err(EditError::invalid(format!(
                    "operation {i} ({}): operations go once each in the order crop, rotate, flip, adjust, \
                     filter, resize, annotations (text, arrow, line, rect, ellipse), watermark",
                    op.name()
                )));
            }
            last = rank;
            match op.clone() {
                Operation::Crop { x, y, width, height } => spec.crop = Some(Crop { x, y, width, height }),
                Operation::Rotate { degrees } => spec.rotate = Some(Rotation::try_from(degrees)?),
                Operation::Flip { direction: Direction::Horizontal } => spec.flip_horizontal = true,
                Operation::Flip { direction: Direction::Vertical } => spec.flip_vertical = true,
                Operation::Adjust { brightness, contrast, saturation } => {
                    spec.color = Some(Color { brightness, contrast, saturation })
                }
                Operation::Filter { name, amount } => spec.filters.push(FilterStep { name, amount }),
                Operation::Resize { width, height } => spec.resize = Some(Size { width, height }),
                Operation::Text(t) => spec.annotations.push(Annotation::Text(t)),
                Operation::Arrow(s) => spec.annotations.push(Annotation::Arrow(s)),
                Operation::Line(s) => spec.annotations.push(Annotation::Line(s)),
                Operation::Rect(o) => spec.annotations.push(Annotation::Rect(o)),
                Operation::Ellipse(o) => spec.annotations.push(Annotation::Ellipse(o)),
                Operation::Watermark { text, image, position, size, opacity } => {
                    let mark = match (text.is_empty(), image) {
                        (false, None) => Mark::Text(text),
                        (true, Some(data)) => Mark::Image(super::base64::decode_data_url(&data).ok_or_else(|| {
                            EditError::invalid(format!("operation {i}: watermark image: not valid base64"))
                        })?),
                        (true, None) => Mark::Text(String::new()),
                        (false, Some(_)) => {
                            return Err(EditError::invalid(format!(
                                "operation {i}: a watermark is text or image, not both"
                            )))
                        }
                    };
                    spec.watermarks.push(Watermark { mark, position, size, opacity });
                }
            }
        }
        spec.check()?;
        Ok(spec)
    }
}

/// One step of the page's list (the API's wire form), in pixels of the picture as it is when
/// the step comes.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum Operation {
    /// Keep a rectangle (see [`Crop`]).
    Crop {
        /// Left edge in pixels.
        x: u32,
        /// Top edge in pixels.
        y: u32,
        /// Width kept in pixels.
        width: u32,
        /// Height kept in pixels.
        height: u32,
    },
    /// Turn clockwise.
    Rotate {
        /// 90, 180 or 270; anything else is refused.
        degrees: u32,
    },
    /// Mirror along one axis (may come twice, once per direction).
    Flip {
        /// Which way to mirror.
        direction: Direction,
    },
    /// A named filter (see [`FilterName`] for what `amount` means); may come several times.
    Filter {
        /// Which filter.
        name: FilterName,
        /// How much (default 1).
        #[serde(default = "one")]
        amount: f32,
    },
    /// Brightness, contrast, saturation (see [`Color`] for the ranges).
    Adjust {
        /// Added to every sample, −1…1 (default 0).
        #[serde(default)]
        brightness: f32,
        /// Gain about mid-grey, 0…3 (default 1).
        #[serde(default = "one")]
        contrast: f32,
        /// Gain about Rec. 709 luma, 0…3 (default 1).
        #[serde(default = "one")]
        saturation: f32,
    },
    /// Exact dimensions, Lanczos (see [`Size`]).
    Resize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// Text drawn anywhere (see [`TextNote`]); annotations may come several times.
    Text(TextNote),
    /// An arrow (see [`Stroke`]).
    Arrow(Stroke),
    /// A line (see [`Stroke`]).
    Line(Stroke),
    /// A rectangle (see [`Outline`]).
    Rect(Outline),
    /// An ellipse (see [`Outline`]).
    Ellipse(Outline),
    /// `text`, or `image` (a PNG/JPEG/WebP as base64 or a `data:` URL).
    Watermark {
        /// The text to draw; empty when `image` is given.
        #[serde(default)]
        text: String,
        /// The picture to draw, base64 or a `data:` URL; absent when `text` is given.
        #[serde(default)]
        image: Option<String>,
        /// Where it goes (default bottom-right).
        #[serde(default)]
        position: Position,
        /// Height in pixels (see [`Watermark::size`] for the default).
        #[serde(default)]
        size: Option<u32>,
        /// 0…1, default 0.8.
        #[serde(default)]
        opacity: Option<f32>,
    },
}

fn one() -> f32 {
    1.0
}

/// The annotations' place in the page's order.
const ANNOTATE: u8 = 7;

impl Operation {
    /// Its place in the page's order.
    fn rank(&self) -> u8 {
        match self {
            Operation::Crop { .. } => 1,
            Operation::Rotate { .. } => 2,
            Operation::Flip { .. } => 3,
            Operation::Adjust { .. } => 4,
            Operation::Filter { .. } => 5,
            Operation::Resize { .. } => 6,
            Operation::Text(_)
            | Operation::Arrow(_)
            | Operation::Line(_)
            | Operation::Rect(_)
            | Operation::Ellipse(_) => ANNOTATE,
            Operation::Watermark { .. } => 8,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Operation::Text(_) => "text",
            Operation::Arrow(_) => "arrow",
            Operation::Line(_) => "line",
            Operation::Rect(_) => "rect",
            Operation::Ellipse(_) => "ellipse",
            op => ["crop", "rotate", "flip", "adjust", "filter", "resize", "", "watermark"][op.rank() as usize - 1],
        }
    }
}

/// A mirror's axis.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Left↔right (`horizontal`).
    Horizontal,
    /// Top↔bottom (`vertical`).
    Vertical,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_steps() {
        let spec = EditSpec {
            crop: Some(Crop { x: 10, y: 0, width: 100, height: 50 }),
            rotate: Some(Rotation::Cw90),
            ..EditSpec::default()
        };
        assert_eq!(spec.output_size((200, 100)).unwrap(), (50, 100));
        let outside = EditSpec { crop: Some(Crop { x: 150, y: 0, width: 100, height: 50 }), ..EditSpec::default() };
        assert!(outside.output_size((200, 100)).is_err());
    }

    #[test]
    fn the_page_list_must_follow_the_page_order() {
        let ops: Vec<Operation> = serde_json::from_str(
            r#"[{"op":"crop","x":0,"y":0,"width":4,"height":4},{"op":"rotate","degrees":90},
                {"op":"flip","direction":"horizontal"},{"op":"flip","direction":"vertical"},
                {"op":"watermark","text":"© Ünï"}]"#,
        )
        .unwrap();
        let spec = EditSpec::from_operations(&ops).unwrap();
        assert!(spec.flip_horizontal && spec.flip_vertical);
        assert_eq!(spec.rotate, Some(Rotation::Cw90));
        assert_eq!(spec.watermarks[0].mark, Mark::Text("© Ünï".into()));
        let reversed: Vec<Operation> = ops.into_iter().rev().collect();
        assert!(EditSpec::from_operations(&reversed).is_err());
        let bad: Vec<Operation> = serde_json::from_str(r#"[{"op":"rotate","degrees":45}]"#).unwrap();
        assert!(EditSpec::from_operations(&bad).is_err());
    }

    #[test]
    fn annotations_read_as_the_issue_spells_them_and_are_bounded() {
        let ops: Vec<Operation> = serde_json::from_str(
            r##"[{"op":"resize","width":200,"height":100},
                {"op":"text","text":"写真","x":10,"y":20,"size":24,"color":"#00ff00"},
                {"op":"arrow","x1":1,"y1":2,"x2":30,"y2":40,"width":3,"color":"#0000ff"},
                {"op":"line","x1":1,"y1":2,"x2":30,"y2":40},
                {"op":"rect","x":5,"y":6,"width":50,"height":40,"line":2,"color":"#ff0000","fill":"#ffffff"},
                {"op":"ellipse","x":5,"y":6,"width":50,"height":40,"line":0,"fill":"#123456"},
                {"op":"watermark","text":"x"}]"##,
        )
        .unwrap();
        let spec = EditSpec::from_operations(&ops).unwrap();
        assert_eq!(spec.annotations.len(), 5);
        let Annotation::Text(t) = &spec.annotations[0] else { panic!() };
        assert_eq!((t.text.as_str(), t.size, t.color), ("写真", 24, Rgb([0, 255, 0])));
        let Annotation::Line(l) = spec.annotations[2] else { panic!() };
        assert_eq!((l.width, l.color), (4.0, Rgb([255, 0, 0])));
        let Annotation::Ellipse(e) = spec.annotations[4] else { panic!() };
        assert_eq!(e.fill, Some(Rgb([0x12, 0x34, 0x56])));
        // The spec round-trips (a plan stores it).
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<EditSpec>(&json).unwrap(), spec);
        // Unknown fields, bad colours and values out of range are refused with the reason.
        for (bad, why) in [
            (r##"[{"op":"rect","x":0,"y":0,"width":1,"height":1,"radius":3}]"##, "unknown field"),
            (r##"[{"op":"line","x1":0,"y1":0,"x2":1,"y2":1,"color":"red"}]"##, "#rrggbb"),
        ] {
            let e = serde_json::from_str::<Vec<Operation>>(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        for (bad, why) in [
            (r##"[{"op":"line","x1":0,"y1":0,"x2":1,"y2":1,"width":1001}]"##, "width 1001"),
            (r##"[{"op":"rect","x":0,"y":0,"width":1,"height":1,"line":0}]"##, "0 only with a fill"),
            (r##"[{"op":"text","text":"","x":0,"y":0}]"##, "1 to 200 characters"),
            (r##"[{"op":"text","text":"a","x":0,"y":0,"size":5000}]"##, "size 5000"),
            (r##"[{"op":"arrow","x1":0,"y1":0,"x2":1e9,"y2":1}]"##, "x2 1000000000"),
            (r##"[{"op":"watermark","text":"x"},{"op":"line","x1":0,"y1":0,"x2":1,"y2":1}]"##, "order"),
        ] {
            let ops: Vec<Operation> = serde_json::from_str(bad).unwrap();
            let e = EditSpec::from_operations(&ops).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let many = format!("[{}]", vec![r#"{"op":"line","x1":0,"y1":0,"x2":1,"y2":1}"#; 65].join(","));
        let ops: Vec<Operation> = serde_json::from_str(&many).unwrap();
        assert!(EditSpec::from_operations(&ops).unwrap_err().to_string().contains("at most 64 annotations"));
    }

    #[test]
    fn the_spec_is_serde() {
        let spec = EditSpec {
            rotate: Some(Rotation::Cw270),
            watermarks: vec![Watermark {
                mark: Mark::Image(vec![1, 2, 3, 250]),
                position: Position::TopLeft,
                size: Some(9),
                opacity: None,
            }],
            ..EditSpec::default()
        };
        let json = serde_json::to_string(&spec).unwrap();
        assert!(json.contains(r#""rotate":270"#), "{json}");
        assert_eq!(serde_json::from_str::<EditSpec>(&json).unwrap(), spec);
    }
}
