//! Loaned sends: a message whose byte buffers are written in place, in the ring, with no copy.
//!
//! A loan is made from a message built around placeholder slices (the *loaned buffers*): the
//! sender sizes it, reserves its record, encodes everything but the loaned buffers' bytes into
//! the record, and hands those bytes out through a [`LoanUninit`]. Once written, the loan is
//! sent with [`Loan::send`]; dropped at any point before (also by a panic), it is abandoned and
//! the receiver skips it at once. A sender process killed while it holds a loan leaves a
//! reservation the receiver skips within about 100 ms.
//!
//! The placeholders are slices of a private, read-only anonymous mapping of the sender's (see
//! `sys::placeholder`; it costs one page of memory): the encoder recognises them by address
//! and length and leaves their bytes out, so building the message costs nothing however large
//! the buffers are. A placeholder starts with a `0xFF` byte, so safe code cannot hold it as a
//! `&str`: a loaned buffer is always a byte string.

use std::mem::MaybeUninit;

use crate::ring::producer::{Reservation, SlotHold};

/// A loan whose buffers hold initialised bytes: fill them with [`Loan::bytes_mut`] (or
/// [`Loan::planes_mut`] for several), then [`Loan::send`]. Dropping it abandons the message.
///
/// `K` is the number of loaned buffers (1 unless made with `loan_planes_uninit`).
///
/// Until it is sent, a loan holds up the messages reserved after it (the receiver delivers in
/// order), so fill it promptly, and do not wait on the channel while you hold one: a send
/// that waits for space the receiver cannot free before the loan is sent would wait forever.
/// A loan borrows its sender and holds its sender slot until it is sent or dropped: other
/// sends through the same sender meanwhile borrow a free slot, and when every slot of the
/// channel is taken they wait for the loan (`try_send` and the timeout forms give up). A loan
/// held across `fork` is the parent's: sending or dropping the child's copy does nothing.
///
/// # Examples
///
/// ```
/// #[ipmpsc::channel]
/// pub enum Img { Gray { width: u32, pixels: Vec<u8> } }
///
/// let path = format!("/dev/shm/ipmpsc-doc-loan-{}", std::process::id());
/// let mut rx = Img::create_receiver(&path, 1 << 16)?;
/// let tx = Img::open_sender(&path)?;
/// let mut loan = tx.loan(640, |pixels| ImgView::Gray { width: 640, pixels })?;
/// for (i, p) in loan.bytes_mut().iter_mut().enumerate() {
///     *p = (i % 256) as u8; // written straight into shared memory
/// }
/// loan.send();
/// let Img::Gray { width, pixels } = rx.recv()?;
/// assert_eq!((width, pixels[300]), (640, 44));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a loan that is dropped is abandoned: call `send` to send it"]
pub struct Loan<'s, const K: usize = 1> {
    // Dropped before `_hold`: abandoning publishes through the held slot.
    reservation: Reservation<'s>,
    /// (offset in the payload, length) of each loaned buffer.
    holes: [(usize, usize); K],
    _hold: SlotHold<'s>,
}

/// A loan whose buffers are not initialised yet: write them through
/// [`LoanUninit::as_uninit_mut`] / [`LoanUninit::planes_uninit_mut`] and call
/// [`LoanUninit::assume_init`], or use one of the safe ways to a [`Loan`]:
/// [`LoanUninit::write_from_slice`], [`LoanUninit::write_planes`], [`LoanUninit::zeroed`].
/// Dropping it abandons the message.
///
/// This is the form with no cost beyond the writes themselves: a producer that makes its data
/// (a camera, a decoder, a renderer) writes it here, in shared memory, exactly once.
///
/// # Examples
///
/// ```
/// use std::mem::MaybeUninit;
/// #[ipmpsc::channel]
/// pub enum Frame { Yuv { seq: u64, y: Vec<u8>, uv: Vec<u8> } }
///
/// let path = format!("/dev/shm/ipmpsc-doc-loan-uninit-{}", std::process::id());
/// let mut rx = Frame::create_receiver(&path, 1 << 16)?;
/// let tx = Frame::open_sender(&path)?;
/// let mut loan = tx.loan_planes_uninit([64, 32], |[y, uv]| FrameView::Yuv { seq: 7, y, uv })?;
/// let [y, uv] = loan.planes_uninit_mut();
/// y.fill(MaybeUninit::new(16));
/// for (i, b) in uv.iter_mut().enumerate() {
///     b.write(i as u8);
/// }
/// // SAFETY: every byte of both buffers was written above.
/// unsafe { loan.assume_init() }.send();
/// let Frame::Yuv { seq, y, uv } = rx.recv()?;
/// assert_eq!((seq, y, uv[31]), (7, vec![16; 64], 31));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a loan that is dropped is abandoned: write it and send it"]
pub struct LoanUninit<'s, const K: usize = 1> {
    reservation: Reservation<'s>,
    holes: [(usize, usize); K],
    _hold: SlotHold<'s>,
}

