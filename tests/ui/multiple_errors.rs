use memo_runtime::memo;

#[memo(hash(y = ptr), max_entries = 0)]
async fn f(x: &mut u32) -> &u32 {
    x
}

fn main() {}
