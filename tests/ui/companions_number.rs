use memo_runtime::singleton;

#[singleton(companions = 0)]
fn pool() -> String {
    String::new()
}

fn main() {}
