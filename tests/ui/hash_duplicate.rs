use memo_runtime::memo;

#[memo(hash(a = ptr), hash(b = ptr))]
fn f(a: &u32, b: &u32) -> u32 {
    *a + *b
}

#[memo(hash(a = ptr, a = ignore))]
fn g(a: &u32) -> u32 {
    *a
}

fn main() {}
