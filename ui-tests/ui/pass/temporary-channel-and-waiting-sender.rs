//! The generated constructors for a temporary channel and a sender that waits for its
//! receiver, with the conveniences around them, as a request/response pair uses them.

use std::time::Duration;

#[ipmpsc::channel]
#[derive(Debug, PartialEq)]
pub enum Request {
    Get(String),
}

fn main() -> ipmpsc::Result<()> {
    let mut rx: RequestReceiver = Request::create_temp_receiver(4096)?;
    let path = rx.path().to_path_buf();
    let tx: RequestSender = Request::open_sender_timeout(&path, Duration::from_secs(10))?
        .expect("the receiver exists");
    assert_eq!(rx.capacity(), tx.capacity());
    assert!(rx.is_empty());
    assert!(tx.try_send_view(&RequestView::Get("a"))?);
    assert!(tx.send_view_timeout(&RequestView::Get("b"), Duration::from_secs(1))?);
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.recv()?, Request::Get("a".into()));
    assert_eq!(rx.recv()?, Request::Get("b".into()));
    drop(rx);
    assert!(!path.exists());
    Ok(())
}
