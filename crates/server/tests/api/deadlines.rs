//! The deadline runner: leased claims, exactly-once firing under racing runners, unknown
//! kinds left pending, and the background worker of system-clock mode.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;
use yunshi_server::kernel::deadlines::{
    FireReport, Handler, HandlerFuture, LEASE, fire_due, fire_due_with, firing_time,
};
use yunshi_server::{AppState, Config};
use yunshi_store::{Deadline, FiredDeadline, NewDeadline, NewEvent, WriteBatch};

use crate::deliveries::{Receiver, enqueue_via, provider_staff, register, simulated, test_routes};
use crate::helpers::{ADMIN_TOKEN, TestServer, call, json_of, on_postgres};

const TICK: &str = "test.tick";

/// A test-only handler: records an event and fires the deadline, slowly enough that racing
/// runners overlap. A lost race comes back as the store's conflict.
fn tick(state: AppState, deadline: Deadline) -> HandlerFuture {
    Box::pin(async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let at = firing_time(&state, &deadline);
        let batch = WriteBatch {
            fire: vec![FiredDeadline {
                id: deadline.id,
                at,
            }],
            events: vec![NewEvent {
                id: Uuid::now_v7(),
                kind: "test.ticked".into(),
                subject: format!("deadline:{}", deadline.id),
                at,
                payload: json!({}),
            }],
            ..WriteBatch::default()
        };
        state.store.commit(batch).await?;
        Ok(())
    })
}

