//! `fmt`: rewrites HCL source in the canonical style, the one `terraform fmt` (Terraform 1.11)
//! produces, so that teams who know Terraform's style get the same bytes from inferform.
//!
//! The file must parse (hcl-edit decides); then it is cut into the tokens of HCL's native
//! scanner and formatted the way `hclwrite` formats: two-space indentation from bracket
//! nesting, one space between most tokens, `=` aligned within runs of consecutive one-line
//! attributes, trailing comments aligned within runs of lines that have one. Only the spaces
//! between tokens change, with the rewrites `terraform fmt` makes on top:
//!
//! - block labels are quoted (`resource foo bar` → `resource "foo" "bar"`) and their escapes
//!   normalised (`"caf\u00e9"` → `"café"`);
//! - an attribute value that is a lone interpolation loses its quotes (`"${var.x}"` →
//!   `var.x`), wrapped in parentheses when it spans lines;
//! - in a top-level `variable` block, legacy types are modernised (`"string"` → `string`,
//!   `list` → `list(any)`).
//!
//! Comments, quoted strings and heredoc text are tokens too, so they come out byte for byte
//! (template sequences inside them are spaced like any expression: `${ x }` → `${x}`, as
//! Terraform does).
//!
//! Known differences from `terraform fmt`, each chosen so that nothing is lost and a second run
//! changes nothing:
//! - the output is Terraform's after it stops changing: `"${"${x}"}"` → `x` at once, where
//!   Terraform unwraps one level per run, and spaces after the last token of a file without a
//!   final newline go at once, where Terraform keeps them until its next run;
//! - comments between a block's type and its labels are kept, and so are labels holding `$` or
//!   `%`; Terraform drops both;
//! - an unwrapped multi-line `"${...}"` gets parentheses whenever it needs them to still parse
//!   (its first and last parentheses do not match, or a `#` comment ends a line inside it);
//!   Terraform then writes an expression that no longer parses;
//! - which files parse is hcl-edit's call, and it differs from Terraform's parser at the edges:
//!   it accepts newlines inside quotes (formatted here, content untouched), and rejects a
//!   heredoc line that starts with the closing marker and goes on;
//! - alignment counts characters where Terraform counts grapheme clusters; the two agree except
//!   for combining sequences this module does not know.
//!
//! Pure: text in, text out, no I/O.

use std::borrow::Cow;
use std::ops::Range;

/// Why a file could not be formatted.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The input is not valid HCL; nothing was formatted.
    #[error("syntax error: {}", .0.message())]
    Syntax(hcl_edit::parser::Error),
    /// The formatted text would not parse: a bug in the formatter. The input is left alone.
    #[error("the formatter produced invalid HCL ({message}); the file was left unchanged")]
    Internal { message: String },
}

/// Formats one HCL file. Returns the canonical text, which ends in a newline: the input itself
/// (less a byte-order mark, plus a missing final newline) when it is already canonical.
pub fn format_source(text: &str) -> Result<String, FormatError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    hcl_edit::parser::parse_body(text).map_err(FormatError::Syntax)?;
    // `terraform fmt` is idempotent on almost every input; where it is not (nested
    // `"${"${x}"}"`, spaces at the end of a file) its next run changes the file again. We
    // run until nothing changes, so that a second `inferform fmt` never has work to do.
    let mut out = format_once(text);
    for _ in 0..MAX_PASSES {
        parses(&out)?;
        let next = format_once(&out);
        if next == out {
            return Ok(out);
        }
        out = next;
    }
    parses(&out)?;
    Ok(out)
}

/// Enough passes for any real file: each one unwraps one level of nested `"${...}"`.
const MAX_PASSES: usize = 8;

