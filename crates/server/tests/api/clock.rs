use axum::Router;
use yunshi_server::ClockMode;

use crate::helpers::TestServer;

#[tokio::test]
async fn simulated_clock_reports_its_start_time() {
    let server = TestServer::start_with(
        |c| {
            c.clock = ClockMode::Simulated;
            c.start = Some("2026-04-01T09:00:00+08:00".into());
        },
        Router::new(),
    )
    .await;
    let res = server.get("/api/v1/clock").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["mode"], "simulated");
    assert_eq!(body["now"], "2026-04-01T01:00:00Z");
    assert_eq!(body["beijing"], "2026-04-01T09:00:00+08:00");
    // It stands still.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let again: serde_json::Value = server.get("/api/v1/clock").await.json().await.unwrap();
    assert_eq!(again["now"], "2026-04-01T01:00:00Z");
    server.stop().await;
}

#[tokio::test]
async fn system_clock_reports_the_machines_time() {
    let server = TestServer::start().await;
    let body: serde_json::Value = server.get("/api/v1/clock").await.json().await.unwrap();
    assert_eq!(body["mode"], "system");
    let now: jiff::Timestamp = body["now"].as_str().unwrap().parse().unwrap();
    let drift = jiff::Timestamp::now().duration_since(now).abs();
    assert!(drift < jiff::SignedDuration::from_secs(60), "{drift:?}");
    server.stop().await;
}

#[tokio::test]
async fn rulebooks_in_force_follow_the_clock_and_the_date_asked() {
    let server = TestServer::start_with(
        |c| {
            c.clock = ClockMode::Simulated;
            c.start = Some("2026-04-01T09:00:00+08:00".into());
            c.rulebook = "ali".into();
            c.partner_rulebook = Some("partner".into());
        },
        Router::new(),
    )
    .await;
    let body: serde_json::Value = server.get("/api/v1/rulebook").await.json().await.unwrap();
    assert_eq!(body["date"], "2026-04-01");
    assert_eq!(body["marketplace"]["rulebook"]["id"], "ali-2020");
    assert_eq!(body["partner"]["rulebook"]["id"], "partner-fy22");

    let before: serde_json::Value = server
        .get("/api/v1/rulebook?at=2020-06-01")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["partner"]["rulebook"]["id"], "partner-2017");

    // The history behind them: every version of both families, the one in force marked.
    let versions: serde_json::Value = server
        .get("/api/v1/rulebook/versions")
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<(String, bool)> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_str().unwrap().to_owned(), v["in_force"] == true))
        .collect();
    assert_eq!(
        listed,
        [
            ("ali-2020".to_owned(), true),
            ("partner-2017".to_owned(), false),
            ("partner-fy22".to_owned(), true)
        ]
    );

    crate::helpers::assert_problem(
        server.get("/api/v1/rulebook?at=2019-01-01").await,
        404,
        "not_found",
    )
    .await;
    crate::helpers::assert_problem(
        server.get("/api/v1/rulebook?at=soon").await,
        400,
        "invalid_request",
    )
    .await;
    server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Clock control: `POST /api/v1/admin/clock` and the simulated clock's advance.

mod control {
    use std::collections::HashMap;

    use axum::Router;
    use axum::extract::State;
    use axum::routing::post;
    use jiff::{SignedDuration, Timestamp};
    use reqwest::Method;
    use serde_json::{Value, json};
    use uuid::Uuid;
    use yunshi_server::kernel::deadlines::{
        ClockTarget, Handler, HandlerFuture, advance_with, firing_time,
    };
    use yunshi_server::{AppState, ClockMode};
    use yunshi_store::{Deadline, FiredDeadline, NewDeadline, NewEvent, WriteBatch};

    use crate::deliveries::provider_staff;
    use crate::helpers::{
        ADMIN_TOKEN, TestServer, assert_problem, call, json_of, on_postgres, test_config,
    };

