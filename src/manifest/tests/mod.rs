//! Tests of the manifest parsers that need more room than a module's own `tests`.

mod dotenv;
mod fuzz;
mod problems;
mod procfile;
mod proptests;
mod replicas;
