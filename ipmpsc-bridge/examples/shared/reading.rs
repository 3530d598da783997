//! The message type of the bridge examples, and the type an older build of the sensor used
//! (its `celsius` was an `f64`): a channel of one is refused to the other, also across the
//! bridge.

#[ipmpsc::channel]
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    Temp { sensor: u32, seq: u64, celsius: f32 },
}

pub mod old_build {
    #[ipmpsc::channel]
    #[derive(Debug, Clone, PartialEq)]
    pub enum Reading {
        Temp { sensor: u32, seq: u64, celsius: f64 },
    }
}
