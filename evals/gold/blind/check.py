#!/usr/bin/env python3
"""Self-check for companies8.jsonl and drafts8.jsonl (standard library only).
Hard errors: quote not verbatim in the cited dump, quote length outside 6-40,
fact not found in any cited file, duplicate ids, count requirements, malformed fields.
Soft warnings: the quote's position does not look like it lies inside the cited
question's answer (heuristic on printed question markers)."""
import json, os, re, sys, collections
ROOT = os.path.dirname(os.path.abspath(__file__))
REC = os.path.join(os.path.dirname(ROOT), 'records')
CJK = re.compile(r'[\u4e00-\u9fff]')
_cache = {}

def text(f):
    if f not in _cache:
        p = os.path.join(REC, f + '.txt')
        _cache[f] = open(p, encoding='utf-8').read() if os.path.exists(p) else None
    return _cache[f]

HEAD = '投资者关系活动主要内容介绍'
# question markers: at line start, or glued after sentence end
MARK = re.compile(r'(?:^|\n|[。！？!?）)])\s*(?:Q\s*(\d{1,2})\s*[、.．：:]|(?:问题|问)?\s*(\d{1,2})\s*(?:[、．：:]|\.(?!\d)))', re.M)

def position_ok(t, quote, q):
    """Return True if some occurrence of quote sits where q says it should."""
    h = t.find(HEAD)
    for m in re.finditer(re.escape(quote), t):
        i = m.start()
        if q == 'record':
            if h < 0 or i < h:
                return True
            continue
        if h >= 0 and i < h:
            continue
        body = t[h if h >= 0 else 0:i]
        if q == 'intro':
            if not MARK.search(body) and body.count('问：') == 0:
                return True
            # intro may contain numbered headings (一、/二、) only
            if not re.search(r'\n\s*(?:Q|问题)?\s*1\s*[、.．：:]', body):
                return True
            continue
        marks = [int(x.group(1) or x.group(2)) for x in MARK.finditer(body)]
        if marks and marks[-1] == q:
            return True
        if body.count('问：') + body.count('问:') == q and not marks:
            return True
        if body.count('问：') + body.count('问:') == q:
            return True
    return False

# Known numbering quirks checked by hand: the heuristic marker parser is fooled here.
KNOWN = {
    ('20241010', 49): 'question 49 contains its own sub-numbering (1、…2、…) before the answer',
    ('20250509', 5): 'question 5 is printed as "5.24年…" (number glued to a year), so the marker is not parsed',
}

def known(f, q):
    return any(k[0] in f and k[1] == q for k in KNOWN)

