//! Is a header field's value shaped the way its RFC says? Asked of the fields whose structure
//! RFC 5322, RFC 2045, RFC 2369/2919 and RFC 3834 define, for two decisions (SPEC §3):
//!
//! - an input is a message only when one of the message fields it starts with is well formed:
//!   `To: everyone - the password is ...` or `Date: today, token ...` is a line of text that
//!   happens to start with a field name, and is sealed whole like any other text;
//! - a field allowed outside stays outside only when it is well formed; a malformed one (prose
//!   after `Reply-To:`, a Message-ID without angle brackets) is sealed inside with the rest, so
//!   nothing that is not an address, a date or an identifier is ever written in clear.
//!
//! The checks are shapes, not full grammars: what matters is that a value is made of addresses,
//! a date, message identifiers or URLs in angle brackets, and of nothing else. Unstructured fields
//! (Subject, Comments, Keywords, and fields this module does not know) are always well formed.
//!
//! Not for: splitting a section into fields (mail-parser does that, see the parent module).

use crate::compose::{parse_one_address, split_top_level, top_level_chars};

/// Is `value` (the raw value after the colon, folding included) well formed for field `name`?
pub(super) fn well_formed(name: &[u8], value: &[u8]) -> bool {
    // Raw 8-bit bytes (legacy mailers put them in display names) are read as U+FFFD: the shapes
    // checked here are ASCII.
    let unfolded = unfold(&String::from_utf8_lossy(value));
    let value = unfolded.trim();
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    if ADDRESS_FIELDS.iter().any(|n| is(n)) {
        is_address_field(value)
    } else if is("Date") || is("Resent-Date") {
        is_date(value)
    } else if is("Message-ID") || is("Resent-Message-ID") || is("Content-ID") {
        msg_ids(value) == Some(1)
    } else if is("In-Reply-To") || is("References") {
        msg_ids(value).is_some_and(|n| n > 0)
    } else if is("Return-Path") {
        is_return_path(value)
    } else if is("Received") {
        is_received(value)
    } else if is("MIME-Version") {
        is_mime_version(value)
    } else if is("Content-Type") {
        is_content_type(value)
    } else if is("Content-Transfer-Encoding") || is("Content-Disposition") || is("Auto-Submitted") {
        is_token_with_parameters(value)
    } else if is("List-Id") {
        is_list_id(value)
    } else if is("List-Unsubscribe-Post") {
        // RFC 8058 §3.1: the one value it has.
        value == "List-Unsubscribe=One-Click"
    } else if is_list_field(name) {
        is_list_urls(value)
    } else {
        true
    }
}

/// The fields whose value is a list of addresses (RFC 5322 §3.6.2-3, §3.6.6).
const ADDRESS_FIELDS: [&str; 11] = [
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Resent-From",
    "Resent-Sender",
    "Resent-To",
    "Resent-Cc",
    "Resent-Bcc",
];

/// Is an address field's value (unfolded; RFC 5322 §3.4) a list of addresses and nothing else?
/// Each address is `addr@domain` or `Display Name <addr@domain>` (read as `--to` reads them), or
/// a local mailbox without a domain (`root`, `root (Cron Daemon)`, as cron and local mailers
/// write them); a group (`Team: a@x, b@x;`, `undisclosed-recipients:;`) is read as its members.
/// An empty value is well formed (an empty Bcc says nothing). Prose such as `everyone - the
/// password is ...` is not.
fn is_address_field(value: &str) -> bool {
    let Some(pieces) = split_top_level(value) else {
        return false;
    };
    let mut in_group = false;
    for (piece, separator) in pieces {
        let mut piece = piece.trim();
        // A group's display name ends at its colon, before any address of it.
        if let Some(colon) = group_colon(piece) {
            let name = &piece[..colon];
            if in_group || name.trim().is_empty() || name.contains(['@', '<', '>']) {
                return false;
            }
            piece = piece[colon + 1..].trim();
            in_group = true;
        }
        if !piece.is_empty() && parse_one_address(piece).is_none() && !is_local_mailbox(piece) {
            return false;
        }
        // `;` closes a group; a `,` inside one keeps it open. Outlook's `;` lists have no colon.
        if separator == Some(';') {
            in_group = false;
        }
    }
    true
}

