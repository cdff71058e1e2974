//! Restores input order after the frame workers: items are numbered as they come in, finish in
//! any order, and leave in number order. Pure bookkeeping; the bound on what it holds is kept by
//! the caller (see `workers.rs`).

use std::collections::BTreeMap;

/// Items numbered 0, 1, 2, … that arrive in any order and are taken out in number order.
pub struct Reorder<T> {
    next: u64,
    held: BTreeMap<u64, T>,
}

impl<T> Default for Reorder<T> {
    fn default() -> Self {
        Reorder { next: 0, held: BTreeMap::new() }
    }
}

impl<T> Reorder<T> {
    /// Holds item number `seq` until every item before it has been taken.
    pub fn push(&mut self, seq: u64, item: T) {
        debug_assert!(seq >= self.next && !self.held.contains_key(&seq), "item {seq} given twice");
        self.held.insert(seq, item);
    }

    /// The next item in number order, when it has arrived.
    pub fn pop(&mut self) -> Option<T> {
        let item = self.held.remove(&self.next)?;
        self.next += 1;
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_leave_in_number_order_whatever_order_they_arrive_in() {
        let mut r = Reorder::default();
        let mut out = Vec::new();
        for seq in [2, 0, 1, 5, 3, 4, 7, 6] {
            r.push(seq, seq * 10);
            while let Some(x) = r.pop() {
                out.push(x);
            }
        }
        assert_eq!(out, vec![0, 10, 20, 30, 40, 50, 60, 70]);
        assert_eq!(r.pop(), None);
    }

    #[test]
    fn a_missing_item_holds_back_every_later_one() {
        let mut r = Reorder::default();
        r.push(1, 'b');
        r.push(2, 'c');
        assert_eq!(r.pop(), None);
        r.push(0, 'a');
        assert_eq!([r.pop(), r.pop(), r.pop(), r.pop()], [Some('a'), Some('b'), Some('c'), None]);
    }
}