fn format_once(text: &str) -> String {
    let mut tokens = lex(text);
    apply_rewrites(&mut tokens);
    format_tokens(&mut tokens);
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for token in &tokens {
        out.extend(std::iter::repeat_n(' ', token.spaces));
        out.push_str(&token.text);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Refuses output that does not parse: better to leave a file alone than to break it.
fn parses(out: &str) -> Result<(), FormatError> {
    match hcl_edit::parser::parse_body(out) {
        Ok(_) => Ok(()),
        Err(err) => Err(FormatError::Internal {
            message: format!(
                "line {}, column {}: {}",
                err.location().line(),
                err.location().column(),
                err.message().lines().next().unwrap_or_default()
            ),
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens: the scanner of HCL's native syntax (hclsyntax's scan_tokens.rl), as far as
// formatting needs it. Runs of literal text are one token where hclsyntax may cut them in
// several; nothing here depends on where a literal is cut.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ident,
    Number,
    /// `#` and `//` comments include the newline that ends them; `/* */` ones do not.
    Comment,
    Newline,
    OBrace,
    CBrace,
    OBrack,
    CBrack,
    OParen,
    CParen,
    Dot,
    Comma,
    Star,
    Slash,
    Percent,
    Plus,
    Minus,
    Equal,
    Lt,
    Gt,
    Bang,
    Question,
    Colon,
    EqualOp,
    NotEqual,
    GtEq,
    LtEq,
    And,
    Or,
    DoubleColon,
    Ellipsis,
    FatArrow,
    OQuote,
    CQuote,
    /// Literal text inside quotes.
    QuotedLit,
    /// `${` or `${~`.
    TemplateInterp,
    /// `%{` or `%{~`.
    TemplateControl,
    /// The `}` or `~}` that closes a template sequence.
    TemplateSeqEnd,
    /// `<<EOT` or `<<-EOT` with the newline after it.
    OHeredoc,
    /// The closing marker line, with its indentation, without the newline.
    CHeredoc,
    /// Literal text inside a heredoc, newlines included.
    StringLit,
    /// Anything else: stray symbols, invalid characters.
    Other,
}

#[derive(Clone, Debug)]
struct Token<'a> {
    kind: Kind,
    text: Cow<'a, str>,
    /// Spaces written before the token.
    spaces: usize,
}

impl<'a> Token<'a> {
    fn new(kind: Kind, text: impl Into<Cow<'a, str>>) -> Self {
        Token {
            kind,
            text: text.into(),
            spaces: 0,
        }
    }

    fn is_newline(&self) -> bool {
        self.kind == Kind::Newline || (self.kind == Kind::Comment && self.text.ends_with('\n'))
    }

    /// +1 for an opening bracket, -1 for a closing one, as hclwrite counts them.
    fn bracket_change(&self) -> i64 {
        match self.kind {
            Kind::OBrace
            | Kind::OBrack
            | Kind::OParen
            | Kind::TemplateControl
            | Kind::TemplateInterp => 1,
            Kind::CBrace | Kind::CBrack | Kind::CParen | Kind::TemplateSeqEnd => -1,
            _ => 0,
        }
    }
}

enum Mode<'a> {
    Main,
    Quoted,
    Heredoc {
        marker: &'a str,
        start_of_line: bool,
    },
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    tokens: Vec<Token<'a>>,
    modes: Vec<Mode<'a>>,
    /// Open braces, counting template sequences, as in hclsyntax's scanner.
    braces: i64,
    /// The brace depths at which a `}` closes a template sequence.
    ret_braces: Vec<i64>,
}

fn lex(src: &str) -> Vec<Token<'_>> {
    let mut lexer = Lexer {
        src,
        pos: 0,
        tokens: Vec::new(),
        modes: vec![Mode::Main],
        braces: 0,
        ret_braces: Vec::new(),
    };
    while lexer.pos < src.len() {
        match lexer.modes.last() {
            Some(Mode::Quoted) => lexer.quoted(),
            Some(Mode::Heredoc { .. }) => lexer.heredoc(),
            Some(Mode::Main) | None => lexer.main(),
        }
    }
    lexer.tokens
}

fn is_id_start(c: char) -> bool {
    c == '_'
        || c.is_ascii_alphabetic()
        || (!c.is_ascii() && hcl_edit::Ident::try_new(c.to_string()).is_ok())
}

fn is_id_continue(c: char) -> bool {
    c == '-'
        || c == '_'
        || c.is_ascii_alphanumeric()
        || (!c.is_ascii() && hcl_edit::Ident::try_new(format!("a{c}")).is_ok())
}

/// The length of an identifier at the start of `s`, 0 when there is none.
fn ident_len(s: &str) -> usize {
    let mut chars = s.char_indices();
    match chars.next() {
        Some((_, c)) if is_id_start(c) => {}
        _ => return 0,
    }
    chars
        .find(|&(_, c)| !is_id_continue(c))
        .map_or(s.len(), |(i, _)| i)
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn emit(&mut self, kind: Kind, len: usize) {
        let end = (self.pos + len).min(self.src.len());
        self.tokens.push(Token::new(kind, &self.src[self.pos..end]));
        self.pos = end;
    }

    fn main(&mut self) {
        let rest = self.rest();
        let bytes = rest.as_bytes();
        let Some(c) = rest.chars().next() else {
            self.pos = self.src.len();
            return;
        };
        let next = bytes.get(1).copied();
        if let Some((len, marker)) = heredoc_intro(rest) {
            self.emit(Kind::OHeredoc, len);
            self.modes.push(Mode::Heredoc {
                marker,
                start_of_line: true,
            });
            return;
        }
        match c {
            ' ' | '\t' => {
                let n = bytes
                    .iter()
                    .take_while(|&&b| b == b' ' || b == b'\t')
                    .count();
                self.pos += n;
            }
            '0'..='9' => {
                let n = number_len(bytes);
                self.emit(Kind::Number, n);
            }
            '\n' => self.emit(Kind::Newline, 1),
            '\r' if next == Some(b'\n') => self.emit(Kind::Newline, 2),
            '#' => self.emit(Kind::Comment, line_comment_len(rest)),
            '/' if next == Some(b'/') => self.emit(Kind::Comment, line_comment_len(rest)),
            '/' if next == Some(b'*') => match rest[2..].find("*/") {
                Some(i) => self.emit(Kind::Comment, i + 4),
                None => self.emit(Kind::Slash, 1),
            },
            '{' => {
                self.emit(Kind::OBrace, 1);
                self.braces += 1;
            }
            '}' => self.close_brace(1, false),
            '~' if next == Some(b'}') => self.close_brace(2, true),
            '"' => {
                self.emit(Kind::OQuote, 1);
                self.modes.push(Mode::Quoted);
            }
            '.' if rest.starts_with("...") => self.emit(Kind::Ellipsis, 3),
            '=' if next == Some(b'=') => self.emit(Kind::EqualOp, 2),
            '=' if next == Some(b'>') => self.emit(Kind::FatArrow, 2),
            '!' if next == Some(b'=') => self.emit(Kind::NotEqual, 2),
            '>' if next == Some(b'=') => self.emit(Kind::GtEq, 2),
            '<' if next == Some(b'=') => self.emit(Kind::LtEq, 2),
            '&' if next == Some(b'&') => self.emit(Kind::And, 2),
            '|' if next == Some(b'|') => self.emit(Kind::Or, 2),
            ':' if next == Some(b':') => self.emit(Kind::DoubleColon, 2),
            _ => {
                let kind = match c {
                    '[' => Kind::OBrack,
                    ']' => Kind::CBrack,
                    '(' => Kind::OParen,
                    ')' => Kind::CParen,
                    '.' => Kind::Dot,
                    ',' => Kind::Comma,
                    '*' => Kind::Star,
                    '/' => Kind::Slash,
                    '%' => Kind::Percent,
                    '+' => Kind::Plus,
                    '-' => Kind::Minus,
                    '=' => Kind::Equal,
                    '<' => Kind::Lt,
                    '>' => Kind::Gt,
                    '!' => Kind::Bang,
                    '?' => Kind::Question,
                    ':' => Kind::Colon,
                    _ => Kind::Other,
                };
                if kind == Kind::Other && is_id_start(c) {
                    let n = ident_len(rest);
                    self.emit(Kind::Ident, n);
                } else {
                    self.emit(kind, c.len_utf8());
                }
            }
        }
    }

    /// `}` or `~}`: closes a template sequence when it balances the `${`/`%{` that opened
    /// one, otherwise an object or block.
    fn close_brace(&mut self, len: usize, strip: bool) {
        if self.ret_braces.last() == Some(&self.braces) {
            self.emit(Kind::TemplateSeqEnd, len);
            self.ret_braces.pop();
            if self.modes.len() > 1 {
                self.modes.pop();
            }
        } else {
            let kind = if strip {
                Kind::TemplateSeqEnd
            } else {
                Kind::CBrace
            };
            self.emit(kind, len);
        }
        self.braces -= 1;
    }

    /// Starts a `${` or `%{` sequence if `rest` begins with one; returns whether it did.
    fn template_sequence(&mut self, rest: &str) -> bool {
        let kind = if rest.starts_with("${") {
            Kind::TemplateInterp
        } else if rest.starts_with("%{") {
            Kind::TemplateControl
        } else {
            return false;
        };
        let len = if rest[2..].starts_with('~') { 3 } else { 2 };
        self.emit(kind, len);
        self.braces += 1;
        self.ret_braces.push(self.braces);
        if let Some(Mode::Heredoc { start_of_line, .. }) = self.modes.last_mut() {
            *start_of_line = false;
        }
        self.modes.push(Mode::Main);
        true
    }

    fn quoted(&mut self) {
        let rest = self.rest();
        if self.template_sequence(rest) {
            return;
        }
        if rest.starts_with('"') {
            self.emit(Kind::CQuote, 1);
            if self.modes.len() > 1 {
                self.modes.pop();
            }
            return;
        }
        // Newlines stay inside the literal: Terraform rejects them in quotes, hcl-edit accepts
        // them, and either way they are the string's content, which formatting never touches.
        let bytes = rest.as_bytes();
        let mut i = 0;
        while let Some(c) = rest[i..].chars().next() {
            match c {
                '"' => break,
                '\\' => match rest[i + 1..].chars().next() {
                    Some(n) => i += 1 + n.len_utf8(),
                    None => break,
                },
                '$' | '%' => match literal_sigil_len(&bytes[i..]) {
                    Some(n) => i += n,
                    None => break,
                },
                _ => i += c.len_utf8(),
            }
        }
        if i == 0 {
            // A backslash at the end of the file.
            self.emit(Kind::Other, 1);
        } else {
            self.emit(Kind::QuotedLit, i);
        }
    }

    fn heredoc(&mut self) {
        let rest = self.rest();
        let Some(Mode::Heredoc {
            marker,
            start_of_line,
        }) = self.modes.last()
        else {
            return;
        };
        let marker = *marker;
        if *start_of_line {
            let line_end = rest.find('\n');
            let line = line_end.map_or(rest, |i| &rest[..i]);
            // Only spaces and tabs around the marker: where hcl-edit would read on, so do we.
            let trimmed = line
                .strip_suffix('\r')
                .unwrap_or(line)
                .trim_matches(|c| c == ' ' || c == '\t');
            if trimmed == marker {
                match line_end {
                    Some(i) => {
                        let content = line.strip_suffix('\r').unwrap_or(line).len();
                        self.emit(Kind::CHeredoc, content);
                        self.emit(Kind::Newline, i + 1 - content);
                    }
                    None => self.emit(Kind::CHeredoc, line.len()),
                }
                self.modes.pop();
                return;
            }
        }
        if self.template_sequence(rest) {
            return;
        }
        let bytes = rest.as_bytes();
        let mut i = 0;
        let mut ended_line = false;
        while let Some(c) = rest[i..].chars().next() {
            match c {
                '\n' => {
                    i += 1;
                    ended_line = true;
                    break;
                }
                '$' | '%' => match literal_sigil_len(&bytes[i..]) {
                    Some(n) => i += n,
                    None => break,
                },
                _ => i += c.len_utf8(),
            }
        }
        self.emit(Kind::StringLit, i.max(1));
        if let Some(Mode::Heredoc { start_of_line, .. }) = self.modes.last_mut() {
            *start_of_line = ended_line;
        }
    }
}

/// At a `$` or `%` inside a template: the length of literal text it starts (`$`, or `$${`
/// which escapes an interpolation), or None when it opens a template sequence.
fn literal_sigil_len(bytes: &[u8]) -> Option<usize> {
    let sigil = bytes.first().copied();
    match (bytes.get(1), bytes.get(2)) {
        (Some(b'{'), _) => None,
        (Some(&s), Some(b'{')) if Some(s) == sigil => Some(3),
        _ => Some(1),
    }
}

/// `digit (digit | '.' | [eE][+-]?digit)*`, never ending in a dot.
fn number_len(bytes: &[u8]) -> usize {
    let mut i = 1;
    let mut good = 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'0'..=b'9' => {
                i += 1;
                good = i;
            }
            b'.' => i += 1,
            b'e' | b'E' => {
                let mut j = i + 1;
                if matches!(bytes.get(j), Some(b'+' | b'-')) {
                    j += 1;
                }
                if bytes.get(j).is_some_and(u8::is_ascii_digit) {
                    i = j + 1;
                    good = i;
                } else {
                    break;
                }
            }
            _ => break,
        }
    }
    good
}

