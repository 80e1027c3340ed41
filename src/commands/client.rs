//! `client`: register the OpenID Connect provider's relying parties from the command line, as
//! an operator would, and list them.

use super::{CommandError, StoreLocation};
use crate::cli::ClientCommand;
use crate::clock::{Clock, SystemClock};
use crate::oidc::{NewClient, register_client};

pub async fn run(command: ClientCommand, database: StoreLocation<'_>) -> Result<(), CommandError> {
    let store = database.open().await?;
    match command {
        ClientCommand::Create {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            frontchannel_logout_uri,
            public,
        } => {
            let new = NewClient {
                name,
                redirect_uris,
                post_logout_redirect_uris,
                frontchannel_logout_uri,
                public,
            };
            let (client, secret) = register_client(&*store, new, SystemClock.now()).await?;
            println!("client_id={}", client.id);
            match secret {
                Some(secret) => {
                    println!("client_secret={secret}");
                    eprintln!("keep the secret now: only its hash is stored");
                }
                None => eprintln!("a public client: no secret, PKCE alone proves the exchange"),
            }
        }
        ClientCommand::List => {
            let clients = store.clients().await?;
            for client in &clients {
                let kind = if client.is_public() {
                    "public"
                } else {
                    "confidential"
                };
                println!(
                    "{}  {:<12}  {}  {}",
                    client.id,
                    kind,
                    client.name,
                    client.redirect_uris.join(" ")
                );
            }
            println!("{} client(s)", clients.len());
        }
    }
    Ok(())
}
