use memo_runtime::memo;

#[memo]
fn shared(n: u8) -> std::rc::Rc<u8> {
    std::rc::Rc::new(n)
}

fn main() {}
