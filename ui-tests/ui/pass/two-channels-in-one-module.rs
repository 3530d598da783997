//! Two channels side by side: their generated names do not collide, and their schemas
//! differ.

#[ipmpsc::channel]
pub enum Request {
    Get(String),
}

#[ipmpsc::channel]
pub enum Reply {
    Found(Vec<u8>),
    Missing,
}

fn serve(requests: &mut RequestReceiver, replies: &ReplySender) -> ipmpsc::Result<()> {
    let RequestView::Get(key) = *requests.recv_view()?;
    if key.is_empty() {
        replies.send(&Reply::Missing)
    } else {
        replies.send_view(&ReplyView::Found(key.as_bytes()))
    }
}

const _: () = assert!(Request::SCHEMA_HASH != Reply::SCHEMA_HASH);

fn main() {
    let _ = serve as fn(&mut RequestReceiver, &ReplySender) -> ipmpsc::Result<()>;
}
