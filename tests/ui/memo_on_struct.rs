use memo_runtime::memo;

#[memo]
struct Config {
    path: String,
}

fn main() {
    let _ = Config { path: String::new() }.path;
}