    const START: &str = "2026-10-01T09:00:00+08:00";
    const START_UTC: &str = "2026-10-01T01:00:00Z";
    const TICK: &str = "test.clock_tick";
    const FAIL: &str = "test.clock_fail";

    fn simulated(c: &mut yunshi_server::Config) {
        c.clock = ClockMode::Simulated;
        c.start = Some(START.into());
        c.admin_token = Some(ADMIN_TOKEN.into());
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn start() -> Timestamp {
        at(START_UTC)
    }

    /// Records the clock at firing; a payload `{"chain": n}` with n > 0 schedules another
    /// tick an hour after its own due time, with `n - 1`.
    fn tick(state: AppState, deadline: Deadline) -> HandlerFuture {
        Box::pin(async move {
            let at = firing_time(&state, &deadline);
            let chain = deadline.payload["chain"].as_u64().unwrap_or(0);
            let mut schedule = Vec::new();
            if chain > 0 {
                schedule.push(NewDeadline {
                    id: Uuid::now_v7(),
                    kind: TICK.into(),
                    subject: format!("{}+", deadline.subject),
                    due_at: deadline.due_at + SignedDuration::from_hours(1),
                    payload: json!({"chain": chain - 1}),
                    dedupe_key: None,
                });
            }
            let batch = WriteBatch {
                fire: vec![FiredDeadline {
                    id: deadline.id,
                    at,
                }],
                events: vec![NewEvent {
                    id: Uuid::now_v7(),
                    kind: "test.clock_ticked".into(),
                    subject: deadline.subject.clone(),
                    at,
                    payload: json!({
                        "due": deadline.due_at,
                        "clock": state.clock.now(),
                        "deadline": deadline.id,
                    }),
                }],
                schedule,
                ..WriteBatch::default()
            };
            state.store.commit(batch).await?;
            Ok(())
        })
    }

    fn fail(_state: AppState, _deadline: Deadline) -> HandlerFuture {
        Box::pin(async {
            Err(yunshi_server::Problem::unavailable(
                "the test handler fails",
            ))
        })
    }

    fn handlers() -> HashMap<&'static str, Handler> {
        let mut h = yunshi_server::deadline_registry().handlers;
        h.insert(TICK, tick as Handler);
        h.insert(FAIL, fail as Handler);
        h
    }

    async fn schedule(state: &AppState, deadlines: &[(&str, &str, i64, u64)]) {
        let schedule = deadlines
            .iter()
            .map(|&(kind, subject, hours, chain)| NewDeadline {
                id: Uuid::now_v7(),
                kind: kind.into(),
                subject: subject.into(),
                due_at: start() + SignedDuration::from_hours(hours),
                payload: json!({"chain": chain}),
                dedupe_key: None,
            })
            .collect();
        state
            .store
            .commit(WriteBatch {
                schedule,
                ..WriteBatch::default()
            })
            .await
            .unwrap();
    }

    /// `POST /test/schedule [[kind, subject, hours after START, chain], …]`;
    /// `POST /test/advance {"hours": n}` advances with the test handlers and answers the
    /// report and every tick recorded so far.
    fn test_routes() -> Router<AppState> {
        async fn schedule_route(
            State(state): State<AppState>,
            axum::Json(req): axum::Json<Vec<(String, String, i64, u64)>>,
        ) -> axum::Json<Value> {
            let list: Vec<(&str, &str, i64, u64)> = req
                .iter()
                .map(|(k, s, h, c)| (k.as_str(), s.as_str(), *h, *c))
                .collect();
            schedule(&state, &list).await;
            axum::Json(json!({}))
        }
        async fn advance(
            State(state): State<AppState>,
            axum::Json(req): axum::Json<Value>,
        ) -> axum::Json<Value> {
            let by = SignedDuration::from_hours(req["hours"].as_i64().unwrap());
            let report = advance_with(&state, &handlers(), ClockTarget::By(by))
                .await
                .unwrap();
            let events = state.store.events_after(0, 100_000).await.unwrap();
            let ticks: Vec<Value> = events
                .iter()
                .filter(|e| e.kind == "test.clock_ticked")
                .map(|e| {
                    json!({"subject": e.subject, "due": e.payload["due"],
                           "clock": e.payload["clock"], "at": e.at})
                })
                .collect();
            axum::Json(json!({"report": report, "ticks": ticks, "now": state.clock.now()}))
        }
        Router::new()
            .route("/test/schedule", post(schedule_route))
            .route("/test/advance", post(advance))
    }

