use memo_runtime::memo;

// A `&mut` behind an alias is not seen by the macro, only by the compiler.
type Buf<'a> = &'a mut Vec<u32>;

#[memo]
fn push(v: Buf<'_>, x: u32) -> usize {
    v.push(x);
    v.len()
}

#[memo(hash(v = ptr))]
fn push_by_address(v: Buf<'_>, x: u32) -> usize {
    v.push(x);
    v.len()
}

fn main() {}
