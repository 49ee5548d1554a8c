use memo_runtime::StableHash;

#[derive(StableHash)]
union Bits {
    f: f32,
    u: u32,
}

fn main() {}