async fn schedule(state: &AppState, kind: &str, n: usize, due: Timestamp) -> Vec<Uuid> {
    let schedule: Vec<NewDeadline> = (0..n)
        .map(|i| NewDeadline {
            id: Uuid::now_v7(),
            kind: kind.into(),
            subject: format!("test:{i}"),
            // Spread over a minute so that due order matters.
            due_at: due + SignedDuration::from_millis(i as i64),
            payload: json!({}),
            dedupe_key: None,
        })
        .collect();
    let ids = schedule.iter().map(|d| d.id).collect();
    state
        .store
        .commit(WriteBatch {
            schedule,
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    ids
}

/// A runner that claims five at a time until nothing is left for it; its reports summed.
async fn run(
    state: &AppState,
    handlers: &HashMap<&'static str, Handler>,
    worker: &str,
    now: Timestamp,
) -> FireReport {
    let mut total = FireReport::default();
    loop {
        let r = fire_due_with(state, handlers, worker, now, 5)
            .await
            .unwrap();
        if r.claimed == 0 {
            return total;
        }
        total.claimed += r.claimed;
        total.fired += r.fired;
        total.already_done += r.already_done;
        total.unknown_kind += r.unknown_kind;
        total.failed += r.failed;
    }
}

/// `POST /test/race {n}`: schedules `n` ticks and lets runners race over them twice — two
/// at the same instant (the leases split the work), then two whose clocks are a lease apart
/// (the later one may take what the earlier still holds; firing decides).
fn race_routes() -> Router<AppState> {
    async fn race(
        State(state): State<AppState>,
        axum::Json(req): axum::Json<Value>,
    ) -> axum::Json<Value> {
        let n = req["n"].as_u64().unwrap() as usize;
        let handlers: HashMap<&'static str, Handler> = [(TICK, tick as Handler)].into();
        let now = state.clock.now();
        let mut rounds = Vec::new();
        for offset in [SignedDuration::ZERO, LEASE + SignedDuration::from_secs(1)] {
            schedule(&state, TICK, n, now - SignedDuration::from_mins(1)).await;
            let later = now + offset;
            let (a, b) = tokio::join!(
                run(&state, &handlers, "runner-a", now),
                run(&state, &handlers, "runner-b", later),
            );
            rounds.push(json!([a, b]));
        }
        let events = state.store.events_after(0, 100_000).await.unwrap();
        let ticked: Vec<&str> = events
            .iter()
            .filter(|e| e.kind == "test.ticked")
            .map(|e| e.subject.as_str())
            .collect();
        let distinct: HashSet<&str> = ticked.iter().copied().collect();
        axum::Json(json!({"rounds": rounds, "ticked": ticked.len(), "distinct": distinct.len()}))
    }
    async fn unknown(State(state): State<AppState>) -> axum::Json<Value> {
        let now = state.clock.now();
        let ids = schedule(&state, "nobody.handles.this", 1, now).await;
        let report = fire_due(&state, now, 10).await.unwrap();
        let stored = state.store.deadline(ids[0]).await.unwrap().unwrap();
        axum::Json(json!({"report": report, "state": stored.state}))
    }
    Router::new()
        .route("/test/race", post(race))
        .route("/test/unknown", post(unknown))
}

fn report(v: &Value) -> FireReport {
    FireReport {
        claimed: v["claimed"].as_u64().unwrap() as u32,
        fired: v["fired"].as_u64().unwrap() as u32,
        already_done: v["already_done"].as_u64().unwrap() as u32,
        unknown_kind: v["unknown_kind"].as_u64().unwrap() as u32,
        failed: v["failed"].as_u64().unwrap() as u32,
    }
}

async fn racing_runners_fire_each_deadline_once(server: &TestServer) {
    const N: u32 = 40;
    let res = call(
        server,
        Method::POST,
        "/test/race",
        None,
        Some(json!({"n": N})),
    )
    .await;
    let body = json_of(res, 200).await;
    println!("race: {body}");
    // Same instant: the leases split the deadlines between the runners; each fires once.
    let same = &body["rounds"][0];
    let (a, b) = (report(&same[0]), report(&same[1]));
    assert_eq!(a.claimed + b.claimed, N, "{body}");
    assert_eq!(a.fired + b.fired, N, "{body}");
    assert_eq!(
        a.failed + b.failed + a.already_done + b.already_done,
        0,
        "{body}"
    );
    // A lease apart: the later runner claims what the earlier still holds; exactly one
    // firing of each wins and the loser counts it as done by someone else.
    let apart = &body["rounds"][1];
    let (a, b) = (report(&apart[0]), report(&apart[1]));
    assert_eq!(a.fired + b.fired, N, "{body}");
    assert_eq!(
        a.claimed + b.claimed,
        N + a.already_done + b.already_done,
        "{body}"
    );
    assert_eq!(a.failed + b.failed, 0, "{body}");
    assert_eq!(body["ticked"], 2 * N, "{body}");
    assert_eq!(body["distinct"], 2 * N, "{body}");
}

#[tokio::test]
async fn racing_runners_fire_each_deadline_exactly_once() {
    let server = TestServer::start_with(simulated, race_routes()).await;
    racing_runners_fire_each_deadline_once(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn racing_runners_on_postgres() {
    on_postgres(|db| async move {
        let on_db = |c: &mut Config| {
            simulated(c);
            c.database_url = Some(db.url());
        };
        let server = TestServer::start_with(on_db, race_routes()).await;
        racing_runners_fire_each_deadline_once(&server).await;
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_deadline_of_an_unknown_kind_is_counted_and_left_pending() {
    let server = TestServer::start_with(simulated, race_routes()).await;
    let body = json_of(
        call(&server, Method::POST, "/test/unknown", None, None).await,
        200,
    )
    .await;
    assert_eq!(body["report"]["claimed"], 1, "{body}");
    assert_eq!(body["report"]["unknown_kind"], 1, "{body}");
    assert_eq!(body["report"]["fired"], 0, "{body}");
    assert_eq!(body["state"], "pending");
    server.stop().await;
}

#[tokio::test]
async fn on_the_system_clock_the_worker_fires_due_deadlines_by_itself() {
    let server =
        TestServer::start_with(|c| c.admin_token = Some(ADMIN_TOKEN.into()), test_routes()).await;
    let receiver = Receiver::start(200).await;
    let (provider, token) = provider_staff(&server, "w@isv.example").await;
    register(&server, &token, &receiver.url).await;
    let id = enqueue_via(&server, &provider, "create", &Uuid::now_v7().to_string()).await;
    let path = format!("/api/v1/webhooks/deliveries/{id}");
    let mut delivered = false;
    for _ in 0..100 {
        let d = json_of(
            call(&server, Method::GET, &path, Some(&token), None).await,
            200,
        )
        .await;
        if d["status"] == "delivered" {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delivered, "the worker did not deliver within 10 s");
    assert_eq!(receiver.hits().len(), 1);
    // Shutdown stops the worker before the store closes.
    server.stop().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_hanging_webhook_attempt() {
    // A receiver that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (seen_tx, mut seen) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            let _ = seen_tx.try_send(());
        }
    });
    let server =
        TestServer::start_with(|c| c.admin_token = Some(ADMIN_TOKEN.into()), test_routes()).await;
    let (provider, token) = provider_staff(&server, "h@isv.example").await;
    register(&server, &token, &url).await;
    enqueue_via(&server, &provider, "create", &Uuid::now_v7().to_string()).await;
    tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await
        .expect("the worker did not attempt the delivery");
    let stopped = tokio::time::timeout(Duration::from_secs(3), server.stop()).await;
    assert!(stopped.is_ok(), "shutdown waited for the hanging attempt");
}
