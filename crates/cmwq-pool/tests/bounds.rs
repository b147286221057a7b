//! The pieces a threaded driver puts behind locks can move between threads.

use cmwq_pool::{Actions, Policy, Pool, System, Workqueue};

fn send_sync<T: Send + Sync>() {}

#[test]
fn the_core_pieces_are_send_and_sync() {
    send_sync::<Pool>();
    send_sync::<Workqueue>();
    send_sync::<System>();
    send_sync::<Actions>();
    send_sync::<Policy>();
}
