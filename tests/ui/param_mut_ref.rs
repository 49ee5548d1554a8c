use memo_runtime::memo;

#[memo]
fn push(v: &mut Vec<u32>, x: u32) -> usize {
    v.push(x);
    v.len()
}

fn main() {
    push(&mut vec![], 1);
}
