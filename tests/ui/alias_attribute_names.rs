use memo_runtime::{cache_data, cache_resource, experimental_memo, experimental_singleton};

#[cache_resource]
fn init() {}

#[experimental_singleton(persist = "disk")]
fn pool() -> u32 {
    1
}

#[cache_data]
const fn square(x: u32) -> u32 {
    x * x
}

#[experimental_memo]
struct Config;

fn main() {}
