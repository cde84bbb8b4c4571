//! The server on PostgreSQL, when `YUNSHI_TEST_PG` names a server (a base URL such as
//! `postgres://root@127.0.0.1:5432`). Each run creates and drops its own database.

use axum::Router;

use crate::helpers::{ADMIN_TOKEN, TestServer, assert_problem, on_postgres};

#[tokio::test]
async fn serves_on_a_fresh_postgres_database() {
    on_postgres(|db| async move {
        let server = TestServer::start_on(&db, Router::new()).await;
        let res = server.get("/readyz").await;
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["database"], "postgres");
        let me = server
            .client
            .get(server.url("/api/v1/whoami"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);

        // The database goes away under the running server: not ready, but still alive.
        db.drop_database().await;
        let body = assert_problem(server.get("/readyz").await, 503, "unavailable").await;
        assert_eq!(body["instance"], "/readyz");
        assert_eq!(server.get("/healthz").await.status(), 200);
        server.stop().await;
    })
    .await;
}