/// A `#` or `//` comment runs to the end of its line, newline included.
fn line_comment_len(rest: &str) -> usize {
    rest.find('\n').map_or(rest.len(), |i| i + 1)
}

/// `<<EOT` or `<<-EOT` followed by a newline: the length with the newline, and the marker.
fn heredoc_intro(rest: &str) -> Option<(usize, &str)> {
    let after = rest.strip_prefix("<<")?;
    let dash = usize::from(after.starts_with('-'));
    let name_len = ident_len(&after[dash..]);
    if name_len == 0 {
        return None;
    }
    let marker = &after[dash..dash + name_len];
    let tail = &after[dash + name_len..];
    let newline = if tail.starts_with("\r\n") {
        2
    } else if tail.starts_with('\n') {
        1
    } else {
        return None;
    };
    Some((2 + dash + name_len + newline, marker))
}

// ---------------------------------------------------------------------------------------------
// Rewrites `terraform fmt` makes before formatting: label quoting, interpolation unwrapping and
// legacy variable types. The structure (which tokens are a body's attributes and blocks) is
// read from the tokens; a body never holds anything else once hcl-edit has accepted the file.

struct Edit<'a> {
    range: Range<usize>,
    tokens: Vec<Token<'a>>,
}

fn apply_rewrites(tokens: &mut Vec<Token<'_>>) {
    let mut walker = Walker {
        toks: tokens,
        pos: 0,
        edits: Vec::new(),
    };
    walker.body(&mut Vec::new(), false);
    let mut edits = walker.edits;
    edits.sort_by_key(|e| std::cmp::Reverse(e.range.start));
    for edit in edits {
        if edit.range.start <= edit.range.end && edit.range.end <= tokens.len() {
            tokens.splice(edit.range, edit.tokens);
        }
    }
}

