use memo_runtime::singleton;

#[singleton]
fn init() {
    println!("ready");
}

fn main() {
    init();
}
