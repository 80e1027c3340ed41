//! `import-django`: bring a Django service's users and simplejwt's blacklist into this server's
//! database (see [`crate::users::import`]), and say what it did — or, with `--dry-run`, what it
//! would do.

use std::time::Instant;

use super::{CommandError, StoreLocation};
use crate::cli::ImportDjangoArgs;
use crate::clock::{Clock, SystemClock};
use crate::users::import::{self, DjangoSnapshot, ImportPlan};

/// How many users without a usable password are named one by one.
const LISTED: usize = 20;

pub async fn run(args: ImportDjangoArgs, database: StoreLocation<'_>) -> Result<(), CommandError> {
    let started = Instant::now();
    let now = SystemClock.now();
    let django = crate::store::django::read(&args.from, &args.user_table, now)
        .await
        .map_err(|e| format!("Django's database could not be read: {e}"))?;
    let store = database.open().await?;
    let plan = import::plan(&*store, &django, now).await?;
    print!("{}", report(&django, &plan));
    if args.dry_run {
        println!("dry run: nothing was changed");
        return Ok(());
    }
    if !plan.is_empty() || plan.id_floor > 0 {
        store.apply_import(&plan, now).await?;
    }
    println!(
        "imported in {:.2} s; the next user created here gets id {}",
        started.elapsed().as_secs_f64(),
        store.next_user_id().await?
    );
    Ok(())
}

// ANCHOR: report
/// What was found at Django and what the import changes, for a person at a terminal.
fn report(django: &DjangoSnapshot, plan: &ImportPlan) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!(
        "Django: {} user(s), highest id ever given {}; {} blacklisted and {} live refresh token(s)",
        django.users.len(),
        django.highest_id,
        django.blacklisted.len(),
        django.live_tokens
    ));
    if !django.has_blacklist {
        line("  (no token_blacklist tables: simplejwt's blacklist app is not installed)".into());
    }
    line(format!(
        "users: {} to create, {} to update ({} with a password changed at Django), {} unchanged, \
         {} to deactivate (deleted at Django)",
        plan.create.len(),
        plan.update.len(),
        plan.passwords_changed,
        plan.unchanged,
        plan.deactivate.len()
    ));
    if !plan.unusable.is_empty() {
        line(format!(
            "{} user(s) get no usable password here (they can set one with a password reset):",
            plan.unusable.len()
        ));
        for user in plan.unusable.iter().take(LISTED) {
            line(format!("  #{} {:?}: {}", user.id, user.username, user.why));
        }
        if plan.unusable.len() > LISTED {
            line(format!("  … and {} more", plan.unusable.len() - LISTED));
        }
    }
    line(format!(
        "blacklist: {} to add, {} already here, {} expired (left out: their exp refuses them)",
        plan.blacklist.len(),
        plan.blacklisted_already,
        plan.blacklisted_expired
    ));
    line(format!(
        "new users here get ids above {}, so no Django token can name them",
        plan.id_floor
    ));
    out
}
// ANCHOR_END: report
