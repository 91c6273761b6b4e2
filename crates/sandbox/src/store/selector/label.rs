//! Label selectors: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`,
//! `a>1`, `a<1`, joined by commas (all must hold).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::store::validation::{is_label_value, is_qualified_name};

/// How a requirement tests a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operator {
    /// The label equals one of the values (`=`, `==`, `in`).
    In(BTreeSet<String>),
    /// The label is absent or equals none of the values (`!=`, `notin`).
    NotIn(BTreeSet<String>),
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
    /// The label is an integer greater than this.
    GreaterThan(i64),
    /// The label is an integer less than this.
    LessThan(i64),
}

/// One requirement on one label key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRequirement {
    /// The label key.
    pub key: String,
    /// The test.
    pub operator: Operator,
}

impl LabelRequirement {
    fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let value = labels.and_then(|l| l.get(&self.key)).and_then(Value::as_str);
        match (&self.operator, value) {
            (Operator::In(values), Some(v)) => values.contains(v),
            (Operator::In(_), None) => false,
            (Operator::NotIn(values), Some(v)) => !values.contains(v),
            (Operator::NotIn(_), None) => true,
            (Operator::Exists, v) => v.is_some(),
            (Operator::DoesNotExist, v) => v.is_none(),
            (Operator::GreaterThan(n), Some(v)) => v.parse::<i64>().is_ok_and(|x| x > *n),
            (Operator::LessThan(n), Some(v)) => v.parse::<i64>().is_ok_and(|x| x < *n),
            (Operator::GreaterThan(_) | Operator::LessThan(_), None) => false,
        }
    }
}

/// A conjunction of label requirements; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// The requirements, all of which must hold.
    pub requirements: Vec<LabelRequirement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Not,
    Eq,
    NotEq,
    Gt,
    Lt,
    Open,
    Close,
    Comma,
}

