use memo_runtime::memo;

#[memo]
fn push((v, x): (&mut Vec<u32>, u32)) -> usize {
    v.push(x);
    v.len()
}

// Not hashed, so allowed: every binding starts with `_`.
#[memo]
fn ignored((_v, _x): (&mut Vec<u32>, u32)) -> usize {
    1
}

fn main() {}
