//! The PostgreSQL backend against a real PostgreSQL 15: one throwaway cluster
//! per test process (`wijklog_server::testing_pg`), one database per test.

mod blobs;
mod cli;
mod cluster;
mod erasure;
mod review;
mod storage;
