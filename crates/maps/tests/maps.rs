//! Integration tests for mapknee's maps: one binary, a module per topic.
//!
//! Every map-generic test runs against every map in [`common::TEST_MAPS`]
//! through the registry, so a new map joins them all by adding its name
//! there.

#[path = "maps/common.rs"]
mod common;
#[path = "maps/model.rs"]
mod model;
#[path = "maps/registry.rs"]
mod registry;
#[path = "maps/sharded.rs"]
mod sharded;
#[path = "maps/stress.rs"]
mod stress;
#[path = "maps/synthetic.rs"]
mod synthetic;
