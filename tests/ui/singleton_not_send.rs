use memo_runtime::singleton;

#[singleton]
fn shared() -> std::rc::Rc<u8> {
    std::rc::Rc::new(0)
}

fn main() {}