struct Walker<'t, 'a> {
    toks: &'t [Token<'a>],
    pos: usize,
    edits: Vec<Edit<'a>>,
}

impl<'a> Walker<'_, 'a> {
    fn kind(&self, i: usize) -> Option<Kind> {
        self.toks.get(i).map(|t| t.kind)
    }

    /// The next token at or after `i` that is not a comment inside the line.
    fn skip_inline_comments(&self, mut i: usize) -> usize {
        while self
            .toks
            .get(i)
            .is_some_and(|t| t.kind == Kind::Comment && !t.is_newline())
        {
            i += 1;
        }
        i
    }

    fn body(&mut self, path: &mut Vec<String>, in_block: bool) {
        while let Some(token) = self.toks.get(self.pos) {
            match token.kind {
                Kind::Newline | Kind::Comment => self.pos += 1,
                Kind::CBrace if in_block => return,
                Kind::Ident => self.item(path),
                _ => self.pos += 1,
            }
        }
    }

    fn item(&mut self, path: &mut Vec<String>) {
        let name = self.toks[self.pos].text.to_string();
        let after_name = self.skip_inline_comments(self.pos + 1);
        if self.kind(after_name) == Some(Kind::Equal) {
            self.pos = after_name + 1;
            let expr = self.expression();
            let slice = &self.toks[expr.clone()];
            let rewritten = if name == "type" && path.len() == 1 && path[0] == "variable" {
                modern_type(slice)
            } else {
                unwrap_interpolation(slice)
            };
            if let Some(tokens) = rewritten {
                self.edits.push(Edit {
                    range: expr,
                    tokens,
                });
            }
            return;
        }
        self.pos += 1;
        loop {
            self.pos = self.skip_inline_comments(self.pos);
            match self.kind(self.pos) {
                Some(Kind::Ident) => {
                    let label = self.pos..self.pos + 1;
                    self.pos += 1;
                    self.label(label);
                }
                Some(Kind::OQuote) => {
                    let start = self.pos;
                    while self.kind(self.pos).is_some_and(|k| k != Kind::CQuote) {
                        self.pos += 1;
                    }
                    self.pos = (self.pos + 1).min(self.toks.len());
                    self.label(start..self.pos);
                }
                Some(Kind::OBrace) => {
                    self.pos += 1;
                    path.push(name);
                    self.body(path, true);
                    path.pop();
                    if self.kind(self.pos) == Some(Kind::CBrace) {
                        self.pos += 1;
                    }
                    return;
                }
                _ => return,
            }
        }
    }

    /// Consumes an attribute's expression; returns its tokens without the comments before and
    /// after it.
    fn expression(&mut self) -> Range<usize> {
        let mut depth: i64 = 0;
        let mut range: Option<Range<usize>> = None;
        while let Some(token) = self.toks.get(self.pos) {
            if depth == 0 && (token.is_newline() || token.kind == Kind::CBrace) {
                break;
            }
            depth += match token.kind {
                Kind::OQuote | Kind::OHeredoc => 1,
                Kind::CQuote | Kind::CHeredoc => -1,
                _ => token.bracket_change(),
            };
            depth = depth.max(0);
            if token.kind != Kind::Comment {
                range = Some(range.map_or(self.pos..self.pos + 1, |r| r.start..self.pos + 1));
            }
            self.pos += 1;
        }
        range.unwrap_or(self.pos..self.pos)
    }

    fn label(&mut self, range: Range<usize>) {
        if let Some(tokens) = quoted_label(&self.toks[range.clone()]) {
            self.edits.push(Edit { range, tokens });
        }
    }
}

fn punct(kind: Kind, text: &'static str) -> Token<'static> {
    Token::new(kind, text)
}

/// A label as Terraform writes it: always quoted, with escapes normalised.
fn quoted_label<'a>(toks: &[Token<'a>]) -> Option<Vec<Token<'a>>> {
    let value = match toks {
        [t] if t.kind == Kind::Ident => t.text.to_string(),
        [o, lit, c]
            if o.kind == Kind::OQuote && lit.kind == Kind::QuotedLit && c.kind == Kind::CQuote =>
        {
            let value = unescape(&lit.text)?;
            if escape(&value) == lit.text {
                return None;
            }
            value
        }
        _ => return None,
    };
    let mut out = vec![punct(Kind::OQuote, "\"")];
    let escaped = escape(&value);
    if !escaped.is_empty() {
        out.push(Token::new(Kind::QuotedLit, escaped));
    }
    out.push(punct(Kind::CQuote, "\""));
    Some(out)
}

