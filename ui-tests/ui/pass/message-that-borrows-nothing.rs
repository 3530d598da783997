//! When no field can be borrowed, the view is the message itself.

#[ipmpsc::channel]
#[derive(Debug, PartialEq)]
enum Tick {
    At { seconds: u64, nanos: u32 },
    Stop,
}

fn main() {
    let tick = Tick::At {
        seconds: 1,
        nanos: 2,
    };
    let view: TickView<'_> = tick.as_view();
    let same: Tick = view;
    assert_eq!(same.into_owned(), tick);
    assert_eq!(
        <Tick as ipmpsc::Channel>::view_into_owned(Tick::Stop),
        Tick::Stop
    );
}
