//! A fresh PostgreSQL database for a test, on the server `JWT_TEST_POSTGRES_URL` names
//! (`scripts/start-postgres` starts one and prints its URL; its role needs CREATEDB).

/// The URL of a new, empty database, so that tests never see each other's rows.
pub async fn fresh_postgres_database() -> String {
    let url = std::env::var("JWT_TEST_POSTGRES_URL").expect(
        "set JWT_TEST_POSTGRES_URL=postgres://user:password@host/database (a role with CREATEDB)",
    );
    let name = format!("workbook_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}
