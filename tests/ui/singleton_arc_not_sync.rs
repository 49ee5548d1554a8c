use memo_runtime::singleton;
use std::cell::Cell;
use std::sync::Arc;

#[singleton]
fn counter() -> Arc<Cell<u8>> {
    Arc::new(Cell::new(0))
}

fn main() {}
