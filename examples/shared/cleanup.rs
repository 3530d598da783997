// Shared by the examples that create channel files: they remove them when they end.

/// Removes these channel files when dropped: when the example ends, however it ends.
pub struct RemoveOnDrop(pub Vec<String>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}
