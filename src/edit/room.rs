//! The memory an edit step will hold, checked against what this process may use
//! ([`crate::memory::available_memory`], cgroup-aware) before anything is allocated.

use crate::error::EditError;

/// Refuses a step whose `copies` pictures of `width`×`height`×`channels` float samples would
/// not fit in the memory available now.
pub fn check(what: &'static str, width: u64, height: u64, channels: u64, copies: u64) -> Result<(), EditError> {
    let needed = width.saturating_mul(height).saturating_mul(channels).saturating_mul(4).saturating_mul(copies);
    let available = crate::memory::available_memory();
    if needed > available {
        return Err(EditError::OverBudget { what, width, height, needed, available });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_huge_resize_is_refused_with_the_numbers() {
        let e = super::check("resize", 65535, 65535, 4, 2).unwrap_err();
        let super::EditError::OverBudget { needed, available, .. } = e else { panic!("{e}") };
        assert_eq!(needed, 65535 * 65535 * 32);
        assert!(available < needed);
        assert!(super::check("crop", 10, 10, 3, 2).is_ok());
    }
}
