//! One module per page.

pub mod gates;
pub mod login;
pub mod run;
pub mod runs;
