//! Misuse of the macros and of the typed API that must not compile (`ui/fail`), and uses
//! that must (`ui/pass`). Regenerate the expected errors with `TRYBUILD=overwrite`, then read
//! every changed `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
