"""Check gold question files in out/ against the record dumps in records/ (standard library only). As the
helpers ran it, beside /work/gold-work2/records; those dumps were not kept (they are the parsed passages).

python3 check.py            # all files in out/
python3 check.py out/300499.jsonl
"""

import collections
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
KINDS = {"fact", "paraphrase", "cross-lingual", "multi-hop", "metadata", "unanswerable"}


def passages(code, records=HERE / "records"):
    """Passage key -> text, from the dump records/<code>.txt."""
    text = (records / f"{code}.txt").read_text(encoding="utf-8")
    out, key, buf = {}, None, []
    for line in text.splitlines():
        m = re.fullmatch(r"\[\[(.+)\]\]", line.strip())
        if m or line.startswith("===================="):
            if key:
                out[key] = "\n".join(buf)
            key, buf = (m.group(1) if m else None), []
        elif key:
            buf.append(line)
    if key:
        out[key] = "\n".join(buf)
    return out


def norm(s):
    return re.sub(r"\s+", "", s)


def check(path):
    errors, seen = [], set()
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    cache = {}
    for n, r in enumerate(rows, 1):
        where = f"{path.name}:{n} {r.get('id')}"
        for f in ("id", "question", "lang", "kind", "company", "expected", "facts", "time_sensitive", "names_company"):
            if f not in r:
                errors.append(f"{where}: missing {f}")
        if r.get("id") in seen:
            errors.append(f"{where}: duplicate id")
        seen.add(r.get("id"))
        if r.get("lang") not in ("zh", "en"):
            errors.append(f"{where}: lang must be zh or en")
        if r.get("lang") == "en" and re.search(r"[\u3400-\u9fff]", r.get("question", "")):
            errors.append(f"{where}: English question with CJK")
        if r.get("kind") not in KINDS:
            errors.append(f"{where}: kind {r.get('kind')!r}")
        code = r.get("company")
        if code not in cache:
            try:
                cache[code] = passages(code)
            except FileNotFoundError:
                errors.append(f"{where}: no records/{code}.txt")
                cache[code] = {}
        ps = cache[code]
        exp = r.get("expected") or []
        if r.get("kind") == "unanswerable":
            if exp or r.get("facts"):
                errors.append(f"{where}: unanswerable must have empty expected and facts")
            continue
        if not exp:
            errors.append(f"{where}: answerable question without expected")
        for k in exp:
            if k not in ps:
                errors.append(f"{where}: no passage [[{k}]] in records/{code}.txt")
        if r.get("kind") == "multi-hop" and len(set(exp)) < 2:
            errors.append(f"{where}: multi-hop needs 2+ passages")
        texts = [norm(ps.get(k, "")) for k in exp]
        for fact in r.get("facts") or []:
            if not any(norm(fact) in t for t in texts):
                errors.append(f"{where}: fact {fact!r} in none of its expected passages")
    c = collections.Counter((r.get("lang"), r.get("kind")) for r in rows)
    print(
        f"{path.name}: {len(rows)} questions; en {sum(v for (lang, _), v in c.items() if lang == 'en')}; "
        f"unanswerable {sum(v for (_, k), v in c.items() if k == 'unanswerable')}; "
        f"time-sensitive {sum(bool(r.get('time_sensitive')) for r in rows)}; "
        f"naming no company {sum(not r.get('names_company', True) for r in rows)}"
    )
    return errors


def main(check, default_folder):
    """Check the files named on the command line (else every .jsonl of ``default_folder``); exit 1 on errors."""
    files = [Path(a) for a in sys.argv[1:]] or sorted(default_folder.glob("*.jsonl"))
    errs = [e for f in files for e in check(f)]
    print("\n".join(errs))
    print(f"{len(errs)} errors")
    sys.exit(1 if errs else 0)


# importable (check_drafts.py reads the dumps with passages()); the helpers' first copy ran on import
if __name__ == "__main__":
    main(check, HERE / "out")
