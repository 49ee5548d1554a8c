use memo_runtime::singleton;
use std::cell::Cell;

#[singleton]
fn counter(start: u8) -> Result<Cell<u8>, String> {
    Ok(Cell::new(start))
}

fn main() {}
