use memo_runtime::memo;

#[memo]
fn push(v: Option<&mut Vec<u32>>, x: u32) -> usize {
    let v = v.unwrap();
    v.push(x);
    v.len()
}

fn main() {}
