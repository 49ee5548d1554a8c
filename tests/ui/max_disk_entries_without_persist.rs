use memo_runtime::memo;

#[memo(max_disk_entries = 100)]
fn f(x: u32) -> u32 {
    x
}

#[memo(persist = "disk", max_disk_entries = 0)]
fn g(x: u32) -> u32 {
    x
}

fn main() {
    f(1);
    g(1);
}