/// `"${expr}"` → `expr`, as `terraform fmt` does for attribute values.
fn unwrap_interpolation<'a>(toks: &[Token<'a>]) -> Option<Vec<Token<'a>>> {
    let n = toks.len();
    if n < 5
        || toks[0].kind != Kind::OQuote
        || toks[1].kind != Kind::TemplateInterp
        || toks[n - 2].kind != Kind::TemplateSeqEnd
        || toks[n - 1].kind != Kind::CQuote
    {
        return None;
    }
    let inside = &toks[2..n - 2];
    let mut quotes = 0;
    for token in inside {
        match token.kind {
            Kind::OQuote => quotes += 1,
            Kind::CQuote => quotes -= 1,
            _ if quotes > 0 => {}
            Kind::TemplateInterp | Kind::TemplateSeqEnd | Kind::QuotedLit => return None,
            _ => {}
        }
    }
    let first = inside.iter().position(|t| t.kind != Kind::Newline)?;
    let last = inside.iter().rposition(|t| t.kind != Kind::Newline)?;
    let trimmed = &inside[first..=last];
    // Terraform looks for newline tokens only; a `#` comment with more after it ends a line
    // too, and unwrapped without parentheses it would cut the expression in two.
    let (all_but_last, _) = trimmed.split_at(trimmed.len() - 1);
    let multi_line = trimmed.iter().any(|t| t.kind == Kind::Newline)
        || all_but_last
            .iter()
            .any(|t| t.kind == Kind::Comment && t.is_newline());
    if multi_line && !parenthesised(trimmed) {
        let mut out = Vec::with_capacity(trimmed.len() + 2);
        out.push(punct(Kind::OParen, "("));
        out.extend(trimmed.iter().cloned());
        out.push(punct(Kind::CParen, ")"));
        return Some(out);
    }
    Some(trimmed.to_vec())
}

