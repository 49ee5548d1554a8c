use memo_runtime::memo;

#[derive(Clone)]
struct Report {
    rows: Vec<u32>,
}

#[memo(persist = "disk")]
fn report(n: u32) -> Report {
    Report { rows: vec![n] }
}

fn main() {
    let _ = report(1).rows;
}
