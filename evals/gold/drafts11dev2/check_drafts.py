"""Check the draft files in drafts-dev2/ against the record dumps in records/ (standard library only), as given to
the session-18 helper (it ran it as check_drafts_dev2.py; its output is ../drafts11dev2.jsonl).

python3 check_drafts.py   # all files in drafts-dev2/
"""

import collections
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent

LABELS = {"supported", "figure_differs", "never_said"}


def passages(code):
    text = (HERE / "records" / f"{code}.txt").read_text(encoding="utf-8")
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
    errors, seen, cache = [], set(), {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for n, r in enumerate(rows, 1):
        where = f"{path.name}:{n} {r.get('id')}"
        for f in ("id", "company", "lang", "draft", "label", "past_figure", "draft_figure", "source"):
            if f not in r:
                errors.append(f"{where}: missing {f}")
        if r.get("id") in seen:
            errors.append(f"{where}: duplicate id")
        seen.add(r.get("id"))
        if r.get("label") not in LABELS:
            errors.append(f"{where}: label {r.get('label')!r}")
        code = r.get("company")
        if code not in cache:
            cache[code] = passages(code)
        ps, label, draft = cache[code], r.get("label"), norm(r.get("draft", ""))
        if label == "never_said":
            if r.get("source") or r.get("past_figure") or r.get("draft_figure"):
                errors.append(f"{where}: never_said has no source, past_figure or draft_figure")
            continue
        src = r.get("source")
        if src not in ps:
            errors.append(f"{where}: no passage [[{src}]] in records/{code}.txt")
            continue
        text = norm(ps[src])
        past = r.get("past_figure")
        if label == "figure_differs":
            if not past or not r.get("draft_figure"):
                errors.append(f"{where}: figure_differs needs past_figure and draft_figure")
                continue
            if norm(past) not in text:
                errors.append(f"{where}: past_figure {past!r} not in its source passage")
            if norm(r["draft_figure"]) not in draft:
                errors.append(f"{where}: draft_figure not in the draft")
            if norm(past) in draft:
                errors.append(f"{where}: the past figure is still in the draft")
        if label == "supported" and past and norm(past) not in text:
            errors.append(f"{where}: past_figure {past!r} not in its source passage")
    c = collections.Counter(r.get("label") for r in rows)
    print(f"{path.name}: {len(rows)} drafts; {dict(c)}")
    return errors


files = [Path(a) for a in sys.argv[1:]] or sorted((HERE / "drafts-dev2").glob("*.jsonl"))
errs = [e for f in files for e in check(f)]
print("\n".join(errs))
print(f"{len(errs)} errors")
sys.exit(1 if errs else 0)