/// Whether the tokens are one parenthesised expression: the first `(` closes at the end.
fn parenthesised(toks: &[Token<'_>]) -> bool {
    if toks.first().map(|t| t.kind) != Some(Kind::OParen) {
        return false;
    }
    let mut depth = 0;
    for (i, token) in toks.iter().enumerate() {
        depth += token.bracket_change();
        if depth == 0 {
            return i + 1 == toks.len();
        }
    }
    false
}

/// Legacy variable types, as `terraform fmt` modernises them.
fn modern_type<'a>(toks: &[Token<'a>]) -> Option<Vec<Token<'a>>> {
    let call = |name: &'a str, arg: &'a str| {
        vec![
            Token::new(Kind::Ident, name),
            punct(Kind::OParen, "("),
            Token::new(Kind::Ident, arg),
            punct(Kind::CParen, ")"),
        ]
    };
    match toks {
        [t] if t.kind == Kind::Ident => match &*t.text {
            "list" => Some(call("list", "any")),
            "map" => Some(call("map", "any")),
            "set" => Some(call("set", "any")),
            _ => None,
        },
        [o, lit, c]
            if o.kind == Kind::OQuote && lit.kind == Kind::QuotedLit && c.kind == Kind::CQuote =>
        {
            match &*lit.text {
                "string" => Some(vec![Token::new(Kind::Ident, "string")]),
                "list" => Some(call("list", "string")),
                "map" => Some(call("map", "string")),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The value of a quoted literal without template sequences; None when an escape is invalid.
fn unescape(lit: &str) -> Option<String> {
    let mut out = String::with_capacity(lit.len());
    let mut chars = lit.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                e @ ('u' | 'U') => {
                    let digits = if e == 'u' { 4 } else { 8 };
                    let hex: String = chars.by_ref().take(digits).collect();
                    if hex.len() != digits || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return None;
                    }
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                _ => return None,
            },
            '$' | '%' if chars.peek() == Some(&c) => {
                // `$${` and `%%{` stand for `${` and `%{`.
                let mut ahead = chars.clone();
                ahead.next();
                if ahead.peek() == Some(&'{') {
                    chars.next();
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

/// hclwrite's escapeQuotedStringLit.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' | '%' => {
                out.push(c);
                if chars.peek() == Some(&'{') {
                    out.push(c);
                }
            }
            c if !is_print(c) => {
                let code = u32::from(c);
                if code < 0x10000 {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's unicode.IsPrint, approximately: not a control, format, separator or private-use
/// character (the plain space excepted).
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(u32::from(c),
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xE000..=0xF8FF | 0xE0001 | 0xE0020..=0xE007F | 0xF0000..=0x10FFFF)
}

// ---------------------------------------------------------------------------------------------
// Formatting: hclwrite's format(), pass for pass. Each line is cut into up to three cells:
// `lead`, `assign` (from the `=` of a one-line attribute) and `comment` (a trailing `#` or `//`
// comment); indentation comes from bracket nesting, spacing from the neighbouring tokens, and
// the `assign` and `comment` cells line up across consecutive lines that have them.

struct Line {
    lead: Range<usize>,
    assign: Option<Range<usize>>,
    comment: Option<Range<usize>>,
}

fn format_tokens(toks: &mut [Token<'_>]) {
    let mut lines = lines_for_format(toks);
    format_indent(toks, &lines);
    format_spaces(toks, &lines);
    format_cells(toks, &mut lines);
}

fn lines_for_format(toks: &[Token<'_>]) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, token) in toks.iter().enumerate() {
        if token.is_newline() {
            lines.push(start..i + 1);
            start = i + 1;
        }
    }
    lines.push(start..toks.len());
    lines
        .into_iter()
        .map(|mut lead| {
            let mut line = Line {
                lead: lead.clone(),
                assign: None,
                comment: None,
            };
            if lead.len() > 1 && toks[lead.end - 1].kind == Kind::Comment {
                line.comment = Some(lead.end - 1..lead.end);
                lead.end -= 1;
            }
            if let Some(eq) = lead.clone().skip(1).find(|&i| toks[i].kind == Kind::Equal) {
                let net: i64 = toks[eq..lead.end].iter().map(Token::bracket_change).sum();
                if net == 0 {
                    line.assign = Some(eq..lead.end);
                    lead.end = eq;
                }
            }
            line.lead = lead;
            line
        })
        .collect()
}

fn format_indent(toks: &mut [Token<'_>], lines: &[Line]) {
    let mut indents: Vec<i64> = Vec::new();
    for line in lines {
        if line.lead.is_empty() {
            continue;
        }
        if toks[line.lead.start].kind == Kind::Newline {
            toks[line.lead.start].spaces = 0;
            continue;
        }
        let mut net = 0;
        for token in &toks[line.lead.clone()] {
            net += token.bracket_change();
            if token.kind == Kind::OHeredoc {
                break;
            }
        }
        if let Some(assign) = &line.assign {
            net += toks[assign.clone()]
                .iter()
                .map(Token::bracket_change)
                .sum::<i64>();
        }
        if net > 0 {
            toks[line.lead.start].spaces = 2 * indents.len();
            indents.push(net);
            continue;
        }
        let mut closed = -net;
        while closed > 0 {
            let Some(top) = indents.last_mut() else { break };
            if closed > *top {
                closed -= *top;
                indents.pop();
            } else if closed < *top {
                *top -= closed;
                closed = 0;
            } else {
                indents.pop();
                closed = 0;
            }
        }
        toks[line.lead.start].spaces = 2 * indents.len();
    }
}

fn format_spaces(toks: &mut [Token<'_>], lines: &[Line]) {
    for line in lines {
        space_cell(toks, line.lead.clone());
        if let Some(assign) = &line.assign {
            // The first token of an assignment, its `=`, always has a space before it.
            toks[assign.start].spaces = 1;
            space_cell(toks, assign.clone());
        }
    }
}

fn space_cell(toks: &mut [Token<'_>], cell: Range<usize>) {
    for i in cell.clone() {
        if i + 1 >= cell.end {
            break;
        }
        let before = (i > cell.start).then(|| toks[i - 1].kind);
        let space = space_after(&toks[i], before, &toks[i + 1]);
        toks[i + 1].spaces = usize::from(space);
    }
}

/// hclwrite's spaceAfterToken: whether `subject` is followed by a space, given the tokens
/// around it (`before` is None at the start of a cell).
fn space_after(subject: &Token<'_>, before: Option<Kind>, after: &Token<'_>) -> bool {
    use Kind::*;
    let s = subject.kind;
    let a = after.kind;
    match () {
        _ if a == Newline => false,
        _ if s == Ident && a == OParen => false,
        _ if (s == Ident && a == DoubleColon) || (s == DoubleColon && a == Ident) => false,
        _ if s == Dot || a == Dot => false,
        _ if a == Comma || a == Ellipsis => false,
        _ if s == Comma => true,
        _ if matches!(s, QuotedLit | StringLit | OQuote | OHeredoc)
            || matches!(a, QuotedLit | StringLit | CQuote | CHeredoc) =>
        {
            false
        }
        _ if s == Ident && subject.text == "in" && before == Some(Ident) => true,
        _ if a == OBrack && (s == Ident || s == Number || subject.bracket_change() < 0) => false,
        _ if s == Bang => false,
        _ if s == Minus => !matches!(
            before,
            None | Some(
                OParen
                    | OBrace
                    | OBrack
                    | Equal
                    | Colon
                    | Comma
                    | Question
                    | Plus
                    | Star
                    | Slash
                    | Percent
                    | Minus
                    | EqualOp
                    | NotEqual
                    | Gt
                    | GtEq
                    | Lt
                    | LtEq
                    | And
                    | Or
                    | Bang
            )
        ),
        _ if s == OBrace || a == CBrace => !(s == OBrace && a == CBrace),
        _ if matches!(s, TemplateInterp | TemplateControl) && a == OBrace => true,
        _ if s == CBrace && a == TemplateSeqEnd => true,
        _ if s == TemplateSeqEnd && matches!(a, TemplateInterp | TemplateControl) => false,
        _ if subject.bracket_change() > 0 => false,
        _ if after.bracket_change() < 0 => false,
        _ => true,
    }
}

fn format_cells(toks: &mut [Token<'_>], lines: &mut [Line]) {
    // `=` first: moving it moves the comments after it.
    let assigns: Vec<Option<(usize, usize)>> = lines
        .iter()
        .map(|l| {
            l.assign
                .as_ref()
                .map(|a| (a.start, columns(&toks[l.lead.clone()])))
        })
        .collect();
    for (run, width) in runs(&assigns) {
        for (first, cols) in run {
            toks[first].spaces = width - cols + 1;
        }
    }
    let comments: Vec<Option<(usize, usize)>> = lines
        .iter()
        .map(|l| {
            l.comment.as_ref().map(|c| {
                let assign = l.assign.clone().map_or(0, |a| columns(&toks[a]));
                (c.start, columns(&toks[l.lead.clone()]) + assign)
            })
        })
        .collect();
    for (run, width) in runs(&comments) {
        for (first, cols) in run {
            toks[first].spaces = width - cols + 1;
        }
    }
}

/// Runs of consecutive lines that have a cell, each with the widest width before the cell.
fn runs(cells: &[Option<(usize, usize)>]) -> Vec<(Vec<(usize, usize)>, usize)> {
    let mut out = Vec::new();
    for group in cells.split(Option::is_none) {
        let run: Vec<(usize, usize)> = group.iter().flatten().copied().collect();
        if let Some(width) = run.iter().map(|&(_, cols)| cols).max() {
            out.push((run, width));
        }
    }
    out
}

/// The columns tokens take: their spaces plus their characters, counting a combining
/// sequence, a CRLF or a flag as one, as hclwrite counts grapheme clusters.
fn columns(toks: &[Token<'_>]) -> usize {
    toks.iter().map(|t| t.spaces + graphemes(&t.text)).sum()
}

fn graphemes(text: &str) -> usize {
    let mut count = 0;
    let mut prev: Option<char> = None;
    let mut pending_flag = false;
    for c in text.chars() {
        let joins = match prev {
            Some('\r') => c == '\n',
            Some('\u{200d}') => true,
            Some(_) => is_extend(c) || c == '\u{200d}' || (pending_flag && is_regional(c)),
            None => false,
        };
        pending_flag = if is_regional(c) {
            !(joins && pending_flag)
        } else {
            false
        };
        if !joins {
            count += 1;
        }
        prev = Some(c);
    }
    count
}

fn is_regional(c: char) -> bool {
    ('\u{1f1e6}'..='\u{1f1ff}').contains(&c)
}

fn is_extend(c: char) -> bool {
    matches!(u32::from(c),
        0x300..=0x36F | 0x483..=0x489 | 0x591..=0x5BD | 0x610..=0x61A | 0x64B..=0x65F
        | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x200C | 0x20D0..=0x20FF | 0xFE00..=0xFE0F
        | 0xFE20..=0xFE2F | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F | 0xE0100..=0xE01EF)
}

#[cfg(test)]
mod tests {
    //! The corpus under `tests/fmt/`: `input/NAME.hcl` are messy files, `terraform/NAME.hcl`
    //! what Terraform 1.11.4 made of them, regenerated with
    //! `tests/fmt/regenerate.sh` (run until stable: see there).
    //! Every case must come out byte for byte as Terraform's.

    use super::*;
    use std::path::{Path, PathBuf};

    fn corpus() -> Vec<(String, String, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fmt");
        let mut names: Vec<PathBuf> = std::fs::read_dir(root.join("input"))
            .expect("tests/fmt/input")
            .map(|e| e.expect("corpus entry").path())
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|path| {
                let name = path
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .to_string();
                let input = std::fs::read_to_string(&path).expect("read input");
                let expected = std::fs::read_to_string(root.join("terraform").join(&name))
                    .expect("every input has terraform's output beside it");
                (name, input, expected)
            })
            .collect()
    }

    fn fmt(text: &str) -> String {
        format_source(text).unwrap_or_else(|e| panic!("format failed: {e}\n{text}"))
    }

    /// The first line where two texts differ, for a readable failure.
    fn first_difference(got: &str, want: &str) -> String {
        let mut got_lines = got.split_inclusive('\n');
        let mut want_lines = want.split_inclusive('\n');
        for line in 1.. {
            match (got_lines.next(), want_lines.next()) {
                (None, None) => break,
                (g, w) if g == w => continue,
                (g, w) => return format!("line {line}:\n  got:       {g:?}\n  terraform: {w:?}"),
            }
        }
        String::from("no difference")
    }

    #[test]
    fn corpus_matches_terraform_byte_for_byte() {
        let cases = corpus();
        assert!(cases.len() >= 10, "the corpus went missing");
        for (name, input, expected) in cases {
            let got = fmt(&input);
            assert!(
                got == expected,
                "{name} differs from terraform fmt at {}",
                first_difference(&got, &expected)
            );
        }
    }

    #[test]
    fn corpus_is_idempotent() {
        for (name, input, expected) in corpus() {
            let once = fmt(&input);
            assert_eq!(fmt(&once), once, "{name}: a second run changed the output");
            assert_eq!(
                fmt(&expected),
                expected,
                "{name}: terraform's output is not stable"
            );
        }
    }

    fn comments(text: &str) -> Vec<String> {
        lex(text)
            .into_iter()
            .filter(|t| t.kind == Kind::Comment)
            // The newline that ends a `#` comment belongs to the line, which may gain one at
            // the end of the file.
            .map(|t| t.text.trim_end_matches('\n').to_string())
            .collect()
    }

    #[test]
    fn comments_survive_byte_for_byte() {
        let mut inputs: Vec<(String, String)> = corpus()
            .into_iter()
            .map(|(name, input, _)| (name, input))
            .collect();
        inputs.push((
            "everywhere".into(),
            concat!(
                "# head   comment\n",
                "resource /* before labels */ \"a\" /* between */ \"b\" /* after */ { # open\n",
                "  x = /* before value */ 1 /* after value */\n",
                "  y = [ # in a list\n",
                "    1, /* item */ 2, // tail\n",
                "  ]\n",
                "  z = {\n",
                "    /* own line */\n",
                "    k = \"v\" #   spaced   \n",
                "  }\n",
                "  /* multi\n",
                "        line */\n",
                "} // close\n",
                "//no newline at the end",
            )
            .into(),
        ));
        for (name, input) in inputs {
            let output = fmt(&input);
            if name == "everywhere" {
                assert_eq!(comments(&input).len(), 15);
            }
            assert_eq!(
                comments(&output),
                comments(&input),
                "{name}: a comment changed"
            );
        }
    }

    #[test]
    fn comments_between_labels_are_kept() {
        // Terraform drops these; we keep them rather than lose what someone wrote.
        insta::assert_snapshot!(
            fmt("resource /* a */ foo /* b */ \"bar\" {\nx=1\n}\n"),
            @r#"
        resource /* a */ "foo" /* b */ "bar" {
          x = 1
        }
        "#
        );
    }

    #[test]
    fn labels_terraform_would_drop_are_kept() {
        insta::assert_snapshot!(
            fmt("resource \"a$b\" \"c%d\" {}\nresource \"x$${y}\" \"\" {}\n"),
            @r#"
        resource "a$b" "c%d" {}
        resource "x$${y}" "" {}
        "#
        );
    }

    #[test]
    fn rewrites_terraform_makes() {
        let input = concat!(
            "variable \"v\" {\n",
            "  type = \"list\"\n",
            "  default = \"${[\"a\"]}\"\n",
            "}\n",
            "resource inferform_data \"caf\\u00e9\\u00a0\" {\n",
            "  input = \"${\n    var.v\n  }\"\n",
            "  output = \"${var.a ? 1\n  : 2}\"\n",
            "}\n",
        );
        insta::assert_snapshot!(fmt(input), @r#"
        variable "v" {
          type    = list(string)
          default = ["a"]
        }
        resource "inferform_data" "café\u00a0" {
          input = var.v
          output = (var.a ? 1
          : 2)
        }
        "#);
    }

    #[test]
    fn line_endings_and_file_edges_follow_terraform() {
        // Each expected text is what `terraform fmt` wrote for the input.
        let cases = [
            ("", "\n"),
            ("\n", "\n"),
            ("a = \"x\"", "a = \"x\"\n"),
            ("a = 1 # c", "a = 1 # c\n"),
            ("\u{feff}a=1\n", "a = 1\n"),
            ("\n\n# lead\na=1\n\n\n", "\n\n# lead\na = 1\n\n\n"),
            (
                "a = 1\r\nbb = 2 # c\r\nblock {\r\n  x = <<EOT\r\n  y\r\nEOT\r\n}\r\n",
                "a  = 1\r\nbb = 2 # c\r\nblock {\r\n  x = <<EOT\r\n  y\r\nEOT\r\n}\r\n",
            ),
            // Terraform keeps these spaces and drops them on its next run; we drop them now.
            ("a {}   ", "a {}\n"),
        ];
        for (input, expected) in cases {
            assert_eq!(fmt(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn string_content_is_never_touched() {
        // Terraform refuses newlines inside quotes; hcl-edit accepts them. Either way the text
        // between the quotes, like a heredoc's, is content and comes out as it went in.
        let input = "a   =   \"x  \n   ${ b }  \n y\"\nc = <<EOT\n  ${ d }  \n\tEOTX  x\nEOT\n";
        insta::assert_snapshot!(fmt(input), @r#"
        a = "x  
           ${b}  
         y"
        c = <<EOT
          ${d}  
        	EOTX  x
        EOT
        "#);
    }

    #[test]
    fn syntax_errors_are_reported_not_formatted() {
        let err = format_source("resource \"a\" \"b\" {\n  x = \n}\n").unwrap_err();
        let FormatError::Syntax(inner) = &err else {
            panic!("expected a syntax error, got {err:?}");
        };
        assert_eq!(inner.location().line(), 2);
        insta::assert_snapshot!(
            err.to_string(),
            @"syntax error: invalid expression; expected `\"`, `[`, `{`, `-`, `!`, `(`, `_`, `<`, letter or digit"
        );
    }

    #[test]
    fn odd_inputs_never_panic() {
        let mut inputs: Vec<String> = [
            "",
            " ",
            "\t",
            "\r",
            "\r\n",
            "}",
            "{",
            "\"",
            "${",
            "%{",
            "~}",
            "<<",
            "<<EOT",
            "<<EOT\n",
            "a = <<EOT\nx",
            "a = <<EOT\nEOT",
            "a = <<-EOT\n  EOT",
            "/*",
            "/* x",
            "#",
            "//",
            "a",
            "a =",
            "a = \"\\",
            "a = \"\\u12\"",
            "a = 1..2",
            "a = 1e",
            "a = 1.e5",
            "a = x.0.1",
            "a = \"${\"${\"${x}\"}\"}\"",
            "a = \"%{if x}%{endif}\"",
            "a { b { c { d = [[[[1]]]] } } }",
            "ü = 1",
            "a = \"\u{0}\"",
            "a = \"é\u{301}\" # c\nbb = 2 # d\n",
            "a = [\n]]",
            "a = {\n}}\n",
            "x = <<EOT\n${\n1\n}\nEOT\n",
            "x = \"${ {} }\"",
            "x = -\n",
            "a = 1\n\u{2028}\n",
            "\u{feff}",
            "\u{feff}\u{feff}",
            "a\u{0}= 1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (_, input, _) in corpus() {
            let chars: Vec<(usize, char)> = input.char_indices().collect();
            for step in (0..chars.len()).step_by(7) {
                let (at, c) = chars[step];
                inputs.push(input[..at].to_string());
                let end = at + c.len_utf8();
                inputs.push(format!("{}{}", &input[..at], &input[end..]));
                for insert in ["{", "}", "\"", "$", "%{", "\n", "#", "<<EOT\n", "(", "~"] {
                    inputs.push(format!("{}{insert}{}", &input[..at], &input[at..]));
                }
            }
        }
        for input in inputs {
            if let Ok(once) = format_source(&input) {
                assert!(once.ends_with('\n'));
                let twice = format_source(&once)
                    .unwrap_or_else(|e| panic!("output does not format: {e}\n{once}"));
                assert_eq!(twice, once, "not idempotent for {input:?}");
            }
        }
    }

    #[test]
    fn graphemes_count_like_hclwrite() {
        assert_eq!(graphemes("abc"), 3);
        assert_eq!(graphemes("e\u{301}"), 1);
        assert_eq!(graphemes("\r\n"), 1);
        assert_eq!(graphemes("\u{1f1eb}\u{1f1f7}\u{1f1e9}\u{1f1ea}"), 2);
        assert_eq!(graphemes("\u{1f469}\u{200d}\u{1f4bb}"), 1);
    }
}