def main():
    errs, warns = [], []
    qs = [json.loads(l) for l in open(os.path.join(ROOT, 'companies8.jsonl'), encoding='utf-8') if l.strip()]
    ids = collections.Counter(o['id'] for o in qs)
    for k, v in ids.items():
        if v > 1:
            errs.append('duplicate id ' + k)
    short = {'fact': 'fact', 'paraphrase': 'para', 'cross-lingual': 'xl', 'multi-hop': 'multi', 'metadata': 'meta', 'unanswerable': 'unans'}
    for o in qs:
        i = o['id']
        if not re.fullmatch(r'c8-(zh|en)-(fact|para|xl|multi|meta|unans)-\d{3}', i):
            errs.append(i + ' bad id')
        if i.split('-')[1] != o['lang'] or i.split('-')[2] != short[o['kind']]:
            errs.append(i + ' id does not match lang/kind')
        if o['lang'] == 'en' and CJK.search(o['question']):
            errs.append(i + ' English question contains CJK')
        if o['kind'] == 'cross-lingual' and o['lang'] != 'en':
            errs.append(i + ' cross-lingual must be en')
        if o['kind'] == 'unanswerable':
            if o['expected'] or o['facts']:
                errs.append(i + ' unanswerable with expected/facts')
            continue
        if not o['expected']:
            errs.append(i + ' no expected')
        if o['kind'] == 'multi-hop' and len({(e['file'], str(e['q'])) for e in o['expected']}) < 2:
            errs.append(i + ' multi-hop with <2 passages')
        files = set()
        for e in o['expected']:
            t = text(e['file'])
            if t is None:
                errs.append(i + ' missing file ' + e['file']); continue
            if not e['file'].split('/')[0].endswith(o['company']):
                errs.append(i + ' cites another company ' + e['file'])
            files.add(e['file'])
            qu = e['quote']
            if not (6 <= len(qu) <= 40):
                errs.append('%s quote length %d: %s' % (i, len(qu), qu))
            if qu not in t:
                errs.append('%s quote not found in %s: %s' % (i, e['file'], qu))
            elif not position_ok(t, qu, e['q']) and not known(e['file'], e['q']):
                warns.append('%s quote position? q=%s %s: %s' % (i, e['q'], e['file'].split('/')[1][:40], qu))
        for fct in o['facts']:
            if not any(fct in text(f) for f in files):
                errs.append('%s fact not in cited files: %s' % (i, fct))
            elif not any(fct in e['quote'] for e in o['expected']):
                # fact should be in a cited passage: check near the quote (same paragraph)
                ok = False
                for e in o['expected']:
                    t = text(e['file']); j = t.find(e['quote'])
                    seg = t[max(0, t.rfind('\n', 0, j)): t.find('\n', j + len(e['quote'])) if t.find('\n', j + len(e['quote'])) > 0 else len(t)]
                    if fct in seg:
                        ok = True
                if not ok:
                    warns.append('%s fact not in the quoted line(s): %s' % (i, fct))
    n = len(qs)
    by = collections.Counter((o['kind'], o['lang']) for o in qs)
    comp = collections.Counter(o['company'] for o in qs)
    en = sum(o['lang'] == 'en' for o in qs)
    un = sum(o['kind'] == 'unanswerable' for o in qs)
    ts = sum(o['time_sensitive'] for o in qs)
    nc = sum(o.get('names_company') is False for o in qs)
    print('questions', n, 'en', en, '(%.1f%%)' % (100 * en / max(n, 1)), 'unans', un, '(%.1f%%)' % (100 * un / max(n, 1)), 'ts', ts, 'no-company', nc)
    print('by kind x lang', dict(sorted(by.items())))
    print('by company', dict(comp))
    if n < 170: errs.append('fewer than 170 questions')
    if en < 0.4 * n: errs.append('English < 40%')
    if un < 0.15 * n: errs.append('unanswerable < 15%')
    if ts < 30: errs.append('time-sensitive < 30')
    if nc < 10: errs.append('no-company < 10')
    for c in ['300499', '300502', '300474', '301611', '002156', '000977', '300666', '301269']:
        if comp[c] < 10: errs.append('company %s has %d questions' % (c, comp[c]))
    # drafts
    dp = os.path.join(ROOT, 'drafts8.jsonl')
    if os.path.exists(dp):
        ds = [json.loads(l) for l in open(dp, encoding='utf-8') if l.strip()]
        lab = collections.Counter(d['label'] for d in ds)
        dc = collections.Counter(d['company'] for d in ds)
        print('drafts', len(ds), dict(lab), dict(dc))
        if len(ds) < 48: errs.append('drafts < 48')
        for L in ['supported', 'figure_differs', 'never_said']:
            if lab[L] < 16: errs.append('drafts %s < 16' % L)
        if len(set(d['id'] for d in ds)) != len(ds): errs.append('duplicate draft ids')
        for d in ds:
            i = d['id']
            if d['label'] == 'never_said':
                if d['source'] or d['past_figure'] or d['draft_figure']:
                    errs.append(i + ' never_said with source/figures')
                continue
            s = d['source']
            if not s: errs.append(i + ' no source'); continue
            t = text(s['file'])
            if t is None: errs.append(i + ' missing file'); continue
            if not s['file'].split('/')[0].endswith(d['company']): errs.append(i + ' source of other company')
            if not (6 <= len(s['quote']) <= 40): errs.append('%s quote length %d' % (i, len(s['quote'])))
            if s['quote'] not in t: errs.append('%s quote not found: %s' % (i, s['quote']))
            elif not position_ok(t, s['quote'], s['q']): warns.append('%s quote position? q=%s %s' % (i, s['q'], s['quote']))
            if d['label'] == 'figure_differs':
                pf, nf = d['past_figure'], d['draft_figure']
                if not pf or not nf: errs.append(i + ' missing figures'); continue
                if pf not in s['quote']: errs.append(i + ' past_figure not in quote: ' + pf)
                if nf not in d['draft']: errs.append(i + ' draft_figure not in draft: ' + nf)
                if pf in d['draft']: errs.append(i + ' past figure still in draft')
            else:
                if d['past_figure'] or d['draft_figure']:
                    if d['past_figure'] and d['past_figure'] not in d['draft']:
                        errs.append(i + ' supported past_figure not in draft')
    for w in warns: print('WARN', w)
    for e in errs: print('ERROR', e)
    print('errors', len(errs), 'warnings', len(warns))
    return 1 if errs else 0

if __name__ == '__main__':
    sys.exit(main())
