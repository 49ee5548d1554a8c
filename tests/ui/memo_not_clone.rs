use memo_runtime::memo;

struct Report {
    lines: Vec<String>,
}

#[memo]
fn report(n: u32) -> Report {
    Report {
        lines: vec![n.to_string()],
    }
}

fn main() {}
