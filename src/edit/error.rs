//! Why an edit is refused: a value out of range, a step that does not fit the picture, or a
//! result that would not fit in the memory this process may use (said before allocating).

/// An edit that cannot be done; [`crate::Error::Edit`] carries it with the file's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// A value out of its range, or a step that does not fit the picture (a crop outside it).
    #[error("{0}")]
    Invalid(String),
    /// A watermark larger than the picture it goes on.
    #[error("the watermark ({mark_width}x{mark_height}) does not fit on the {width}x{height} picture: choose a smaller size or a shorter text")]
    MarkTooLarge {
        /// The watermark's width in pixels, at the size asked for.
        mark_width: u64,
        /// The watermark's height in pixels.
        mark_height: u64,
        /// The picture's width in pixels.
        width: u32,
        /// The picture's height in pixels.
        height: u32,
    },
    /// The step would need more memory than this process may use.
    #[error("{what} {width}x{height} needs {needed} bytes, {available} bytes are available")]
    OverBudget {
        /// The step (`resize`, `crop`, `watermark`, …).
        what: &'static str,
        /// Width in pixels of the picture it would make.
        width: u64,
        /// Height in pixels of the picture it would make.
        height: u64,
        /// Bytes it would hold.
        needed: u64,
        /// Bytes this process may use now ([`crate::memory::available_memory`]).
        available: u64,
    },
    /// The watermark picture cannot be read.
    #[error("watermark picture: {0}")]
    Picture(String),
}

impl EditError {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        EditError::Invalid(msg.into())
    }
}

impl From<EditError> for crate::Error {
    /// The edit error without a file (callers that know it put it in [`crate::Error::Edit`]).
    fn from(source: EditError) -> Self {
        crate::Error::Edit { path: Default::default(), source }
    }
}