    async fn advance_via_test(server: &TestServer, hours: i64) -> Value {
        json_of(
            call(
                server,
                Method::POST,
                "/test/advance",
                None,
                Some(json!({"hours": hours})),
            )
            .await,
            200,
        )
        .await
    }

    async fn post_clock(
        server: &TestServer,
        token: Option<&str>,
        body: Value,
    ) -> reqwest::Response {
        call(
            server,
            Method::POST,
            "/api/v1/admin/clock",
            token,
            Some(body),
        )
        .await
    }

    #[tokio::test]
    async fn an_advance_fires_every_deadline_due_up_to_the_target_once_in_due_order_at_its_due_time()
     {
        let server = TestServer::start_with(simulated, test_routes()).await;
        // Scheduled out of order; firing "b" (4h) schedules "b+" (5h), which schedules
        // "b++" (6h): both fall due before "c" (7h) and the target (24h).
        json_of(
            call(
                &server,
                Method::POST,
                "/test/schedule",
                None,
                Some(json!([
                    [TICK, "c", 7, 0],
                    [TICK, "a", 1, 0],
                    [TICK, "b", 4, 2],
                    [TICK, "late", 30, 0],
                ])),
            )
            .await,
            200,
        )
        .await;
        let body = advance_via_test(&server, 24).await;
        let ticks = body["ticks"].as_array().unwrap();
        let subjects: Vec<&str> = ticks
            .iter()
            .map(|t| t["subject"].as_str().unwrap())
            .collect();
        // Due order, including the ticks "b" scheduled while the clock was advancing.
        assert_eq!(subjects, ["a", "b", "b+", "b++", "c"], "{body}");
        // Each fired with the clock at its due time.
        for t in ticks {
            assert_eq!(t["clock"], t["due"], "{body}");
            assert_eq!(t["at"], t["due"], "{body}");
        }
        assert_eq!(body["report"]["fired"][TICK], 5, "{body}");
        assert_eq!(body["report"]["fired_total"], 5, "{body}");
        // The clock ends at the target, not at the last deadline.
        let target = start() + SignedDuration::from_hours(24);
        assert_eq!(at(body["now"].as_str().unwrap()), target, "{body}");
        assert_eq!(at(body["report"]["to"].as_str().unwrap()), target, "{body}");

        // Advancing again fires nothing twice; "late" fires once its time comes.
        let again = advance_via_test(&server, 0).await;
        assert_eq!(again["report"]["fired_total"], 0, "{again}");
        let later = advance_via_test(&server, 24 * 7).await;
        assert_eq!(later["report"]["fired_total"], 1, "{later}");
        let subjects: Vec<&str> = later["ticks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["subject"].as_str().unwrap())
            .collect();
        assert_eq!(subjects, ["a", "b", "b+", "b++", "c", "late"], "{later}");
        server.stop().await;
    }

    #[tokio::test]
    async fn a_deadline_that_cannot_fire_is_reported_left_pending_and_does_not_stop_the_rest() {
        let server = TestServer::start_with(simulated, test_routes()).await;
        json_of(
            call(
                &server,
                Method::POST,
                "/test/schedule",
                None,
                Some(json!([
                    [FAIL, "broken", 1, 0],
                    ["nobody.handles.this", "orphan", 2, 0],
                    [TICK, "after", 3, 0],
                ])),
            )
            .await,
            200,
        )
        .await;
        let body = advance_via_test(&server, 5).await;
        assert_eq!(body["report"]["fired_total"], 1, "{body}");
        assert_eq!(body["report"]["unknown_kind"], 1, "{body}");
        let failed = body["report"]["failed"].as_array().unwrap();
        assert_eq!(failed.len(), 1, "{body}");
        assert_eq!(failed[0]["kind"], FAIL, "{body}");
        assert_eq!(body["ticks"].as_array().unwrap().len(), 1, "{body}");
        // Still pending: the next advance tries the failing one again.
        let next = advance_via_test(&server, 1).await;
        assert_eq!(
            next["report"]["failed"].as_array().unwrap().len(),
            1,
            "{next}"
        );
        assert_eq!(next["report"]["unknown_kind"], 1, "{next}");
        server.stop().await;
    }

    #[tokio::test]
    async fn an_operator_admin_advances_the_clock_to_an_instant_or_by_a_duration() {
        let server = TestServer::start_with(simulated, test_routes()).await;
        let shown = json_of(
            call(
                &server,
                Method::GET,
                "/api/v1/admin/clock",
                Some(ADMIN_TOKEN),
                None,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(shown["mode"], "simulated", "{shown}");
        assert_eq!(shown["now"], START_UTC, "{shown}");
        assert_eq!(shown["advancing"], false, "{shown}");
        // Only the October settlement run, at its cut-off (1 November 00:00 Beijing).
        assert_eq!(
            shown["next_deadline_due"], "2026-10-31T16:00:00Z",
            "{shown}"
        );

        // A deadline of a kind nothing handles is reported and left pending.
        json_of(
            call(
                &server,
                Method::POST,
                "/test/schedule",
                None,
                Some(json!([["nobody.handles.this", "x", 2, 0]])),
            )
            .await,
            200,
        )
        .await;
        let by = json_of(
            post_clock(&server, Some(ADMIN_TOKEN), json!({"by": "3d"})).await,
            200,
        )
        .await;
        assert_eq!(by["from"], START_UTC, "{by}");
        assert_eq!(by["now"], "2026-10-04T01:00:00Z", "{by}");
        assert_eq!(by["beijing"], "2026-10-04T09:00:00+08:00", "{by}");
        assert_eq!(by["fired_total"], 0, "{by}");
        assert_eq!(by["unknown_kind"], 1, "{by}");

        let iso = json_of(
            post_clock(&server, Some(ADMIN_TOKEN), json!({"by": "P1DT4H"})).await,
            200,
        )
        .await;
        assert_eq!(iso["now"], "2026-10-05T05:00:00Z", "{iso}");
        let to = json_of(
            post_clock(
                &server,
                Some(ADMIN_TOKEN),
                json!({"to": "2026-10-08T09:00:00+08:00"}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(to["now"], "2026-10-08T01:00:00Z", "{to}");
        // The whole server reads the moved clock.
        let public: Value = server.get("/api/v1/clock").await.json().await.unwrap();
        assert_eq!(public["now"], "2026-10-08T01:00:00Z");
        let shown = json_of(
            call(
                &server,
                Method::GET,
                "/api/v1/admin/clock",
                Some(ADMIN_TOKEN),
                None,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(
            shown["next_deadline_due"], "2026-10-01T03:00:00Z",
            "{shown}"
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn the_clock_never_goes_back_and_takes_exactly_one_of_to_and_by() {
        let server = TestServer::start_with(simulated, Router::new()).await;
        let admin = Some(ADMIN_TOKEN);
        let back = assert_problem(
            post_clock(&server, admin, json!({"to": "2026-09-30T09:00:00+08:00"})).await,
            422,
            "clock_backwards",
        )
        .await;
        assert_eq!(back["title_zh"], "请求无效", "{back}");
        for body in [
            json!({}),
            json!({"to": "2026-10-08T09:00:00+08:00", "by": "1d"}),
            json!({"by": "-1d"}),
            json!({"by": "2 months"}),
            json!({"by": "soon"}),
            json!({"to": "next tuesday"}),
        ] {
            assert_problem(
                post_clock(&server, admin, body).await,
                422,
                "invalid_clock_target",
            )
            .await;
        }
        // Standing still is allowed; nothing moved meanwhile.
        let same = json_of(post_clock(&server, admin, json!({"to": START})).await, 200).await;
        assert_eq!(same["now"], START_UTC, "{same}");
        server.stop().await;
    }

    #[tokio::test]
    async fn a_login_session_lives_on_wall_time_so_a_simulated_month_keeps_it() {
        let server = TestServer::start_with(simulated, Router::new()).await;
        let password = "correct horse battery staple 2026";
        json_of(
            call(
                &server,
                Method::POST,
                "/api/v1/admin/users",
                Some(ADMIN_TOKEN),
                Some(json!({
                    "email": "finance@operator.test", "display_name": "财务",
                    "password": password,
                    "kind": {"type": "operator_staff", "roles": ["finance"]},
                })),
            )
            .await,
            201,
        )
        .await;
        let session = json_of(
            call(
                &server,
                Method::POST,
                "/api/v1/sessions",
                None,
                Some(json!({"email": "finance@operator.test", "password": password})),
            )
            .await,
            201,
        )
        .await;
        let token = session["token"].as_str().unwrap().to_owned();
        let lifetime: Timestamp = session["expires_at"].as_str().unwrap().parse().unwrap();
        assert!(
            lifetime <= Timestamp::now() + jiff::SignedDuration::from_hours(12),
            "{session}"
        );
        json_of(
            post_clock(&server, Some(ADMIN_TOKEN), json!({"by": "30d"})).await,
            200,
        )
        .await;
        let me = json_of(
            call(&server, Method::GET, "/api/v1/me", Some(&token), None).await,
            200,
        )
        .await;
        assert_eq!(me["user"]["email"], "finance@operator.test", "{me}");
        server.stop().await;
    }

    #[tokio::test]
    async fn only_an_operator_admin_may_see_or_move_the_clock() {
        let server = TestServer::start_with(simulated, Router::new()).await;
        assert_problem(
            post_clock(&server, None, json!({"by": "1d"})).await,
            401,
            "unauthorized",
        )
        .await;
        let (_, staff) = provider_staff(&server, "clock@isv.example").await;
        assert_problem(
            post_clock(&server, Some(&staff), json!({"by": "1d"})).await,
            403,
            "forbidden",
        )
        .await;
        assert_problem(
            call(
                &server,
                Method::GET,
                "/api/v1/admin/clock",
                Some(&staff),
                None,
            )
            .await,
            403,
            "forbidden",
        )
        .await;
        let public: Value = server.get("/api/v1/clock").await.json().await.unwrap();
        assert_eq!(public["now"], START_UTC);
        server.stop().await;
    }

    #[tokio::test]
    async fn the_system_clock_cannot_be_moved() {
        let server = TestServer::start().await;
        let p = assert_problem(
            post_clock(&server, Some(ADMIN_TOKEN), json!({"by": "1d"})).await,
            409,
            "clock_not_simulated",
        )
        .await;
        assert_eq!(p["title_zh"], "与当前状态冲突", "{p}");
        let shown = json_of(
            call(
                &server,
                Method::GET,
                "/api/v1/admin/clock",
                Some(ADMIN_TOKEN),
                None,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(shown["mode"], "system", "{shown}");
        server.stop().await;
    }

    #[tokio::test]
    async fn concurrent_advances_are_serialised() {
        let server = TestServer::start_with(simulated, Router::new()).await;
        // Four requests in flight at once.
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let req = server
                    .client
                    .post(server.url("/api/v1/admin/clock"))
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&json!({"by": "1d"}));
                tokio::spawn(async move { req.send().await.unwrap() })
            })
            .collect();
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        let mut spans = Vec::new();
        for res in answers {
            let body = json_of(res, 200).await;
            spans.push((
                at(body["from"].as_str().unwrap()),
                at(body["now"].as_str().unwrap()),
            ));
        }
        spans.sort();
        // Each advance started where the one before it ended: four whole days, no overlap.
        let day = SignedDuration::from_hours(24);
        for (i, (from, to)) in spans.iter().enumerate() {
            assert_eq!(*from, start() + day * i as i32, "{spans:?}");
            assert_eq!(*to, *from + day, "{spans:?}");
        }
        let public: Value = server.get("/api/v1/clock").await.json().await.unwrap();
        assert_eq!(public["now"], "2026-10-05T01:00:00Z");
        server.stop().await;
    }

    #[tokio::test]
    async fn the_simulated_clock_continues_after_a_restart_from_its_stored_time() {
        let server = TestServer::start_with(simulated, Router::new()).await;
        json_of(
            post_clock(&server, Some(ADMIN_TOKEN), json!({"by": "3d"})).await,
            200,
        )
        .await;
        let dir = server.stop().await;
        // The same --start again: the clock continues from where it stood.
        let mut config = test_config(&dir);
        simulated(&mut config);
        let server = TestServer::start_in(dir, config, Router::new()).await;
        let public: Value = server.get("/api/v1/clock").await.json().await.unwrap();
        assert_eq!(public["now"], "2026-10-04T01:00:00Z");
        let dir = server.stop().await;
        // A --start later than the stored time wins.
        let mut config = test_config(&dir);
        simulated(&mut config);
        config.start = Some("2026-11-01T09:00:00+08:00".into());
        let server = TestServer::start_in(dir, config, Router::new()).await;
        let public: Value = server.get("/api/v1/clock").await.json().await.unwrap();
        assert_eq!(public["now"], "2026-11-01T01:00:00Z");
        server.stop().await;
    }

    #[tokio::test]
    async fn clock_control_is_in_the_openapi_document() {
        let server = TestServer::start().await;
        let doc: Value = server
            .get("/api/v1/openapi.json")
            .await
            .json()
            .await
            .unwrap();
        let path = &doc["paths"]["/api/v1/admin/clock"];
        assert!(path["get"].is_object(), "{path}");
        let post = &path["post"];
        for status in ["200", "401", "403", "409", "422"] {
            assert!(post["responses"][status].is_object(), "{status}: {post}");
        }
        assert_eq!(
            post["responses"]["409"]["content"]["application/problem+json"]["example"]["code"],
            "clock_not_simulated"
        );
        assert!(doc["components"]["schemas"]["AdvanceRequest"]["example"].is_object());
        server.stop().await;
    }

    /// The advance's order and the stored clock on PostgreSQL.
    #[tokio::test]
    async fn on_postgres_an_advance_fires_in_due_order_and_the_clock_survives_a_restart() {
        on_postgres(|db| async move {
            let on_pg = |c: &mut yunshi_server::Config| {
                simulated(c);
                c.database_url = Some(db.url());
            };
            let server = TestServer::start_with(on_pg, test_routes()).await;
            json_of(
                call(
                    &server,
                    Method::POST,
                    "/test/schedule",
                    None,
                    Some(json!([
                        [TICK, "c", 7, 0],
                        [TICK, "a", 1, 0],
                        [TICK, "b", 4, 2]
                    ])),
                )
                .await,
                200,
            )
            .await;
            let body = advance_via_test(&server, 24).await;
            let subjects: Vec<&str> = body["ticks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["subject"].as_str().unwrap())
                .collect();
            assert_eq!(subjects, ["a", "b", "b+", "b++", "c"], "{body}");
            for t in body["ticks"].as_array().unwrap() {
                assert_eq!(t["clock"], t["due"], "{body}");
            }
            let dir = server.stop().await;
            let mut config = test_config(&dir);
            on_pg(&mut config);
            let server = TestServer::start_in(dir, config, Router::new()).await;
            let public: Value = server.get("/api/v1/clock").await.json().await.unwrap();
            assert_eq!(public["now"], "2026-10-02T01:00:00Z");
            server.stop().await;
        })
        .await;
    }
}
