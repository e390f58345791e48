//! Interop helper: a Rust sync client that fetches one document from a
//! running server and prints its projection rows as JSON on stdout.
//!
//! Usage: `sync_dump <http://host:port> <access token> <doc uuid>`

use std::time::Duration;

use automerge::AutoCommit;
use uuid::Uuid;
use wijklog_tests::sync_client::SyncClient;
use wijklog_tests::walks::projection_json;

#[actix_rt::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: sync_dump <base url> <access token> <doc uuid>");
        std::process::exit(2);
    }
    let Ok(id) = Uuid::parse_str(&args[3]) else {
        eprintln!("not a document id");
        std::process::exit(2);
    };
    let Some(mut client) = SyncClient::try_connect(&args[1], &args[2]).await else {
        eprintln!("could not connect");
        std::process::exit(1);
    };
    client.add_doc(id, AutoCommit::new());
    client.sync_doc(id).await;
    // Sync until the server has nothing more to say.
    client.pump_quiet(Duration::from_millis(500)).await;
    if let Some(e) = client.errors.first() {
        eprintln!("server error: {}", e.code);
        std::process::exit(1);
    }
    let doc = &client.docs[&id].doc;
    println!("{}", projection_json(id, doc));
}
