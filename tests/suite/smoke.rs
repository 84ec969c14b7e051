//! The fixture itself works: respite forwards a command to its own Redis.
use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_then_get_through_respite() {
    let redis = RedisServer::start();
    let proxy = Proxy::start(config_for(&redis)).await;
    let mut c = proxy.client().await;
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query_async(&mut c)
        .await
        .unwrap();
    let v: String = redis::cmd("GET")
        .arg("k")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(v, "v");
    let mut d = redis.direct().await;
    let v: String = redis::cmd("GET")
        .arg("k")
        .query_async(&mut d)
        .await
        .unwrap();
    assert_eq!(v, "v", "the write reached the upstream Redis");
    proxy.stop().await;
}
