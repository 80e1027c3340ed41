//! The lab's HTML pages. Every one says first, in red, that these apps are vulnerable on purpose.

use super::{Flaw, GUEST, GUEST_PASSWORD};

const WARNING: &str = "<p class=\"warning\">These apps are vulnerable on purpose. They exist to be \
    broken, on your own machine, by you. Never expose them to a network and never copy their \
    code.</p>";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title} (attack lab: vulnerable on purpose)</title>\
         <link rel=\"stylesheet\" href=\"/lab/kid-path/static/lab.css\"></head>\
         <body>{WARNING}\n<h1>{title}</h1>\n{body}\n</body></html>\n"
    )
}

/// `/lab/`: the list of apps.
pub fn index() -> String {
    let items: String = Flaw::ALL
        .iter()
        .map(|flaw| {
            format!(
                "<li><a href=\"{}\"><code>{}</code></a>: {}</li>\n",
                flaw.base(),
                flaw.slug(),
                flaw.title()
            )
        })
        .collect();
    page(
        "The attack lab",
        &format!(
            "<p>One small app per classic JWT flaw. Each has a low-privilege login \
             (<code>{GUEST}</code> / <code>{GUEST_PASSWORD}</code>) and an admin-only resource, \
             <code>GET /lab/&lt;app&gt;/api/admin/</code>, which holds a flag that changes every \
             time the lab starts. Get the flag. The book's attack-lab chapter explains each \
             flaw, how to exploit it and how to fix it.</p>\n<ol>\n{items}</ol>"
        ),
    )
}

/// One app's page: its story, its endpoints and how to start.
pub fn app(flaw: Flaw, kid: Option<&str>, host: &str) -> String {
    let base = flaw.base();
    let story = match flaw {
        Flaw::Unverified => {
            "The developers read the claims of every token and trust them: the \
            signature was to be checked \"at the gateway\"."
        }
        Flaw::AlgNone => {
            "A hand-written verifier does what the token's header says, and the \
            standard lists an algorithm called <code>none</code>."
        }
        Flaw::WeakSecret => {
            "Tokens are HS256, correctly verified. The secret was taken from a \
            tutorial: it is one of the words of the lab's word list, \
            <code>src/lab/wordlist.txt</code>, chosen at random when the lab starts."
        }
        Flaw::JwkHeader => {
            "Tokens are EdDSA and carry their public key in the header \
            (<code>jwk</code>), \"so that any service can check them\". Decode a token's header \
            and look."
        }
        Flaw::JkuHeader => {
            "Tokens are EdDSA and name, in <code>jku</code>, the URL of the key \
            set to check them with. The app fetches key sets from loopback addresses only. It \
            also has a file-sharing feature: <code>POST files</code> with any text publishes it \
            and answers its URL."
        }
        Flaw::KidPath => {
            "Tokens are HS256; each names its key in <code>kid</code>, and the key \
            is the file of that name in the app's <code>keys/</code> folder. Its stylesheet is \
            served from <code>static/lab.css</code>, a folder beside <code>keys/</code>."
        }
        Flaw::KidSql => {
            "Tokens are HS256; each names its key in <code>kid</code>, and the app \
            looks the secret up in an SQLite table, <code>signing_keys(kid, secret)</code>, \
            with a query it builds by hand."
        }
        Flaw::AlgConfusion => {
            "Tokens are RS256, and the public key is published as a JWK Set \
            at <code>.well-known/jwks.json</code>. The verifier takes the algorithm from the \
            token and the key as PEM text (SPKI, <code>-----BEGIN PUBLIC KEY-----</code>, \
            lines of 64 characters ending in LF)."
        }
        Flaw::RecoveredKey => {
            "The same verifier as the alg-confusion app, but this time the \
            public key is published nowhere. Tokens are RS256 with a 2048-bit key whose public \
            exponent is 3. Two tokens are enough to work out the rest."
        }
        Flaw::Expired => {
            "The expiry check was switched off when users complained of being \
            logged out. The app's <code>logs</code> are public, and somebody thought an expired \
            token was safe to write into them."
        }
        Flaw::Audience => {
            "Production and staging share one signing key. Staging lets \
            developers log in as anyone without a password \
            (<code>POST staging/api/token/</code> with <code>{\"username\": \"…\"}</code>); \
            its tokens say <code>\"aud\": \"staging\"</code>. Production does not check \
            <code>aud</code>."
        }
        Flaw::RefreshAsAccess => {
            "Refresh tokens can only be exchanged by the mobile client, \
            which holds a secret, so the team logs them. The protected route never looks at \
            <code>token_type</code>."
        }
        Flaw::RefreshReuse => {
            "The refresh endpoint rotates: every refresh token it takes is \
            answered with a new pair. But the old token is never written down as used. The \
            logs show the admin's last refresh."
        }
    };
    let kid = kid
        .map(|kid| format!("<p>Genuine tokens name their key <code>{kid}</code>.</p>"))
        .unwrap_or_default();
    let extras: String = flaw
        .routes()
        .into_iter()
        .skip(3)
        .map(|(method, path)| format!("<li><code>{method} {path}</code></li>\n"))
        .collect();
    page(
        &format!("{}: {}", flaw.slug(), flaw.title()),
        &format!(
            "<p>{story}</p>\n{kid}\
             <p>Log in as <code>{GUEST}</code>, password <code>{GUEST_PASSWORD}</code>. The \
             admin resource is for <code>user_id</code> 1 only.</p>\n\
             <ul><li><code>POST {base}api/token/</code> with \
             <code>{{\"username\": \"{GUEST}\", \"password\": \"{GUEST_PASSWORD}\"}}</code> \
             answers <code>{{\"refresh\", \"access\"}}</code></li>\n\
             <li><code>GET {base}api/admin/</code> with <code>Authorization: Bearer …</code> \
             answers <code>{{\"flag\"}}</code> to the admin</li>\n{extras}</ul>\n\
             <pre>curl -s -X POST http://{host}{base}api/token/ \\\n     \
             -H 'Content-Type: application/json' \\\n     \
             -d '{{\"username\": \"{GUEST}\", \"password\": \"{GUEST_PASSWORD}\"}}'</pre>\n\
             <p><a href=\"/lab/\">All the apps</a></p>"
        ),
    )
}

pub fn not_found() -> String {
    page(
        "Not found",
        "<p>No such page in the lab. <a href=\"/lab/\">All the apps</a></p>",
    )
}