impl<'s, const K: usize> LoanUninit<'s, K> {
    /// Wraps a reservation whose message is encoded except for the loaned buffers, which lie
    /// at `holes` in its payload.
    pub(crate) fn new(
        reservation: Reservation<'s>,
        holes: [(usize, usize); K],
        hold: SlotHold<'s>,
    ) -> Self {
        LoanUninit {
            reservation,
            holes,
            _hold: hold,
        }
    }

    /// The loaned buffers, in the order they were requested, to write.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// use serde_bytes::Bytes;
    /// let mut loan = tx.loan_planes_uninit([1, 2], |[a, b]| (Bytes::new(a), Bytes::new(b)))?;
    /// let [a, b] = loan.planes_uninit_mut();
    /// a[0].write(1);
    /// b.fill(std::mem::MaybeUninit::new(2));
    /// // SAFETY: both buffers were written whole.
    /// unsafe { loan.assume_init() }.send();
    /// assert_eq!(rx.recv::<(Vec<u8>, Vec<u8>)>()?, (vec![1], vec![2, 2]));
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn planes_uninit_mut(&mut self) -> [&mut [MaybeUninit<u8>]; K] {
        split_holes(self.reservation.uninit_mut(), &self.holes)
    }

    /// Writes the loaned buffers from `sources`, one slice per buffer.
    ///
    /// # Panics
    /// If a source's length differs from its buffer's, as `copy_from_slice` does.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// use serde_bytes::Bytes;
    /// let loan = tx.loan_planes_uninit([1, 2], |[a, b]| (Bytes::new(a), Bytes::new(b)))?;
    /// loan.write_planes([b"x", b"yz"]).send();
    /// assert_eq!(rx.recv::<(Vec<u8>, Vec<u8>)>()?, (b"x".to_vec(), b"yz".to_vec()));
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn write_planes(mut self, sources: [&[u8]; K]) -> Loan<'s, K> {
        for (dst, src) in self.planes_uninit_mut().into_iter().zip(sources) {
            assert_eq!(
                dst.len(),
                src.len(),
                "a loaned buffer of {} bytes written from a slice of {}",
                dst.len(),
                src.len()
            );
            for (d, s) in dst.iter_mut().zip(src) {
                d.write(*s);
            }
        }
        self.into_loan()
    }

    /// Fills the loaned buffers with zeros (a pass over them: for a buffer you will overwrite
    /// anyway, write it through [`LoanUninit::planes_uninit_mut`] instead).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// let mut loan = tx.loan_uninit(4, serde_bytes::Bytes::new)?.zeroed();
    /// loan.bytes_mut()[0] = 9;
    /// loan.send();
    /// assert_eq!(rx.recv::<Vec<u8>>()?, [9, 0, 0, 0]);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn zeroed(mut self) -> Loan<'s, K> {
        for dst in self.planes_uninit_mut() {
            dst.fill(MaybeUninit::new(0));
        }
        self.into_loan()
    }

    /// The loan, its buffers taken as written.
    ///
    /// # Safety
    /// Every byte of every loaned buffer must have been written since the loan was made (as
    /// for [`MaybeUninit::assume_init`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// let mut loan = tx.loan_uninit(3, serde_bytes::Bytes::new)?;
    /// for (i, b) in loan.as_uninit_mut().iter_mut().enumerate() {
    ///     b.write(i as u8);
    /// }
    /// // SAFETY: the loop wrote all three bytes.
    /// unsafe { loan.assume_init() }.send();
    /// assert_eq!(rx.recv::<Vec<u8>>()?, [0, 1, 2]);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub unsafe fn assume_init(self) -> Loan<'s, K> {
        self.into_loan()
    }

    fn into_loan(self) -> Loan<'s, K> {
        let LoanUninit {
            reservation,
            holes,
            _hold,
        } = self;
        Loan {
            reservation,
            holes,
            _hold,
        }
    }
}

