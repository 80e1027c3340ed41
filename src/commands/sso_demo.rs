//! `sso-demo`: start the two single sign-on demo apps ([`crate::sso_demo`]) against a running
//! provider, registering each as a client of it first (in the same store as the server's).

use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;

use super::serve::shutdown_signal;
use super::{CommandError, StoreLocation};
use crate::app::ConnectionLimits;
use crate::cli::SsoDemoArgs;
use crate::clock::{Clock, SystemClock};
use crate::oidc::{NewClient, register_client};
use crate::sso_demo::{self, AppConfig};

pub async fn run(args: SsoDemoArgs, database: StoreLocation<'_>) -> Result<(), CommandError> {
    let issuer = args.issuer.trim_end_matches('/').to_owned();
    let (provider, jwks) = {
        let issuer = issuer.clone();
        tokio::task::spawn_blocking(move || sso_demo::discover(&issuer)).await?
    }
    .map_err(|why| {
        format!(
            "the provider at {issuer} does not answer ({why}).\nStart the server with a key pair \
             first, in another terminal: `cargo run -- --algorithm RS256`"
        )
    })?;
    let store = database.open().await?;
    let names = [("Notes", "notes"), ("Calendar", "calendar")];
    let mut listeners = Vec::new();
    for port in [args.first_port, args.second_port] {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        listeners.push(listener);
    }
    let bases: Vec<String> = listeners
        .iter()
        .map(|listener| listener.local_addr().map(|addr| format!("http://{addr}")))
        .collect::<Result<_, _>>()?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut servers = Vec::new();
    for (index, listener) in listeners.into_iter().enumerate() {
        let (name, slug) = names[index];
        let base = bases[index].clone();
        let (client, secret) = register_client(
            &*store,
            NewClient {
                name: name.into(),
                redirect_uris: vec![format!("{base}/callback")],
                post_logout_redirect_uris: vec![format!("{base}/")],
                frontchannel_logout_uri: Some(format!("{base}/frontchannel-logout")),
                public: false,
            },
            SystemClock.now(),
        )
        .await?;
        let other = 1 - index;
        let config = AppConfig {
            name: name.into(),
            slug: slug.into(),
            base: base.clone(),
            other: (names[other].0.into(), bases[other].clone()),
            client_id: client.id.clone(),
            client_secret: secret.ok_or("a confidential client has a secret")?,
        };
        let router = sso_demo::router(config, provider.clone(), jwks.clone());
        let mut stopped = stopped.clone();
        servers.push(tokio::spawn(crate::app::serve(
            listener,
            router,
            ConnectionLimits::default(),
            async move {
                let _ = stopped.changed().await;
            },
        )));
        println!("serving on {base}/  ({name}, client_id {})", client.id);
    }
    println!(
        "\nSign in to {}/ , then open {}/ : no password the second time (the provider at {issuer} \
         remembers this browser). Log out of either, and both are signed out.\nPress Ctrl-C to stop.\n",
        bases[0], bases[1]
    );
    shutdown_signal().await;
    let _ = stop.send(true);
    for server in servers {
        server.await??;
    }
    Ok(())
}
