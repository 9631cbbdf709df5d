#!/usr/bin/env python3
"""Generate afinn_cases.tsv: texts scored by the reference AFINN implementation.

The reference is the PyPI package ``afinn`` 0.1 by Finn Årup Nielsen, the
word list's author (``Afinn().score(text)``, English, no emoticons). The Rust
scorer in ``examples/tweet_sentiment/afinn.rs`` is tested against every row.

Usage (a dev tool; nothing in the build runs it)::

    python3 -m pip install afinn==0.1
    # optional: texts from the demo's generator, one "GEN<TAB>escaped" a line,
    # printed by the ignored test generator::tests::dump_generated_texts
    cargo test --example tweet_sentiment dump_generated_texts -- --ignored --nocapture \\
        | grep '^GEN' > /tmp/generated.txt
    python3 examples/data/make_afinn_cases.py --generated /tmp/generated.txt \\
        > examples/data/afinn_cases.tsv

Output: comment lines starting with ``#``, then ``score<TAB>text`` rows. The
text is escaped: ``\\\\`` backslash, ``\\t`` tab, ``\\n`` newline, ``\\r``
carriage return, ``\\u{HEX}`` any other control character (category Cc) and
U+2028 / U+2029, so that every row is one line.
"""

import argparse
import importlib.metadata
import platform
import sys
import unicodedata

from afinn import Afinn

# Hand-written cases: each probes one rule of the reference's matching
# (``find_all``: whitespace runs -> one space, lower-case, then the regex
# ``\b(?:longest|...|shortest)\b`` over all entries).
CASES = [
    # empty and blank
    "",
    " ",
    "\t\t",
    "   \n  ",
    # single words, case
    "good",
    "Good",
    "GOOD",
    "gOoD",
    "I love this",
    "I LOVE THIS",
    "LoVe it",
    "this is bad",
    "This is oh so bad.",
    "Good and bad",
    "good good good",
    "hate hate love",
    # multi-word phrases
    "does not work",
    "Does Not Work!",
    "DOES NOT WORK",
    "this app does not work at all",
    "does not working",
    "does not workout",
    "does not works",
    "does not work.",
    "(does not work)",
    "does-not-work",
    "doesnot work",
    "does not",
    "not work",
    "cool stuff",
    "Cool stuff!",
    "cool stuffs",
    "cool",
    "so cool stuff",
    "no fun",
    "no fun fun",
    "no funny",
    "nofun",
    "No fun at all",
    "no",
    "not good",
    "not good good",
    "not not good",
    "good not good",
    "not working",
    "not  working",
    "fed up",
    "fed-up",
    "screwed up",
    "messing up",
    "bad luck",
    "bad luckily",
    "best damn",
    "best damn thing",
    "best",
    "damn",
    "damn good",
    "damn good damn",
    "damn cute",
    "fucking amazing",
    "fucking amazingly",
    "fucking",
    "fucking fucking amazing",
    "right direction",
    "right  direction",
    "green wash",
    "green washing",
    "green washer",
    "cashing in",
    "cashing into",
    "kind of",
    "kind",
    "kind of kind",
    "some kind of idiot",
    "some kind",
    "some kinds",
    "a kind of magic",
    # whitespace between phrase words: any run of Unicode whitespace
    "does  not work",
    "does\tnot\twork",
    "does\nnot\r\nwork",
    "does \t \n not work",
    "does\u00a0not work",
    "does\u2003not\u3000work",
    "not\u0085good",
    "not\x0bgood",
    "not\x0cgood",
    "not\x1cgood",
    "not\x1fgood",
    "not\u2028good",
    "not\u200bgood",
    "not\u180egood",
    "not\ufeffgood",
    # apostrophes
    "can't stand",
    "Can't stand it",
    "CAN'T STAND",
    "can\u2019t stand",
    "cant stand",
    "can't  stand",
    "can''t stand",
    "don't like",
    "dont like",
    "DONT LIKE it",
    "dont  like",
    "i don't like mondays",
    "won't",
    "isn't good",
    "good's",
    "'good'",
    "good\u02bcs",
    "good\u2019s",
    # hyphens and compounds
    "cover-up",
    "cover up",
    "coverup",
    "cover--up",
    "well-being",
    "well being",
    "self-confident",
    "self confident",
    "once-in-a-lifetime",
    "once in a lifetime",
    "once-in-a-lifetime-deal",
    "son-of-a-bitch",
    "son of a bitch",
    "short-sighted",
    "short-sightedness",
    "short-sighted-ness",
    "game-changing",
    "ill-fated",
    "non-approved",
    "environment-friendly",
    "good-bad",
    "-good-",
    # punctuation next to words
    "good!",
    "(good)",
    "good,bad",
    "good.bad",
    "\"good\"",
    "good...",
    "good?!",
    "good;bad:love",
    "good/bad",
    "<good>",
    "[good]{bad}",
    "good_bad",
    "_good_",
    "good__",
    "good2",
    "2good",
    "goods",
    "ungood",
    # numbers
    "gr8",
    "GR8 stuff",
    "gr8t",
    "n00b",
    "N00B",
    "10/10 would recommend",
    "100% good",
    "123",
    "-5 good",
    "3.14 bad",
    # hashtags, mentions, URLs
    "#good",
    "#love #hate #fail",
    "#HappyDays",
    "#happy_days",
    "#not_good",
    "#notgood",
    "@happy",
    "@happy_user",
    "@love123",
    "https://good.example.com/bad?x=love",
    "http://t.co/abc123",
    "www.love.com",
    "mail me: happy@love.com",
    # emoji and emoticons (not in the word list)
    "\U0001f600",
    "I \u2764\ufe0f this",
    "good\U0001f600",
    "\U0001f600good\U0001f600",
    "\U0001f44dgreat\U0001f44d",
    ":)",
    ":-(",
    "<3",
    ":D good",
    # non-ASCII letters and case
    "naïve",
    "NAÏVE",
    "Naïve",
    "naive",
    "nai\u0308ve",
    "Café",
    "café good",
    "très bien",
    "Das ist gut, danke",
    "super",
    "det er dejligt",
    "hyggeligt og godt",
    "Straße",
    "STRASSE",
    "ΟΔΟΣ good",
    "ΣΑΣ bad",
    "İyi good",
    "\u0130nteresting",
    "\u212aind",
    "\u212aIND OF",
    "ǅ good",
    "ｇｏｏｄ",
    "ﬁne",
    "fine",
    "\u0444\u0438\u043d good",
    "\u0928\u092e\u0938\u094d\u0924\u0947 good",
    # combining marks and other characters next to words: where Python's
    # \\w (isalnum or _) differs from Rust's char::is_alphanumeric
    "good\u0947",
    "good\u0345",
    "good\u0301",
    "goo\u0301d",
    "good\u24d0",
    "\u24d0good",
    "good\u00b2",
    "good\u00bd",
    "good\u216b",
    "good\u0663",
    "good\u00aa",
    "good\u00b5",
    "good\u02b0",
    "good\u0e31",
    "good\u0e33",
    "\u0e33good",
    "good\u1885",
    "good\u00b7",
    "good\u2010bad",
    "good\u00adbad",
    # whitespace and layout
    "good   bad",
    "\t\tgood\t",
    "  love  ",
    "good\n\nbad",
    "line one\nline two is good\r\nthird is bad",
    "back\\slash good",
    # longer text
    "I was happy with the hotel but the wifi does not work and the staff "
    "can't stand complaints. Not good! #fail @hotel",
    "Finally some cool stuff from the team: the new build is damn good, "
    "no fun bugs, and it's a step in the right direction \U0001f389",
    "good " * 300,
]


