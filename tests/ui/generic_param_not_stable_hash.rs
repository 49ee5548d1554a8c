use memo_runtime::memo;

#[memo]
fn len<T: AsRef<str>>(x: T) -> usize {
    x.as_ref().len()
}

fn main() {}
