use memo_runtime::{memo, singleton};
use std::future::Future;

// Forgot `async`: the cache would keep the future, not the page.
#[memo]
fn fetch(url: String) -> impl Future<Output = String> {
    async move { url }
}

#[singleton]
fn connect() -> std::pin::Pin<Box<dyn Future<Output = u32> + Send + Sync>> {
    Box::pin(async { 1 })
}

fn main() {
    let _ = fetch(String::new());
    let _ = connect();
}
