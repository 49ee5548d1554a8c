use memo_runtime::memo;

#[memo(allow_output_mutation = true)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
