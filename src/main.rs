//! qr-edge: the Compute program.
fn main() {}
