pub fn _x() {}
pub mod template;
