//! An append-only list that readers walk without a lock: management calls
//! (stats, clear) and first calls of a function only ever add to it, and
//! nothing is ever removed, so nodes can live for the whole program.

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

struct Node<T: 'static> {
    value: T,
    next: *const Node<T>,
}

pub(crate) struct AppendList<T: 'static> {
    head: AtomicPtr<Node<T>>,
}

// SAFETY: nodes are immutable once published and never freed; `T` crosses
// threads only as shared references.
unsafe impl<T: Send + Sync> Send for AppendList<T> {}
unsafe impl<T: Send + Sync> Sync for AppendList<T> {}

impl<T: 'static> AppendList<T> {
    pub(crate) const fn new() -> Self {
        AppendList {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Adds `value`; it stays for the life of the program.
    pub(crate) fn push(&self, value: T) {
        let node = Box::leak(Box::new(Node {
            value,
            next: ptr::null(),
        }));
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            node.next = head;
            match self
                .head
                .compare_exchange_weak(head, node, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// Every value pushed so far, newest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'static T> {
        let mut at: *const Node<T> = self.head.load(Ordering::Acquire);
        std::iter::from_fn(move || {
            // SAFETY: published nodes are leaked, never freed or changed.
            let node = unsafe { at.as_ref()? };
            at = node.next;
            Some(&node.value)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::AppendList;

    #[test]
    fn concurrent_pushes_are_all_seen() {
        static LIST: AppendList<usize> = AppendList::new();
        std::thread::scope(|s| {
            for t in 0..4 {
                s.spawn(move || (0..1000).for_each(|i| LIST.push(t * 1000 + i)));
            }
        });
        let mut all: Vec<usize> = LIST.iter().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..4000).collect::<Vec<_>>());
    }
}
