use memo_runtime::memo;

#[derive(Clone)]
struct Model(Vec<f32>);

#[memo(persist = "disk")]
fn train(epochs: u32) -> Result<Model, String> {
    Ok(Model(vec![epochs as f32]))
}

fn main() {
    let _ = train(1);
}
