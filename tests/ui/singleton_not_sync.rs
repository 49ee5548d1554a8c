use memo_runtime::singleton;

#[singleton]
fn counter() -> std::cell::Cell<u8> {
    std::cell::Cell::new(0)
}

fn main() {}
