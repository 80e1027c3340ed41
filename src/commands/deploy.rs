//! `deploy`: render a deployment into a folder, and say what to do with each file.

use super::CommandError;
use crate::cli::DeployArgs;
use crate::deploy::{DeploySettings, Overwrite, SECRET_FILE, UNIT_FILE};

pub fn run(args: DeployArgs) -> Result<(), CommandError> {
    let settings = DeploySettings {
        domain: args.domain,
        upstreams: args.upstreams,
        book_dir: args.book_dir,
        user: args.user,
        binary: args.binary,
        data_dir: args.server_data_dir,
        env_file: args.env_file,
        tls_certificate: args.tls_certificate,
        tls_certificate_key: args.tls_certificate_key,
        http_port: args.http_port,
        https_port: args.https_port,
        log_dir: args.log_dir,
        ipv6: !args.no_ipv6,
        proxy_bind: args.proxy_bind,
        database_url: args.shared_database_url,
    };
    let overwrite = if args.force {
        Overwrite::Allow
    } else {
        Overwrite::Refuse
    };
    for path in settings.write(&args.out, overwrite)? {
        println!("wrote {}", path.display());
    }
    let units: Vec<String> = settings
        .instances()
        .into_iter()
        .map(|instance| instance.shell_word)
        .collect();
    println!(
        "\nNext:\n  \
         1. Install nginx.conf as an nginx site and check it with `nginx -t`.\n  \
         2. Copy {SECRET_FILE} to {} (mode 0600) and fill in the secrets.\n  \
         3. Build the book there: `jwt-workbook book --out {}`.\n  \
         4. Install {UNIT_FILE} in /etc/systemd/system/, then one instance per upstream:\n       \
         systemctl daemon-reload\n       \
         systemctl enable --now {}",
        settings.env_file.display(),
        settings.book_dir.display(),
        units.join(" ")
    );
    Ok(())
}
