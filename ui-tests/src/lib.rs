//! trybuild harness for ipmpsc: see `tests/compiletest.rs`.
