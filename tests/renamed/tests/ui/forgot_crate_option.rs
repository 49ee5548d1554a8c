// Renamed in Cargo.toml, but no `crate = "memo"`: rustc's own error, at the
// attribute, names the missing `memo_runtime`.
#[memo::memo]
fn plain(x: u32) -> u32 {
    x
}

fn main() {}
