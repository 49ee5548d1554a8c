//! What a crate that renamed the runtime sees when it gets something wrong.
#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
