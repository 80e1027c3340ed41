//! The real binary serving a workbook's book, started the way a learner starts it: `cargo run`'s
//! binary in the workbook's folder, on a free port. Stopped when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Served {
    child: Child,
    pub addr: String,
}

impl Served {
    /// Serves from `dir` with `args` after the address (say `--data-dir …`); nothing from the
    /// environment decides where the data goes or which key signs.
    pub fn start(dir: &Path, args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_jwt-workbook"))
            .args(["--environment", "development", "--addr", "127.0.0.1:0"])
            .args(args)
            .current_dir(dir)
            .env_remove("JWT_WORKBOOK_DATA_DIR")
            .env_remove("JWT_SIGNING_KEY")
            .env_remove("JWT_SIGNING_KEY_FILE")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut banner = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let Some(Ok(line)) = banner.next() else {
                let _ = child.kill();
                panic!("the server stopped before its banner");
            };
            if let Some(url) = line.split("serving on http://").nth(1) {
                break url.trim().to_owned();
            }
        };
        // Keep reading the banner, so the server never blocks on a full pipe.
        std::thread::spawn(move || banner.for_each(drop));
        Served { child, addr }
    }

    /// `GET path` as a browser asks for a page: the whole response, status line first.
    pub fn get(&self, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(&self.addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: text/html\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
