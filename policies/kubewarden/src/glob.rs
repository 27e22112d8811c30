//! Image globs for `signatures[].image`: `*` matches any run of characters (`/` included) and
//! `?` exactly one; everything else matches itself.

/// Whether `pattern` matches all of `text`.
pub fn matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and how much text it has swallowed so far: on a mismatch we
    // backtrack there and let it take one more character. Linear in practice, never exponential.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some('?') => {
                p += 1;
                t += 1;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("ghcr.io/acme/*", "ghcr.io/acme/app:v1"));
        assert!(matches("ghcr.io/acme/*", "ghcr.io/acme/team/app@sha256:00"));
        assert!(matches("*", "anything"));
        assert!(matches("registry:5000/app:v?", "registry:5000/app:v2"));
        assert!(matches("*/app:*", "127.0.0.1:5000/app:v1"));
        assert!(!matches("ghcr.io/acme/*", "ghcr.io/acmex/app"));
        assert!(!matches("ghcr.io/acme/app", "ghcr.io/acme/app:v1"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("a**b", "ab"));
    }
}
