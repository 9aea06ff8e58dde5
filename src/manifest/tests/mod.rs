//! Tests of the manifest parsers that need more room than a module's own `tests`.

mod dotenv;
mod problems;
mod procfile;
mod proptests;
