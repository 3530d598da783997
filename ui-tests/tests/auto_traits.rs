//! The auto traits the typed API promises (DESIGN.md): a sender is shared freely, the one
//! receiver moves between threads but is never shared or duplicated, and a view guard stays
//! on the thread that received it. Checked at compile time: a violated assertion fails the
//! build of this test target, and so `cargo test`.

use static_assertions::{assert_impl_all, assert_not_impl_any};

#[ipmpsc::channel]
pub enum Msg {
    Log(String),
}

assert_impl_all!(ipmpsc::TypedSender<Msg>: Send, Sync, Clone);
assert_impl_all!(ipmpsc::TypedReceiver<Msg>: Send);
assert_not_impl_any!(ipmpsc::TypedReceiver<Msg>: Clone, Sync);
assert_not_impl_any!(ipmpsc::ViewGuard<'static, Msg>: Send);
assert_impl_all!(Msg: Send, Sync);
assert_impl_all!(MsgView<'static>: Send, Sync);
