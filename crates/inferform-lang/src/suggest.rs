//! What messages say of the user's input: "did you mean ...?" suggestions for misspelt names,
//! and input quoted and cut to a readable length.

/// The closest candidate to `input`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(input, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A string from the input, quoted for a message, cut to 60 characters: values can be as long
/// as the input, and a message must stay a line or two.
pub fn quoted(s: &str) -> String {
    const LIMIT: usize = 60;
    let count = s.chars().count();
    if count <= LIMIT {
        return format!("{s:?}");
    }
    let kept: String = s.chars().take(LIMIT).collect();
    format!("{kept:?}… ({count} characters)")
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_close_names() {
        assert_eq!(
            super::did_you_mean("descripton", ["name", "description"]),
            Some("description")
        );
        assert_eq!(super::did_you_mean("zzz", ["name", "description"]), None);
    }
}
