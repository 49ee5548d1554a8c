use memo_runtime::memo;

extern "C" {
    #[memo]
    fn abs(x: i32) -> i32;

    #[memo]
    pub fn labs(x: i64) -> i64;
}

fn main() {}