/// Where a group's display name ends: a `:` outside quotes, angle brackets and comments.
fn group_colon(piece: &str) -> Option<usize> {
    top_level_chars(piece)?
        .into_iter()
        .find_map(|(i, c)| (c == ':').then_some(i))
}

/// A mailbox without a domain: a local part (a dot-atom or a quoted string), alone or in angle
/// brackets after a display name, comments aside.
fn is_local_mailbox(piece: &str) -> bool {
    let Some(plain) = without_comments(piece) else {
        return false;
    };
    let plain = plain.trim();
    let local = match plain.strip_suffix('>').and_then(|p| p.rsplit_once('<')) {
        // `MAILER DAEMON <>`: the null sender of a bounce (RFC 5321 §4.5.5).
        Some((_, "")) => return true,
        Some((_, local)) => local,
        None => plain,
    };
    let atom_text = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b);
    let dot_atom = !local.is_empty()
        && local
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(atom_text));
    let quoted = local.len() >= 2
        && local.starts_with('"')
        && local.ends_with('"')
        && !local.chars().any(char::is_control);
    dot_atom || quoted
}

fn is_list_field(name: &[u8]) -> bool {
    name.get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"list-"))
}

/// RFC 5322 §2.2.3: a folded value is unfolded by removing each line break before white space.
fn unfold(value: &str) -> String {
    value.replace("\r\n", "").replace('\n', "")
}

/// The value without its comments (RFC 5322 §3.2.2), each replaced by a space; `None` when a
/// parenthesis is left open or closes nothing.
fn without_comments(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let (mut depth, mut escaped, mut quoted) = (0u32, false, false);
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' if quoted || depth > 0 => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            _ if quoted => out.push(c),
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    out.push(' ');
                }
            }
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    (depth == 0 && !quoted).then_some(out)
}

/// RFC 5322 §3.3 date-time, with the obsolete forms real mail still carries (§4.3): an optional
/// day of the week, `day month year`, `hh:mm[:ss]`, and a numeric or named zone (or none).
fn is_date(value: &str) -> bool {
    let Some(plain) = without_comments(value) else {
        return false;
    };
    let mut tokens: Vec<&str> = plain
        .split(|c: char| c.is_ascii_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    if tokens
        .first()
        .is_some_and(|t| DAYS.iter().any(|d| d.eq_ignore_ascii_case(t)))
    {
        tokens.remove(0);
    }
    let digits = |t: &str, min: usize, max: usize| {
        (min..=max).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit())
    };
    // `00:01+0000`: a zone written against the time.
    if let Some(at) = tokens.get(3).and_then(|t| t.find(['+', '-'])) {
        let time = tokens[3];
        tokens.splice(3..4, [&time[..at], &time[at..]]);
    }
    let [day, month, year, time, zone @ ..] = tokens.as_slice() else {
        return false;
    };
    let time_ok = {
        let parts: Vec<&str> = time.split(':').collect();
        (2..=3).contains(&parts.len()) && parts.iter().all(|p| digits(p, 2, 2))
    };
    let zone_ok = match zone {
        [] => true,
        [z] => {
            let numeric = (z.starts_with('+') || z.starts_with('-')) && digits(&z[1..], 4, 4);
            let named = (1..=5).contains(&z.len()) && z.bytes().all(|b| b.is_ascii_alphabetic());
            numeric || named
        }
        _ => false,
    };
    digits(day, 1, 2)
        && MONTHS.iter().any(|m| m.eq_ignore_ascii_case(month))
        && digits(year, 2, 4)
        && time_ok
        && zone_ok
}

