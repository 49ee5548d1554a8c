use memo_runtime::memo;

trait Source {
    #[memo]
    fn load(&self) -> String;
}

fn main() {}