def escape(text):
    """One-line form of `text` (see the module docstring)."""
    out = []
    for c in text:
        if c == "\\":
            out.append("\\\\")
        elif c == "\t":
            out.append("\\t")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif unicodedata.category(c) == "Cc" or c in "\u2028\u2029":
            out.append("\\u{%x}" % ord(c))
        else:
            out.append(c)
    return "".join(out)


def unescape_generated(text):
    """Inverse of the generator dump's escaping (backslash, tab, LF, CR)."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append({"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}[text[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", help='file of "GEN<TAB>escaped text" lines')
    args = parser.parse_args()

    scorer = Afinn()
    texts = list(CASES)
    generated = []
    if args.generated:
        with open(args.generated, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.startswith("GEN\t"):
                    generated.append(unescape_generated(line[4:]))
    assert len(set(texts)) == len(texts), "duplicate hand-written case"

    out = sys.stdout
    out.reconfigure(encoding="utf-8", newline="\n")
    out.write("# AFINN-165 reference scores, one case a line: score<TAB>text.\n")
    out.write(
        "# score: Afinn().score(text) of the PyPI package afinn %s (Python %s, Unicode %s),\n"
        % (
            importlib.metadata.version("afinn"),
            platform.python_version(),
            unicodedata.unidata_version,
        )
    )
    out.write("#   written as an integer (the package returns the integer sum as a float).\n")
    out.write(
        "# text escapes: \\\\ backslash, \\t tab, \\n newline, \\r carriage return, \\u{HEX} any\n"
        "#   other control character (Cc) and U+2028/U+2029. Nothing else is escaped.\n"
    )
    out.write(
        "# %d hand-written cases, then %d texts from TweetGenerator::new(2024).\n"
        % (len(texts), len(generated))
    )
    out.write("# Generated by examples/data/make_afinn_cases.py; do not edit by hand.\n")
    for text in texts + generated:
        score = scorer.score(text)
        assert score == int(score), (text, score)
        out.write("%d\t%s\n" % (int(score), escape(text)))


if __name__ == "__main__":
    main()
