//! The one reader of OpenVPN's config syntax, for client and server configs alike: lines
//! split into words as OpenVPN's `parse_line` splits them, the `--` of a command-line
//! spelling dropped, and an inline block `<name>` ... `</name>` taken as one directive.
//! What a directive means, includes and `cd` are the readers' own
//! ([`crate::config`] for clients, [`crate::server::config`] for servers).

/// OpenVPN reads at most this many nested config files (`read_config_file`'s
/// `max_recursive_levels`): the config itself and nine levels of `config FILE` includes.
pub(crate) const MAX_CONFIG_LEVELS: usize = 10;

/// One directive of a config: its name and arguments, the text of its inline block if it
/// is one, and its line.
pub(crate) struct Directive {
    pub(crate) line: usize,
    /// The name (without a leading `--`), then the arguments.
    pub(crate) words: Vec<String>,
    pub(crate) inline: Option<zeroize::Zeroizing<String>>,
}

impl Directive {
    pub(crate) fn name(&self) -> &str {
        &self.words[0]
    }
}

/// A line the lexer cannot read: where, the directive (or tag) it starts with, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    pub(crate) line: usize,
    pub(crate) directive: String,
    pub(crate) message: String,
}

/// Text as OpenVPN reads a config file: a UTF-8 byte order mark skipped.
pub(crate) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The directives of `lines`, the first being line number `first`.
pub(crate) fn lex(lines: &[&str], first: usize) -> Result<Vec<Directive>, LexError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = first + i;
        let mut w = words(lines[i]).map_err(|message| LexError {
            line,
            directive: lines[i]
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_start_matches("--")
                .to_string(),
            message,
        })?;
        i += 1;
        if let Some(d) = w.first_mut() {
            if d.len() >= 3 && d.starts_with("--") {
                d.drain(..2);
            }
        }
        let tag = match w.as_slice() {
            [one] if one.len() > 2 && one.starts_with('<') && one.ends_with('>') => {
                Some(one[1..one.len() - 1].to_string())
            }
            _ => None,
        };
        let Some(name) = tag else {
            if !w.is_empty() {
                out.push(Directive {
                    line,
                    words: w,
                    inline: None,
                });
            }
            continue;
        };
        if let Some(closing) = name.strip_prefix('/') {
            return Err(LexError {
                line,
                directive: format!("</{closing}>"),
                message: format!("'</{closing}>' without '<{closing}>' before it"),
            });
        }
        let Some((body, used)) = inline_body(&lines[i..], &name) else {
            return Err(LexError {
                line,
                directive: format!("<{name}>"),
                message: format!("'<{name}>' is never closed by '</{name}>'"),
            });
        };
        i += used;
        out.push(Directive {
            line,
            words: vec![name],
            inline: Some(body),
        });
    }
    Ok(out)
}

/// Splits a config line into words exactly as OpenVPN's `parse_line` does: white space
/// separates; `"` groups with backslash escapes; `'` groups literally; a backslash outside
/// single quotes escapes only `\`, `"` or white space (anything else is an error, as in
/// OpenVPN); `#` or `;` where a word would start begins a comment.
pub(crate) fn words(line: &str) -> Result<Vec<String>, String> {
    #[derive(PartialEq)]
    enum State {
        Initial,
        Unquoted,
        Double,
        Single,
    }
    let mut out = Vec::new();
    let mut word = String::new();
    let mut state = State::Initial;
    let mut backslash = false;
    for c in line.chars().chain(std::iter::once('\0')) {
        let space = c == '\0' || c.is_whitespace();
        if !backslash && c == '\\' && state != State::Single {
            backslash = true;
            continue;
        }
        let mut done = false;
        let mut keep = None;
        match state {
            State::Initial => {
                if !space {
                    if c == ';' || c == '#' {
                        break;
                    }
                    if !backslash && c == '"' {
                        state = State::Double;
                    } else if !backslash && c == '\'' {
                        state = State::Single;
                    } else {
                        keep = Some(c);
                        state = State::Unquoted;
                    }
                }
            }
            State::Unquoted => {
                if !backslash && space {
                    done = true;
                } else {
                    keep = Some(c);
                }
            }
            State::Double => {
                if !backslash && c == '"' {
                    done = true;
                } else {
                    keep = Some(c);
                }
            }
            State::Single => {
                if c == '\'' {
                    done = true;
                } else {
                    keep = Some(c);
                }
            }
        }
        if backslash {
            if let Some(k) = keep {
                if !(k == '\\' || k == '"' || k == '\0' || k.is_whitespace()) {
                    return Err(format!(
                        "a backslash before '{k}': OpenVPN takes backslashes as escapes (write \\\\ for one, as in \"C:\\\\keys\\\\ta.key\")"
                    ));
                }
            }
        }
        backslash = false;
        if let Some(k) = keep.filter(|&k| k != '\0') {
            word.push(k);
        }
        if done {
            out.push(std::mem::take(&mut word));
            state = State::Initial;
        }
    }
    match state {
        State::Double => Err("no closing double quote (\")".into()),
        State::Single => Err("no closing single quote (')".into()),
        State::Unquoted => {
            out.push(word);
            Ok(out)
        }
        State::Initial => Ok(out),
    }
}

/// The text of an inline block whose opening `<name>` line came just before `lines`, up to
/// the line that starts with `</name>` (leading white space allowed, as OpenVPN reads it),
/// wiped when dropped, and how many lines it took with that closing line; `None` when the
/// block is never closed.
pub(crate) fn inline_body(
    lines: &[&str],
    name: &str,
) -> Option<(zeroize::Zeroizing<String>, usize)> {
    let close = format!("</{name}>");
    let mut body = zeroize::Zeroizing::new(String::new());
    for (n, l) in lines.iter().enumerate() {
        if l.trim_start().starts_with(&close) {
            return Some((body, n + 1));
        }
        body.push_str(l);
        body.push('\n');
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_blocks_and_errors() {
        let text = "\u{feff}--remote a 1194\n\n# c\n<ca>\nX\n  </ca>\n--verb 3 ; c\n";
        let lines: Vec<&str> = strip_bom(text).lines().collect();
        let d = lex(&lines, 1).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(
            (d[0].line, d[0].words.clone()),
            (1, vec!["remote".to_string(), "a".into(), "1194".into()])
        );
        assert_eq!((d[1].name(), d[1].line), ("ca", 4));
        assert_eq!(d[1].inline.as_deref().map(String::as_str), Some("X\n"));
        assert_eq!((d[2].name(), d[2].line), ("verb", 7));

        let e = lex(&["a", "</ca>"], 1).err().unwrap();
        assert_eq!((e.line, e.directive.as_str()), (2, "</ca>"));
        let e = lex(&["<ca>", "x"], 5).err().unwrap();
        assert_eq!(
            (e.line, e.message.as_str()),
            (5, "'<ca>' is never closed by '</ca>'")
        );
        let e = lex(&["--ca \"open"], 1).err().unwrap();
        assert_eq!(e.directive, "ca");
    }
}
