//! `deploy`: render a deployment into a folder, and say what to do with each file.

use super::CommandError;
use crate::cli::DeployArgs;
use crate::deploy::DeploySettings;

pub fn run(args: DeployArgs) -> Result<(), CommandError> {
    let letsencrypt = format!("/etc/letsencrypt/live/{}", args.domain);
    let settings = DeploySettings {
        tls_certificate: args
            .tls_certificate
            .unwrap_or_else(|| format!("{letsencrypt}/fullchain.pem").into()),
        tls_certificate_key: args
            .tls_certificate_key
            .unwrap_or_else(|| format!("{letsencrypt}/privkey.pem").into()),
        domain: args.domain,
        upstreams: args.upstreams,
        book_dir: args.book_dir,
        user: args.user,
        binary: args.binary,
        data_dir: args.server_data_dir,
        env_file: args.env_file,
        http_port: args.http_port,
        https_port: args.https_port,
        log_dir: args.log_dir,
        ipv6: !args.no_ipv6,
        proxy_bind: args.proxy_bind,
        database_url: args.shared_database_url,
    };
    for path in settings.write(&args.out)? {
        println!("wrote {}", path.display());
    }
    println!(
        "\nNext: install the nginx site and check it with `nginx -t`; copy the env file to {} \
         (mode 0600) and fill in the secrets; install the unit, then `systemctl enable --now \
         jwt-workbook`. Build the book there with `jwt-workbook book --out {}`.",
        settings.env_file.display(),
        settings.book_dir.display()
    );
    Ok(())
}
