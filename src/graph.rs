//! The service dependency graph (to be written).
