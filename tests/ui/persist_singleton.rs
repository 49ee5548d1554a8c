use memo_runtime::singleton;

#[singleton(persist = "disk")]
fn pool() -> String {
    String::new()
}

fn main() {
    pool();
}
