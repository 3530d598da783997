//! `Option` and `Vec` of borrowed fields are viewed element-wise, and a view built from
//! borrowed data can be sent without an owned copy.

#[ipmpsc::channel]
pub enum Msg {
    Names(Vec<String>),
    Blobs(Vec<Vec<u8>>),
    Maybe(Option<String>, Option<Vec<u8>>),
    Rows(Vec<Option<Vec<u8>>>),
}

fn send_borrowed(sender: &MsgSender, names: &[String], header: &[u8]) -> ipmpsc::Result<()> {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    sender.send_view(&MsgView::Names(names))?;
    sender.send_view(&MsgView::Blobs(vec![header, &header[1..]]))?;
    sender.send_view(&MsgView::Maybe(Some("x"), None))?;
    sender.send_view(&MsgView::Rows(vec![Some(header), None]))
}

fn receive(receiver: &mut MsgReceiver) -> ipmpsc::Result<usize> {
    let guard = receiver.recv_view()?;
    let total = match &*guard {
        MsgView::Names(names) => names.iter().map(|n: &&str| n.len()).sum(),
        MsgView::Blobs(blobs) => blobs.iter().map(|b: &&[u8]| b.len()).sum(),
        MsgView::Maybe(name, blob) => name.map_or(0, str::len) + blob.map_or(0, <[u8]>::len),
        MsgView::Rows(rows) => rows.iter().flatten().map(|r: &&[u8]| r.len()).sum(),
    };
    let _owned: Msg = guard.into_owned();
    Ok(total)
}

fn main() {
    let _ = (
        send_borrowed as fn(&MsgSender, &[String], &[u8]) -> ipmpsc::Result<()>,
        receive as fn(&mut MsgReceiver) -> ipmpsc::Result<usize>,
    );
}
