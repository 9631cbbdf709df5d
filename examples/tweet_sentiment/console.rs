//! A live console table of the counts, like Spark's console sink.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::afinn::Sentiment;
use crate::pipeline::parse_count_key;

/// Latest counts per window and in total.
#[derive(Debug)]
pub struct Dashboard {
    windows: BTreeMap<i64, [i64; 3]>,
    totals: [i64; 3],
    window_ms: i64,
    tty: bool,
    last_draw: Option<Instant>,
    drawn_lines: usize,
}

/// The column of a label: positive, negative, neutral.
pub fn slot(s: Sentiment) -> usize {
    match s {
        Sentiment::Positive => 0,
        Sentiment::Negative => 1,
        Sentiment::Neutral => 2,
    }
}

fn clock(ms: i64) -> String {
    let s = ms.div_euclid(1000);
    let (h, m, sec) = ((s / 3600) % 24, (s / 60) % 60, s % 60);
    format!("{h:02}:{m:02}:{sec:02}")
}

impl Dashboard {
    /// An empty table for windows of `window_ms`.
    pub fn new(window_ms: i64) -> Self {
        Dashboard {
            windows: BTreeMap::new(),
            totals: [0; 3],
            window_ms,
            tty: std::io::stdout().is_terminal(),
            last_draw: None,
            drawn_lines: 0,
        }
    }

    /// Applies one record of `sentiment-counts` (the latest count for its key).
    pub fn apply(&mut self, key: &str, count: i64) {
        match parse_count_key(key) {
            Some((label, Some(start))) => {
                self.windows.entry(start).or_default()[slot(label)] = count
            }
            Some((label, None)) => self.totals[slot(label)] = count,
            None => {}
        }
    }

    /// Running totals: positive, negative, neutral.
    pub fn totals(&self) -> [i64; 3] {
        self.totals
    }

    /// Windows seen.
    pub fn window_count(&self) -> usize {
        self.windows.len()
    }

    /// Redraws at most every 250 ms on a terminal (every 2 s otherwise), or now when
    /// `force`.
    pub fn draw(&mut self, status: &str, force: bool) {
        let every = if self.tty {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(2)
        };
        if !force && self.last_draw.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.last_draw = Some(Instant::now());
        let mut s = String::new();
        if self.tty && self.drawn_lines > 0 {
            s.push_str(&format!("\x1b[{}A\x1b[J", self.drawn_lines));
        }
        let rows: Vec<(&i64, &[i64; 3])> = self.windows.iter().rev().take(8).collect();
        s.push_str("+---------------------+----------+----------+----------+\n");
        s.push_str(&format!(
            "| window ({:>3} s, UTC) | positive | negative |  neutral |\n",
            self.window_ms / 1000
        ));
        s.push_str("+---------------------+----------+----------+----------+\n");
        for (start, c) in rows.iter().rev() {
            s.push_str(&format!(
                "| {} - {} | {:>8} | {:>8} | {:>8} |\n",
                clock(**start),
                clock(**start + self.window_ms),
                c[0],
                c[1],
                c[2]
            ));
        }
        s.push_str("+---------------------+----------+----------+----------+\n");
        let t = self.totals;
        s.push_str(&format!(
            "| running total       | {:>8} | {:>8} | {:>8} |\n",
            t[0], t[1], t[2]
        ));
        s.push_str("+---------------------+----------+----------+----------+\n");
        s.push_str(status);
        s.push('\n');
        self.drawn_lines = s.lines().count();
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(s.as_bytes());
        let _ = out.flush();
    }
}
