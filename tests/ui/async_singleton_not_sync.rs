use memo_runtime::singleton;
use std::cell::RefCell;

struct Model {
    cache: RefCell<Vec<u8>>,
}

#[singleton]
async fn model() -> Model {
    Model {
        cache: RefCell::new(Vec::new()),
    }
}

fn main() {
    let _ = model();
}