/// How many message identifiers (`<left@right>`, RFC 5322 §3.6.4; `<left>` too, as older
/// agents wrote them) the value is made of, with only white space, commas and comments between
/// them; `None` when anything else is there.
fn msg_ids(value: &str) -> Option<usize> {
    let plain = without_comments(value)?;
    let mut rest = plain.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ',');
    let mut count = 0;
    while !rest.is_empty() {
        let inner = rest.strip_prefix('<')?;
        let close = inner.find('>')?;
        let id = &inner[..close];
        let printable = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| (33..=126).contains(&b) && b != b'<' && b != b'>')
        };
        let parts_ok = match id.rsplit_once('@') {
            Some((left, right)) => printable(left) && printable(right),
            None => printable(id),
        };
        if !parts_ok {
            return None;
        }
        count += 1;
        rest = inner[close + 1..].trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ',');
    }
    Some(count)
}

/// RFC 5322 §3.6.7: `<>` or `<addr-spec>` (a bare addr-spec too, as some agents write it).
fn is_return_path(value: &str) -> bool {
    let Some(plain) = without_comments(value) else {
        return false;
    };
    let plain = plain.trim();
    if plain.replace(' ', "") == "<>" {
        return true;
    }
    let inner = plain
        .strip_prefix('<')
        .and_then(|p| p.strip_suffix('>'))
        .unwrap_or(plain);
    !inner.contains(['<', '>', ',', ';']) && is_address_field(inner.trim()) && !inner.is_empty()
}

/// RFC 5322 §3.6.7: trace tokens, then `;` and the date the relay received the message.
fn is_received(value: &str) -> bool {
    value
        .rsplit_once(';')
        .is_some_and(|(_, date)| is_date(date))
}

/// RFC 2045 §4: `1.0`, comments allowed around and between.
fn is_mime_version(value: &str) -> bool {
    without_comments(value).is_some_and(|v| {
        let v: String = v.split_ascii_whitespace().collect();
        v.split_once('.').is_some_and(|(major, minor)| {
            !major.is_empty()
                && !minor.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().all(|b| b.is_ascii_digit())
        })
    })
}

/// RFC 2045 §5.1: `type/subtype`, then parameters.
fn is_content_type(value: &str) -> bool {
    let Some(plain) = without_comments(value) else {
        return false;
    };
    let head = plain.split(';').next().unwrap_or_default().trim();
    head.split_once('/')
        .is_some_and(|(t, s)| is_token(t.trim()) && is_token(s.trim()))
}

/// A token (RFC 2045 §5.1), then optional `; parameter=value` pairs (Content-Transfer-Encoding,
/// Content-Disposition, Auto-Submitted).
fn is_token_with_parameters(value: &str) -> bool {
    let Some(plain) = without_comments(value) else {
        return false;
    };
    is_token(plain.split(';').next().unwrap_or_default().trim())
}

fn is_token(t: &str) -> bool {
    !t.is_empty()
        && t.bytes()
            .all(|b| (33..=126).contains(&b) && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

/// RFC 2919: an optional phrase, then `<list-id>`, a dot-atom.
fn is_list_id(value: &str) -> bool {
    let Some(plain) = without_comments(value) else {
        return false;
    };
    let plain = plain.trim();
    let Some(open) = plain.rfind('<') else {
        return false;
    };
    plain[open + 1..].strip_suffix('>').is_some_and(|id| {
        !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b))
    })
}

/// RFC 2369 (List-Help, -Unsubscribe, -Subscribe, -Post, -Owner, -Archive, and any other
/// `List-*` field): one or more `<URL>`s separated by commas (comments allowed), or `NO`
/// (List-Post).
fn is_list_urls(value: &str) -> bool {
    let Some(plain) = without_comments(value) else {
        return false;
    };
    let plain = plain.trim();
    if plain.eq_ignore_ascii_case("NO") {
        return true;
    }
    let mut any = false;
    for piece in plain.split(',') {
        let piece = piece.trim();
        let Some(url) = piece.strip_prefix('<').and_then(|p| p.strip_suffix('>')) else {
            return false;
        };
        if url.is_empty() || url.contains(['<', '>']) || url.contains(char::is_whitespace) {
            return false;
        }
        any = true;
    }
    any
}

#[cfg(test)]
mod tests {
    use super::well_formed;

    fn ok(name: &str, value: &str) -> bool {
        well_formed(name.as_bytes(), value.as_bytes())
    }