impl<'s> LoanUninit<'s, 1> {
    /// The loaned buffer, to write.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// let mut loan = tx.loan_uninit(2, serde_bytes::Bytes::new)?;
    /// assert_eq!(loan.as_uninit_mut().len(), 2);
    /// loan.as_uninit_mut().fill(std::mem::MaybeUninit::new(7));
    /// // SAFETY: filled whole just above.
    /// unsafe { loan.assume_init() }.send();
    /// assert_eq!(rx.recv::<Vec<u8>>()?, [7, 7]);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn as_uninit_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        let [bytes] = self.planes_uninit_mut();
        bytes
    }

    /// Writes the loaned buffer from `source`.
    ///
    /// # Panics
    /// If `source`'s length differs from the buffer's.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// tx.loan_uninit(2, serde_bytes::Bytes::new)?.write_from_slice(b"ok").send();
    /// assert_eq!(rx.recv::<Vec<u8>>()?, b"ok");
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn write_from_slice(self, source: &[u8]) -> Loan<'s, 1> {
        self.write_planes([source])
    }
}

impl<'s, const K: usize> Loan<'s, K> {
    /// The loaned buffers, in the order they were requested.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// use serde_bytes::Bytes;
    /// let mut loan = tx.loan_planes_uninit([1, 1], |[a, b]| (Bytes::new(a), Bytes::new(b)))?.zeroed();
    /// let [a, b] = loan.planes_mut();
    /// (a[0], b[0]) = (1, 2);
    /// loan.send();
    /// assert_eq!(rx.recv::<(Vec<u8>, Vec<u8>)>()?, (vec![1], vec![2]));
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn planes_mut(&mut self) -> [&mut [u8]; K] {
        split_holes(self.reservation.bytes_mut(), &self.holes)
    }

    /// Publishes the message: the receiver sees it whole, with the buffers as written.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// let loan = tx.loan_uninit(1, serde_bytes::Bytes::new)?.write_from_slice(b"!");
    /// assert_eq!(rx.try_recv::<Vec<u8>>()?, None); // nothing is visible before `send`
    /// loan.send();
    /// assert_eq!(rx.try_recv::<Vec<u8>>()?, Some(b"!".to_vec()));
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn send(self) {
        self.reservation.commit();
    }
}

impl<'s> Loan<'s, 1> {
    /// The loaned buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// let mut loan = tx.loan_uninit(3, serde_bytes::Bytes::new)?.zeroed();
    /// loan.bytes_mut().copy_from_slice(b"abc");
    /// loan.send();
    /// assert_eq!(rx.recv::<Vec<u8>>()?, b"abc");
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        let [bytes] = self.planes_mut();
        bytes
    }
}

impl<const K: usize> std::fmt::Debug for Loan<'_, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loan")
            .field("buffers", &self.holes.map(|h| h.1))
            .finish_non_exhaustive()
    }
}

impl<const K: usize> std::fmt::Debug for LoanUninit<'_, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoanUninit")
            .field("buffers", &self.holes.map(|h| h.1))
            .finish_non_exhaustive()
    }
}

/// The disjoint sub-slices `holes` (offset, length) of `bytes`, in the order of `holes`.
fn split_holes<'b, T, const K: usize>(
    mut bytes: &'b mut [T],
    holes: &[(usize, usize); K],
) -> [&'b mut [T]; K] {
    let mut order: [usize; K] = std::array::from_fn(|k| k);
    order.sort_by_key(|&k| holes[k]);
    let mut out: [&'b mut [T]; K] = std::array::from_fn(|_| <&mut [T]>::default());
    let mut base = 0;
    for k in order {
        let (off, len) = holes[k];
        let rest = std::mem::take(&mut bytes);
        let (_, rest) = rest.split_at_mut(off - base);
        let (hole, rest) = rest.split_at_mut(len);
        out[k] = hole;
        bytes = rest;
        base = off + len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::split_holes;

    #[test]
    fn split_holes_hands_out_each_range_in_request_order() {
        let mut bytes: Vec<u8> = (0..20).collect();
        let [a, b, c] = split_holes(&mut bytes, &[(10, 3), (2, 4), (0, 0)]);
        assert_eq!(
            (&*a, &*b, c.len()),
            (&[10, 11, 12][..], &[2, 3, 4, 5][..], 0)
        );
    }
}
