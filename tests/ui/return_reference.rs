use memo_runtime::memo;

#[memo]
fn first_word(s: &str) -> &str {
    s.split(' ').next().unwrap_or("")
}

fn main() {
    first_word("a b");
}