    #[test]
    fn addresses_as_mail_carries_them() {
        for value in [
            " ops@example.org",
            " Ops Team <ops@example.org>, dev@example.org",
            " \"Smith, J\" <j@example.org>",
            " =?utf-8?q?J=C3=B6rg?= <j@example.org>",
            " j@example.org (Joe)",
            " undisclosed-recipients:;",
            " Team: a@example.org, b@example.org;, c@example.org",
            " a@example.org,\r\n\tb@example.org",
            " root",
            " root (Cron Daemon)",
            " Cron Daemon <root>",
            " MAILER DAEMON <>",
            "",
        ] {
            assert!(ok("To", value), "{value:?}");
        }
        for value in [
            " everyone - the password is hunter2",
            " the build server, key=s3cr3t",
            " s3cr3t is the pw",
            " a@example.org b@example.org",
            " <a@example.org",
        ] {
            assert!(!ok("To", value), "{value:?}");
            assert!(!ok("reply-to", value), "{value:?}");
        }
    }

    #[test]
    fn dates_in_the_current_and_obsolete_forms() {
        for value in [
            " Wed, 2 Dec 2026 10:54:25 +0000",
            " 2 Dec 2026 10:54 -0500",
            " Mon, 01 Jan 96 00:00:00 GMT",
            " Fri, 21 Nov 1997 09:55:06 -0600 (MDT)",
            " Tue, 1 Jan 2026 10:00:00",
            " 01 Jan 2001 00:01+0000",
        ] {
            assert!(ok("Date", value), "{value:?}");
        }
        for value in [" tomorrow", " today, token s3cr3t", " 2026-12-02", ""] {
            assert!(!ok("Date", value), "{value:?}");
        }
    }

    #[test]
    fn identifiers_urls_and_trace_fields() {
        assert!(ok("Message-ID", " <1.2@example.org>"));
        assert!(!ok("Message-ID", " s3cr3t"));
        assert!(ok("Message-ID", " <xxxx>"));
        assert!(!ok("Message-ID", " <the s3cr3t>"));
        assert!(!ok("Message-ID", " <a@x> <b@x>"));
        assert!(ok("References", " <a@x>\r\n <b@x> (c)"));
        assert!(!ok("In-Reply-To", " your message of yesterday"));
        assert!(ok("Return-Path", " <>"));
        assert!(ok("Return-Path", " <bounce@example.org>"));
        assert!(!ok("Return-Path", " s3cr3t token"));
        assert!(ok(
            "Received",
            " from mx.example.org by mail.example.org;\r\n Wed, 2 Dec 2026 10:54:25 +0000"
        ));
        assert!(!ok("Received", " from s3cr3t"));
        assert!(ok("MIME-Version", " 1.0 (Mac OS X Mail 16.0 \\(3774\\))"));
        assert!(!ok("MIME-Version", " s3cr3t"));
        assert!(ok("Content-Type", " text/plain; charset=utf-8"));
        assert!(!ok("Content-Type", " the s3cr3t"));
        assert!(ok("Auto-Submitted", " auto-generated"));
        assert!(!ok("Auto-Submitted", " yes, token s3cr3t"));
        assert!(ok("List-Id", " Ops list <ops.example.org>"));
        assert!(!ok("List-Id", " s3cr3t"));
        assert!(ok(
            "List-Unsubscribe",
            " <mailto:leave@example.org>, <https://example.org/u?id=1>"
        ));
        assert!(ok("List-Post", " NO"));
        assert!(ok("List-Unsubscribe-Post", " List-Unsubscribe=One-Click"));
        assert!(!ok("List-Unsubscribe-Post", " key=s3cr3t"));
        assert!(!ok("List-Secret", " s3cr3t"));
        assert!(!ok("List-Archive", " the s3cr3t archive"));
        assert!(ok("Subject", " anything at all"));
        assert!(ok("X-Api-Key", " anything"));
        assert!(
            well_formed(b"From", b" J\xf6rg <j@example.org>"),
            "8-bit display name"
        );
        assert!(!well_formed(b"Date", b" \xf6 2 Dec 2026 10:54:25 +0000"));
        assert!(well_formed(b"Subject", b" gr\xfc\xdfe"));
    }
}
