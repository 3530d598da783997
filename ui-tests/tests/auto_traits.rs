//! The auto traits the typed API promises (DESIGN.md): a sender is shared freely, the one
//! receiver moves between threads but is never shared or duplicated, and a view guard stays
//! on the thread that received it.

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

/// The assertions above are checked at compile time; this test makes a failing one show up
/// as a failing `cargo test` target rather than only as a build error.
#[test]
fn typed_endpoints_have_the_promised_auto_traits() {
    fn sender_is_send_sync_clone<T: Send + Sync + Clone>() {}
    sender_is_send_sync_clone::<MsgSender>();
}
