use memo_runtime::memo;

#[memo(hash(v = |v: &Option<&mut Vec<u32>>| v.as_ref().map(|v| v.len())))]
fn push_opt(v: Option<&mut Vec<u32>>, x: u32) -> u32 {
    if let Some(v) = v {
        v.push(x);
    }
    x
}

fn main() {}
