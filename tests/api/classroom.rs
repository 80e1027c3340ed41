//! Classroom mode: accounts for a room, progress sent by each learner's own `progress --submit`,
//! kept in the store across restarts, and a class view (JSON, and a page that reads it) that
//! opens for the instructor's token and nobody else's.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use jwt_workbook::app::{self, ConnectionLimits};
use jwt_workbook::classroom::{
    ChapterProgress, Classroom, ProgressReport, Roster, accounts_csv, create_accounts,
};
use jwt_workbook::commands::progress::{submit_progress, submit_report};
use jwt_workbook::store::SqliteStore;
use jwt_workbook::users::{PasswordCost, Passwords, create_user};
use jwt_workbook::workbook::Workbook;
use serde_json::json;
use tokio::net::TcpListener;

use crate::helpers::{DATABASE, NOW, TestApp, TestResponse};

async fn classroom_app() -> TestApp {
    let app = TestApp::configured(|app| app.classroom = Some(roster())).await;
    let passwords = Passwords::new(PasswordCost::INSECURE_FOR_TESTS).unwrap();
    create_user(
        &*app.state.users,
        &passwords,
        "teacher",
        "t34cher",
        true,
        NOW,
    )
    .await
    .unwrap();
    app
}

fn roster() -> Roster {
    Roster {
        instructor: "teacher".into(),
        students: vec!["vitor".into(), "zoe".into()],
    }
}

