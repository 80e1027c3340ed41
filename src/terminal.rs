//! Whether output may carry ANSI escape sequences (colours, clearing the screen). Only a
//! terminal shows them; in a file, a pipe or a CI log they are noise, and `NO_COLOR` set to
//! anything (<https://no-color.org>) turns them off even at a terminal.

use std::ffi::OsStr;
use std::io::IsTerminal;

/// May output to `stream` carry escape sequences, given the environment of this process?
pub fn escapes_allowed(stream: &impl IsTerminal) -> bool {
    allows_escapes(
        stream.is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// The rule itself: a terminal, and `NO_COLOR` unset or empty.
pub fn allows_escapes(is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    is_terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_go_only_to_a_terminal_whose_user_did_not_say_no_color() {
        assert!(allows_escapes(true, None));
        assert!(allows_escapes(true, Some(OsStr::new(""))));
        assert!(!allows_escapes(true, Some(OsStr::new("1"))));
        assert!(!allows_escapes(false, None));
    }
}
