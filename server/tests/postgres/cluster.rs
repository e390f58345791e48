//! The throwaway cluster itself: it starts, answers on loopback with a
//! password, and leaves nothing behind when dropped.

use wijklog_server::testing_pg::PgCluster;

#[test]
fn a_throwaway_cluster_runs_on_loopback_and_is_gone_after_drop() {
    let cluster = PgCluster::start();
    let port = cluster.port();
    let log = cluster.log_path();
    let dir = log.parent().expect("cluster dir").to_owned();
    assert!(dir.is_dir(), "the cluster's directory exists while it runs");
    assert_eq!(cluster.psql("postgres", "SELECT 40 + 2").trim(), "42");
    let version = cluster.psql("postgres", "SHOW server_version_num");
    assert!(
        version.trim().starts_with("15"),
        "PostgreSQL 15 expected, got {version}"
    );
    // Only loopback.
    assert_eq!(
        cluster.psql("postgres", "SHOW listen_addresses").trim(),
        "127.0.0.1"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(cluster);
    assert!(!dir.exists(), "the cluster's directory is deleted on drop");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens on the port after drop"
    );
}
