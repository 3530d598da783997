//! Unit, tuple and struct variants, with every borrowing field type and owned ones.

#[ipmpsc::channel(version = 3)]
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A frame.
    Frame {
        width: u32,
        height: u32,
        pixels: Vec<u8>,
    },
    Log(String),
    Boxed(Box<[u8]>, Box<str>),
    Tags(Vec<String>),
    Chunks(Vec<Vec<u8>>),
    Maybe {
        name: Option<String>,
        blob: Option<Vec<u8>>,
    },
    Deep(Option<Vec<Option<Vec<u8>>>>),
    Pair((u8, i64), [u16; 4]),
    Stop,
}

const HASH: u64 = Msg::SCHEMA_HASH;
const VERSION: u32 = Msg::SCHEMA_VERSION;

fn views(msg: &Msg) {
    let view: MsgView<'_> = msg.as_view();
    match &view {
        MsgView::Frame {
            width,
            height,
            pixels,
        } => {
            let _: (&u32, &u32, &&[u8]) = (width, height, pixels);
        }
        MsgView::Log(text) => {
            let _: &&str = text;
        }
        MsgView::Boxed(bytes, text) => {
            let _: (&&[u8], &&str) = (bytes, text);
        }
        MsgView::Tags(tags) => {
            let _: &Vec<&str> = tags;
        }
        MsgView::Chunks(chunks) => {
            let _: &Vec<&[u8]> = chunks;
        }
        MsgView::Maybe { name, blob } => {
            let _: (&Option<&str>, &Option<&[u8]>) = (name, blob);
        }
        MsgView::Deep(deep) => {
            let _: &Option<Vec<Option<&[u8]>>> = deep;
        }
        MsgView::Pair(pair, array) => {
            let _: (&(u8, i64), &[u16; 4]) = (pair, array);
        }
        MsgView::Stop => {}
    }
    let owned: Msg = view.clone().into_owned();
    assert_eq!(&owned, msg);
    assert_eq!(format!("{:?}", view).is_empty(), false);
    let _: Msg = <Msg as ipmpsc::Channel>::view_into_owned(view);
}

fn endpoints() -> ipmpsc::Result<()> {
    let mut receiver: MsgReceiver = Msg::create_receiver("/dev/shm/never-created", 1 << 20)?;
    let _: MsgReceiver = Msg::open_receiver("/dev/shm/never-created")?;
    let sender: MsgSender = Msg::open_sender(std::path::Path::new("/dev/shm/never-created"))?;
    let msg = Msg::Log("hello".to_owned());
    sender.send(&msg)?;
    sender.send_view(&msg.as_view())?;
    let _: bool = sender.try_send(&msg)?;
    let _: bool = sender.send_timeout(&msg, std::time::Duration::from_millis(1))?;
    let _: Msg = receiver.recv()?;
    let _: Option<Msg> = receiver.try_recv()?;
    let guard = receiver.recv_view()?;
    if let MsgView::Log(text) = &*guard {
        let _: &str = text;
    }
    let _: Msg = guard.into_owned();
    Ok(())
}

fn main() {
    const { assert!(HASH != 0) };
    const { assert!(VERSION == 3) };
    let _ = (views as fn(&Msg), endpoints as fn() -> ipmpsc::Result<()>);
}
