// The message enum shared by the typed examples: a camera process streams frames, log lines
// and tags to one consumer, and says when it stops.

/// What a camera process sends.
#[ipmpsc::channel(version = 2)]
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A grey-scale image, one byte per pixel, row by row.
    Frame {
        camera: u32,
        seq: u64,
        width: u32,
        height: u32,
        pixels: Vec<u8>,
    },
    /// A line for the log.
    Log(String),
    /// Labels a detector attached to the last frame.
    Tags(Vec<String>),
    /// The camera is shutting down.
    Stop { camera: u32 },
}

/// Deterministic test image for frame `seq` of `camera`, so the receiver can check it.
#[allow(dead_code)]
pub fn test_pattern(camera: u32, seq: u64, width: u32, height: u32) -> Vec<u8> {
    (0..width * height)
        .map(|i| (i as u64 + seq * 7 + u64::from(camera) * 31) as u8)
        .collect()
}
