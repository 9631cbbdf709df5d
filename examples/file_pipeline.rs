//! A file-to-file pipeline through brooklet, all three APIs in one process:
//!
//! 1. Connect's [`FileSource`] tails a text file into the topic `lines` (comment lines
//!    dropped by a transform), storing its byte position in `__connect_offsets`;
//! 2. a Streams topology reads `lines`, drops blank lines and turns each line into
//!    "<words> words | <LINE IN CAPITALS>", into the topic `lines-shouted`;
//! 3. Connect's [`FileSink`] appends `lines-shouted` to an output file, committing
//!    only what it has written and fsynced.
//!
//! ```text
//! cargo run --example file_pipeline -- [--input FILE] [--output FILE] [--data DIR]
//!     [--lines N] [--follow]
//! ```
//!
//! Without `--input` it writes a sample file of `--lines` lines (default 10,000) into
//! the data directory. It waits until the output has a line for every input line, checks
//! the output against the input, and exits; with `--follow` it keeps tailing (append to
//! the input file and watch the output grow). Running it again on the same `--data`
//! resumes: lines already processed are not processed again.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use brooklet::connect::{ConnectorConfig, FileSink, FileSource, Worker, transforms};
use brooklet::streams::{Bytes, KafkaStreams, StreamsBuilder, StreamsConfig, Utf8};
use brooklet::{Broker, Error, TopicConfig};
use clap::Parser;

/// A file-to-file pipeline through brooklet's Connect and Streams APIs.
///
/// Connect's FileSource tails the input into `lines`, a Streams topology writes
/// `lines-shouted`, and Connect's FileSink appends that to the output file.
#[derive(Parser)]
struct Args {
    /// The text file to tail (default: a sample of --lines lines in the data directory).
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// The file to append to (default: output.txt in the data directory).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The data directory (the broker's log, the sample input and the output).
    #[arg(long, value_name = "DIR",
          default_value_os_t = std::env::temp_dir().join("brooklet-file-pipeline"))]
    data: PathBuf,
    /// Lines of the sample input.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    lines: usize,
    /// Keep tailing the input instead of exiting once the output is complete.
    #[arg(long)]
    follow: bool,
}

/// The transformation the stream applies, also used to check the output.
fn shout(line: &str) -> String {
    format!(
        "{:>3} words | {}",
        line.split_whitespace().count(),
        line.to_uppercase()
    )
}

/// The lines of the input that reach the output, transformed.
fn expected(input: &Path) -> std::io::Result<Vec<String>> {
    Ok(std::fs::read_to_string(input)?
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(shout)
        .collect())
}

/// A sample text: a comment, some blank lines, and sentences.
fn write_sample(path: &Path, n: usize) -> std::io::Result<()> {
    const WORDS: [&str; 12] = [
        "brooklet",
        "streams",
        "records",
        "through",
        "a",
        "log",
        "in",
        "one",
        "process",
        "with",
        "kafka",
        "semantics",
    ];
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "# sample input of the file_pipeline example")?;
    let mut x: u64 = 42;
    for i in 0..n {
        if i % 50 == 49 {
            writeln!(f)?;
            continue;
        }
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = 3 + (x >> 60) as usize;
        let words: Vec<&str> = (0..len)
            .map(|j| WORDS[(x.rotate_right(j as u32 * 5) & 0xff) as usize % WORDS.len()])
            .collect();
        writeln!(f, "line {i}: {}", words.join(" "))?;
    }
    f.flush()
}

fn count_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&args.data)?;
    let input = match &args.input {
        Some(p) => p.clone(),
        None => {
            let p = args.data.join("input.txt");
            if !p.exists() {
                write_sample(&p, args.lines)?;
            }
            p
        }
    };
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.data.join("output.txt"));
    println!(
        "brooklet file pipeline: {} -> {}",
        input.display(),
        output.display()
    );

    let broker = Broker::open(args.data.join("log"))?;
    for t in ["lines", "lines-shouted"] {
        match broker.create_topic(t, TopicConfig::new(1)) {
            Ok(()) | Err(Error::TopicExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let started = Instant::now();

    // 1. File -> `lines`, without comment lines.
    let worker = Worker::new(&broker)?;
    worker.start_source(
        FileSource::new(&input, "lines"),
        ConnectorConfig::new("file-in").transform(transforms::filter(|r| {
            !r.value.as_deref().unwrap_or_default().starts_with(b"#")
        })),
    )?;

    // 2. `lines` -> `lines-shouted`, through a stream.
    let builder = StreamsBuilder::new();
    builder
        .stream("lines", Bytes, Utf8)
        .filter(|_, line: &String| !line.trim().is_empty())
        .map_values(|line: &String| shout(line))
        .to("lines-shouted", Bytes, Utf8);
    let app = KafkaStreams::new(
        builder.build(),
        &broker,
        StreamsConfig::new("shouter").commit_interval(Duration::from_millis(200)),
    )?;
    app.start()?;

    // 3. `lines-shouted` -> file.
    worker.start_sink(
        FileSink::new(&output),
        ConnectorConfig::new("file-out")
            .topics(&["lines-shouted"])
            .offset_flush_interval(Duration::from_millis(100)),
    )?;

    let want = expected(&input)?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        for c in ["file-in", "file-out"] {
            let st = worker.status(c)?;
            if st.has_failed() {
                return Err(format!("connector {c} failed: {st:?}").into());
            }
        }
        let have = count_lines(&output);
        if args.follow {
            print!(
                "\rlines in topic: {:>8}   output lines: {have:>8}",
                worker.status("file-in")?.records()
            );
            std::io::stdout().flush()?;
        } else if have >= expected(&input)?.len() {
            break;
        } else if Instant::now() > deadline {
            return Err(format!("only {have} of {} output lines after 120 s", want.len()).into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let elapsed = started.elapsed();
    let source = worker.status("file-in")?;
    worker.stop("file-in")?;
    app.close()?;
    worker.close();

    let got: Vec<String> = std::fs::read_to_string(&output)?
        .lines()
        .map(str::to_string)
        .collect();
    let want = expected(&input)?;
    println!("input lines:     {}", count_lines(&input));
    println!(
        "into `lines`:    {} this run ({} comment line(s) dropped by the transform)",
        source.records(),
        source.tasks.iter().map(|t| t.filtered).sum::<u64>()
    );
    println!(
        "output lines:    {} in {:.2} s",
        got.len(),
        elapsed.as_secs_f64()
    );
    println!("source offset:   {:?}", worker.offsets("file-in"));
    if got == want {
        println!("check:           the output is the input, transformed, line for line");
        Ok(())
    } else {
        Err(format!(
            "the output differs from the transformed input ({} vs {} lines)",
            got.len(),
            want.len()
        )
        .into())
    }
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
