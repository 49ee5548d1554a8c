// Both attributes through the renamed crate: still caught as two caches.
#[memo::memo(crate = "memo")]
#[memo::singleton(crate = "memo")]
fn both(x: u32) -> u32 {
    x
}

fn main() {}
