use memo_runtime::memo;

#[memo(persist = "disk", experimental_allow_widgets = true)]
fn plus_one(x: u32) -> u32 {
    x + 1
}

fn main() {
    let _ = plus_one(1);
}