async fn token_of(app: &TestApp, username: &str, password: &str) -> String {
    app.obtain(username, password).await.field("access")
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> TestResponse {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    app.send(request.body(Body::from(body.to_owned())).unwrap())
        .await
}

fn report() -> ProgressReport {
    ProgressReport {
        chapters: vec![
            ChapterProgress {
                chapter: "01-anatomy".into(),
                solved: 6,
                total: 6,
                next_step: None,
                builds: true,
            },
            ChapterProgress {
                chapter: "02-claims".into(),
                solved: 2,
                total: 6,
                next_step: Some(3),
                builds: true,
            },
        ],
    }
}

#[tokio::test]
async fn the_class_view_shows_each_student_to_the_instructor_only() {
    let app = classroom_app().await;
    let student = token_of(&app, "vitor", "123").await;
    let teacher = token_of(&app, "teacher", "t34cher").await;
    let body = serde_json::to_string(&report()).unwrap();
    let sent = call(
        &app,
        Method::POST,
        "/api/class/progress/",
        Some(&student),
        &body,
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text());

    let view = call(&app, Method::GET, "/api/class/", Some(&teacher), "").await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text());
    let students = view.json()["students"].clone();
    assert_eq!(students[0]["username"], "vitor");
    assert_eq!(students[0]["working_on"], "02-claims step 3");
    assert_eq!(
        (students[0]["solved"].clone(), students[0]["total"].clone()),
        (json!(8), json!(12))
    );
    assert_eq!(students[0]["submitted_at"], NOW);
    assert_eq!(
        students[1],
        json!({"username": "zoe", "submitted_at": null, "chapters": [], "solved": 0, "total": 0, "working_on": null})
    );

    let peek = call(&app, Method::GET, "/api/class/", Some(&student), "").await;
    assert_eq!(peek.status, StatusCode::FORBIDDEN);
    assert_eq!(
        peek.json(),
        json!({"detail": "You do not have permission to perform this action."})
    );
    let anonymous = call(&app, Method::GET, "/api/class/", None, "").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_report_that_is_not_one_is_refused() {
    let app = classroom_app().await;
    let student = token_of(&app, "vitor", "123").await;
    for body in [
        r#"{"chapters": "all of them"}"#,
        r#"{"chapters": [{"chapter": "01", "solved": 9, "total": 6, "next_step": null, "builds": true}]}"#,
    ] {
        let answer = call(
            &app,
            Method::POST,
            "/api/class/progress/",
            Some(&student),
            body,
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            answer.text()
        );
    }
}

#[tokio::test]
async fn outside_classroom_mode_the_endpoints_do_not_exist() {
    let app = TestApp::new().await;
    let token = token_of(&app, "vitor", "123").await;
    let answer = call(&app, Method::GET, "/api/class/", Some(&token), "").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn submitted_progress_is_still_there_after_the_server_restarts() {
    let app = classroom_app().await;
    let student = token_of(&app, "vitor", "123").await;
    let body = serde_json::to_string(&report()).unwrap();
    let sent = call(
        &app,
        Method::POST,
        "/api/class/progress/",
        Some(&student),
        &body,
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text());

    // A new process: the database file opened afresh, nothing carried over in memory.
    let reopened = SqliteStore::open(&app.data.path().join(DATABASE))
        .await
        .unwrap();
    let room = Classroom::new(roster(), Arc::new(reopened));
    let view = room.view().await.unwrap();
    assert_eq!(view[0].username, "vitor");
    assert_eq!(view[0].submitted_at, Some(NOW));
    assert_eq!(view[0].chapters, report().chapters);
    assert_eq!(view[1].username, "zoe");
    assert_eq!(view[1].submitted_at, None);
}

#[tokio::test]
async fn a_new_submission_replaces_the_last_one() {
    let app = classroom_app().await;
    let student = token_of(&app, "vitor", "123").await;
    let mut later = report();
    later.chapters[1].solved = 6;
    later.chapters[1].next_step = None;
    for sent in [report(), later] {
        let body = serde_json::to_string(&sent).unwrap();
        let answer = call(
            &app,
            Method::POST,
            "/api/class/progress/",
            Some(&student),
            &body,
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        app.clock.advance(60);
    }
    let teacher = token_of(&app, "teacher", "t34cher").await;
    let view = call(&app, Method::GET, "/api/class/", Some(&teacher), "").await;
    let vitor = view.json()["students"][0].clone();
    assert_eq!(vitor["submitted_at"], NOW + 60);
    assert_eq!(
        (vitor["solved"].clone(), vitor["working_on"].clone()),
        (json!(12), json!(null))
    );
}

#[tokio::test]
async fn the_class_page_is_served_with_a_strict_policy_in_classroom_mode_only() {
    let app = classroom_app().await;
    for (path, content_type) in [
        ("/class/", "text/html; charset=utf-8"),
        ("/class/class.js", "text/javascript; charset=utf-8"),
        ("/class/class.css", "text/css; charset=utf-8"),
    ] {
        let page = call(&app, Method::GET, path, None, "").await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.header("content-type"), Some(content_type), "{path}");
        let policy = page.header("content-security-policy").unwrap_or_default();
        assert!(
            policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"),
            "{path}: {policy}"
        );
    }
    let page = call(&app, Method::GET, "/class/", None, "").await.text();
    assert!(page.contains(r#"src="class.js""#), "{page}");
    assert!(!page.contains("<script>"), "no inline script: {page}");

    let plain = TestApp::new().await;
    let page = call(&plain, Method::GET, "/class/", None, "").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

/// A real socket, serving the app until the returned sender is used (or dropped).
async fn serve_on_a_socket(
    app: &TestApp,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app::serve(
        listener,
        app.router.clone(),
        ConnectionLimits::default(),
        async {
            let _ = stopped.await;
        },
    ));
    (server, stop, serving)
}

/// `progress --submit` checks the password before it runs a single test: with a workbook that
/// has no exercises at all, a wrong password is what it reports, and with the right one it
/// gets as far as looking for the exercises.
#[tokio::test]
async fn progress_submit_checks_the_password_before_running_any_test() {
    let app = classroom_app().await;
    let (server, stop, serving) = serve_on_a_socket(&app).await;
    let nowhere = tempfile::tempdir().unwrap();
    let attempt = |password: &'static str| {
        let (server, root) = (server.clone(), nowhere.path().to_owned());
        tokio::task::spawn_blocking(move || {
            submit_progress(&Workbook::at(root), &server, "vitor", || {
                Ok(format!("{password}\n"))
            })
            .map_err(|e| e.to_string())
        })
    };
    let wrong = attempt("nope").await.unwrap().unwrap_err();
    assert!(wrong.contains("refused the login (401)"), "{wrong}");
    assert!(wrong.contains("password"), "{wrong}");
    let right = attempt("123").await.unwrap().unwrap_err();
    assert!(
        right.contains("exercises"),
        "logged in, then measured: {right}"
    );
    let empty = attempt("").await.unwrap().unwrap_err();
    assert!(empty.contains("no password"), "{empty}");
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();

    let unreachable = submit_progress(
        &Workbook::at(nowhere.path()),
        "127.0.0.1:8000",
        "vitor",
        || panic!("the address is wrong: no password should be asked for"),
    )
    .unwrap_err()
    .to_string();
    assert!(unreachable.contains("http://host:port"), "{unreachable}");
}

/// What `cargo run -- progress --submit` does, against a real socket.
#[tokio::test]
async fn progress_submit_logs_in_and_sends_the_report_over_the_network() {
    let app = classroom_app().await;
    let (server, stop, serving) = serve_on_a_socket(&app).await;
    let target = server.clone();
    tokio::task::spawn_blocking(move || {
        submit_report(&target, "vitor", "123", &report()).map_err(|e| e.to_string())
    })
    .await
    .unwrap()
    .unwrap();
    let target = server.clone();
    let wrong = tokio::task::spawn_blocking(move || {
        submit_report(&target, "vitor", "nope", &report()).map_err(|e| e.to_string())
    })
    .await
    .unwrap()
    .unwrap_err();
    assert!(wrong.contains("refused the login (401)"), "{wrong}");
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();

    let teacher = token_of(&app, "teacher", "t34cher").await;
    let view = call(&app, Method::GET, "/api/class/", Some(&teacher), "").await;
    assert_eq!(view.json()["students"][0]["working_on"], "02-claims step 3");
}

#[tokio::test]
async fn accounts_are_created_once_and_listed_for_handing_out() {
    let app = TestApp::new().await;
    let passwords = Passwords::new(PasswordCost::INSECURE_FOR_TESTS).unwrap();
    let names = vec!["amy".to_owned(), "vitor".to_owned()];
    let accounts = create_accounts(&*app.state.users, &passwords, &names, NOW)
        .await
        .unwrap();
    assert!(accounts[0].1.is_some(), "amy is new");
    assert_eq!(
        accounts[1].1, None,
        "vitor existed: his password is left alone"
    );
    let amy = accounts[0].1.clone().unwrap();
    assert_eq!(app.obtain("amy", &amy).await.status, StatusCode::OK);
    let csv = accounts_csv(&accounts);
    assert!(
        csv.starts_with(&format!("username,password\namy,{amy}\nvitor,(unchanged")),
        "{csv}"
    );
}
