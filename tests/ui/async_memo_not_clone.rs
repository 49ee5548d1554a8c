use memo_runtime::memo;

struct Connection;

#[memo]
async fn open(url: String) -> Connection {
    let _ = url;
    Connection
}

fn main() {
    let _ = open(String::new());
}
