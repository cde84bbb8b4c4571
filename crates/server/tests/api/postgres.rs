//! The server on PostgreSQL, when `YUNSHI_TEST_PG` names a server (a base URL such as
//! `postgres://root@127.0.0.1:5432`). Each run creates and drops its own database.

use axum::Router;

use crate::helpers::{ADMIN_TOKEN, TestServer, assert_problem};

async fn admin_client(base: &str) -> tokio_postgres::Client {
    let (client, conn) =
        tokio_postgres::connect(&format!("{base}/postgres"), tokio_postgres::NoTls)
            .await
            .expect("connect to YUNSHI_TEST_PG");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

#[tokio::test]
async fn serves_on_a_fresh_postgres_database() {
    let Some(base) = crate::helpers::postgres_server() else {
        return;
    };
    let db = format!(
        "yunshi_test_{}",
        &uuid::Uuid::now_v7().simple().to_string()[16..]
    );
    let admin = admin_client(&base).await;
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();

    let url = format!("{base}/{db}");
    let (base2, db2) = (base.clone(), db.clone());
    // Run in a task so the database is dropped even when an assertion fails.
    let outcome = tokio::spawn(async move {
        let (base, db) = (base2, db2);
        let server = TestServer::start_with(
            |c| {
                c.database_url = Some(url);
                c.admin_token = Some(ADMIN_TOKEN.into());
            },
            Router::new(),
        )
        .await;
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
        let admin = admin_client(&base).await;
        admin
            .batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
            .await
            .unwrap();
        let body = assert_problem(server.get("/readyz").await, 503, "unavailable").await;
        assert_eq!(body["instance"], "/readyz");
        assert_eq!(server.get("/healthz").await.status(), 200);
        server.stop().await;
    })
    .await;

    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await
        .unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