fn tokenize(input: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' | '>' | '<' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    ',' => Token::Comma,
                    '>' => Token::Gt,
                    _ => Token::Lt,
                });
            }
            '=' => {
                chars.next();
                if chars.peek() == Some(&'=') {
                    chars.next();
                }
                tokens.push(Token::Eq);
            }
            '!' => {
                chars.next();
                if chars.peek() == Some(&'=') {
                    chars.next();
                    tokens.push(Token::NotEq);
                } else {
                    tokens.push(Token::Not);
                }
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || "()!=,<>".contains(c) {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    tokens
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    input: String,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn fail(&self, why: &str) -> ApiError {
        ApiError::bad_request(format!("unable to parse requirement: {why} (in label selector {:?})", self.input))
    }

    fn key(&mut self) -> Result<String, ApiError> {
        match self.next() {
            Some(Token::Word(w)) if is_qualified_name(&w) => Ok(w),
            Some(Token::Word(w)) => Err(self.fail(&format!("invalid label key {w:?}"))),
            _ => Err(self.fail("expected a label key")),
        }
    }

    fn value(&mut self) -> Result<String, ApiError> {
        match self.peek() {
            Some(Token::Word(w)) => {
                let w = w.clone();
                self.at += 1;
                if is_label_value(&w) { Ok(w) } else { Err(self.fail(&format!("invalid label value {w:?}"))) }
            }
            // `a=` selects the empty value.
            None | Some(Token::Comma) | Some(Token::Close) => Ok(String::new()),
            _ => Err(self.fail("expected a label value")),
        }
    }

    fn set(&mut self) -> Result<BTreeSet<String>, ApiError> {
        if self.next() != Some(Token::Open) {
            return Err(self.fail("expected '(' after in/notin"));
        }
        let mut values = BTreeSet::new();
        loop {
            values.insert(self.value()?);
            match self.next() {
                Some(Token::Comma) => continue,
                Some(Token::Close) => return Ok(values),
                _ => return Err(self.fail("expected ',' or ')' in a set of values")),
            }
        }
    }

    fn integer(&mut self) -> Result<i64, ApiError> {
        match self.next() {
            Some(Token::Word(w)) => w.parse().map_err(|_| self.fail(&format!("{w:?} is not an integer"))),
            _ => Err(self.fail("expected an integer")),
        }
    }

    fn requirement(&mut self) -> Result<LabelRequirement, ApiError> {
        if self.peek() == Some(&Token::Not) {
            self.at += 1;
            let key = self.key()?;
            return Ok(LabelRequirement { key, operator: Operator::DoesNotExist });
        }
        let key = self.key()?;
        let operator = match self.peek().cloned() {
            None | Some(Token::Comma) => Operator::Exists,
            Some(Token::Eq) => {
                self.at += 1;
                Operator::In(BTreeSet::from([self.value()?]))
            }
            Some(Token::NotEq) => {
                self.at += 1;
                Operator::NotIn(BTreeSet::from([self.value()?]))
            }
            Some(Token::Gt) => {
                self.at += 1;
                Operator::GreaterThan(self.integer()?)
            }
            Some(Token::Lt) => {
                self.at += 1;
                Operator::LessThan(self.integer()?)
            }
            Some(Token::Word(w)) if w == "in" => {
                self.at += 1;
                Operator::In(self.set()?)
            }
            Some(Token::Word(w)) if w == "notin" => {
                self.at += 1;
                Operator::NotIn(self.set()?)
            }
            Some(_) => return Err(self.fail(&format!("unexpected token after key {key:?}"))),
        };
        Ok(LabelRequirement { key, operator })
    }
}

impl LabelSelector {
    /// Parses a selector in its query-string form; an empty string selects everything.
    pub fn parse(input: &str) -> Result<Self, ApiError> {
        let mut parser = Parser { tokens: tokenize(input), at: 0, input: input.to_string() };
        let mut requirements = Vec::new();
        while parser.peek().is_some() {
            requirements.push(parser.requirement()?);
            match parser.next() {
                None | Some(Token::Comma) => {}
                Some(_) => return Err(parser.fail("expected ',' between requirements")),
            }
        }
        Ok(LabelSelector { requirements })
    }

    /// Whether the selector selects every object.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether an object with these labels is selected.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// The labels this selector requires to have exactly one value (`a=b`, `a==b`,
    /// `a in (b)`), as label and value.
    pub fn equalities(&self) -> impl Iterator<Item = (&str, &str)> {
        self.requirements.iter().filter_map(|r| match &r.operator {
            Operator::In(values) if values.len() == 1 => Some((r.key.as_str(), values.first()?.as_str())),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(s: &str) -> LabelSelector {
        LabelSelector::parse(s).expect("valid selector")
    }

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("map")
    }

    #[test]
    fn equality_and_sets() {
        let l = labels(json!({"app": "web", "tier": "front", "n": "5"}));
        assert!(sel("app=web").matches(Some(&l)));
        assert!(sel("app==web,tier").matches(Some(&l)));
        assert!(!sel("app!=web").matches(Some(&l)));
        assert!(sel("tier in (front, back)").matches(Some(&l)));
        assert!(!sel("tier notin (front)").matches(Some(&l)));
        assert!(sel("!missing").matches(Some(&l)));
        assert!(!sel("!app").matches(Some(&l)));
        assert!(sel("n>4,n<6").matches(Some(&l)));
        assert!(sel("missing notin (x)").matches(None));
        assert!(sel("").matches(None));
    }

    #[test]
    fn equalities_are_the_requirements_of_one_value() {
        let selector = sel("app=web,tier in (front),zone in (a,b),n!=1,env==prod,x");
        let found: Vec<(&str, &str)> = selector.equalities().collect();
        assert_eq!(found, vec![("app", "web"), ("tier", "front"), ("env", "prod")]);
    }

    #[test]
    fn malformed_selectors_are_bad_requests() {
        for bad in ["app in web", "=x", "app=(x)", "app in (a b)", "n>x", "-bad=x"] {
            let err = LabelSelector::parse(bad).expect_err(bad);
            assert_eq!(err.code(), 400, "{bad}");
        }
    }
}
