"""The shipped gold files load, and every citation they expect is a passage of the records they were written over."""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from evals.gold import load_gold
from ingest.parser import parse_file
from tests.conftest import BUNDLED, load_script

GOLD_DIR = Path(__file__).resolve().parents[2] / "evals" / "gold"


def bundled_keys() -> set[str]:
    keys: set[str] = set()
    for path in sorted(BUNDLED.rglob("*")):
        if path.suffix.lower() not in (".txt", ".docx", ".pdf"):
            continue
        record = parse_file(path)
        head = f"{record.stock_code} {record.record}"
        keys.add(head)
        if record.intro:
            keys.add(f"{head} intro")
        keys.update(f"{head} Q{pair.index}" for pair in record.pairs)
    return keys


def test_the_held_out_questions_listed_as_studied_are_held_out_ones():
    # A typo in the list would leave a studied question counted as unstudied.
    from evals.train import HELD_OUT_GOLD, studied_ids

    held = {f"gold:{q.id}" for name in HELD_OUT_GOLD for q in load_gold(GOLD_DIR / name)}
    studied = studied_ids()
    assert studied and studied <= held and len(studied) < len(held) / 4


def test_studied_ids_read_ids_and_skip_comments(tmp_path):
    from evals.train import studied_ids

    listed = tmp_path / "studied.txt"
    listed.write_text("# why\nt11-1\n\n  t11-2  \n", encoding="utf-8")
    assert studied_ids(listed) == {"gold:t11-1", "gold:t11-2"}
    assert studied_ids(tmp_path / "absent.txt") == frozenset()


def manifest_record_keys() -> set[str]:
    """``CODE RECORD`` of every record in ../shared/records, from its checked-in manifest (no PDF read)."""
    from tests.ingest.manifest import load

    return {f"{row['stock_code']} {row['record']}" for row in load().values()}


@pytest.mark.parametrize("name", ["gold.jsonl", "fresh.jsonl", "fresh2.jsonl"])
def test_gold_file_cites_only_bundled_passages(name):
    # Written over the bundled records; a question asking which meetings a person attended also cites the
    # metadata of the other records of ../shared that list that person (evals/gold/README.md, caveats).
    questions = load_gold(GOLD_DIR / name)
    known = bundled_keys() | manifest_record_keys()
    assert questions and len({q.id for q in questions}) == len(questions)
    for q in questions:
        assert set(q.expected) <= known, q.id
        assert q.expected or q.kind == "unanswerable", q.id


@pytest.mark.parametrize("name", ["companies8.jsonl", "blind11.jsonl", "blind11b.jsonl", "blind11c.jsonl"])
def test_sets_over_all_companies_are_well_formed(name):
    # Their passages are in ../shared/records, not bundled: the keys' form is checked here, their text by the
    # helpers' checkers (evals/gold/blind11/check.py) and by `irchat eval --lco`, which finds them in the index.
    from evals.gold import KINDS

    questions = load_gold(GOLD_DIR / name)
    assert len({q.id for q in questions}) == len(questions) >= 200
    for q in questions:
        assert q.kind in KINDS and q.lang in ("zh", "en") and q.company and q.company.isdigit(), q.id
        assert bool(q.expected) == (q.kind != "unanswerable"), q.id
        assert all(key.startswith(f"{q.company} ") for key in q.expected), q.id


def test_a_held_out_question_also_in_a_trained_set_is_about_the_same_company():
    # Written independently, two held-out questions came out word for word as two of companies8's. Leave-company-out
    # never trains on a company's own gold when answering it, so such a question is still held out there; one
    # about another company would not be.
    from evals.train import DEFAULT_GOLD, HELD_OUT_GOLD

    trained = {q.question: q.company for name in DEFAULT_GOLD for q in load_gold(GOLD_DIR / name)}
    held = [q for name in HELD_OUT_GOLD for q in load_gold(GOLD_DIR / name)]
    shared = [q for q in held if q.question in trained]
    assert held and len(shared) <= 2
    assert all(trained[q.question] == q.company for q in shared), [q.id for q in shared]


@pytest.mark.parametrize("name", ["drafts8.jsonl", "drafts11.jsonl", "drafts11dev.jsonl", "drafts11dev2.jsonl"])
def test_draft_sets_are_well_formed(name):
    from evals.drafts import load_drafts

    drafts = load_drafts(GOLD_DIR / name)
    assert len({d.id for d in drafts}) == len(drafts) >= 50
    for d in drafts:
        assert d.label in ("supported", "figure_differs", "never_said"), d.id
        assert (d.source is None) == (d.label == "never_said"), d.id
        assert d.source is None or d.source.startswith(f"{d.company} "), d.id
        if d.label == "figure_differs":
            assert d.past_figure and d.past_figure.replace(",", "") not in d.draft.replace(",", ""), d.id


def test_the_helpers_dump_keys_passages_as_the_index_cites_them():
    from rag.types import Chunk

    script = load_script("gold_dumps")
    common = {"company": "泽塔科技", "stock_code": "600000", "source": "/r/zeta-2024-002.pdf"}
    chunks = [
        Chunk("b", "qa", "问：产能？答：第二部分", record="2024-002", question=1, part=1, date="2024-05-01", **common),
        Chunk("a", "qa", "问：产能？答：第一部分", record="2024-002", question=1, part=0, date="2024-05-01", **common),
        Chunk("m", "record", "编号：2024-002", record="2024-002", date="2024-05-01", **common),
        Chunk("o", "record", "编号：2023-001", record="2023-001", date="2023-03-01", **common),
    ]
    text = script.dump(chunks)
    # the older record first; metadata before the pairs; a long pair's parts joined in order under one key
    assert text.index("[[600000 2023-001]]") < text.index("[[600000 2024-002]]") < text.index("[[600000 2024-002 Q1]]")
    assert "[[600000 2024-002 Q1]]\n问：产能？答：第一部分\n问：产能？答：第二部分" in text
    assert text.count("==================== RECORD zeta-2024-002.pdf") == 2


def _char_pairs(text: str) -> set[str]:
    s = re.sub(r"\s+", "", text.lower())
    return {s[i : i + 2] for i in range(len(s) - 1)}


def test_no_test_asks_a_gold_question_in_its_own_words():
    # Tests use their own examples: a gold question or draft with a name or year swapped is still the gold one
    # (their character pairs overlap by 0.8 or more; a generic template such as "What was X's gross margin?" does not).
    gold: list[tuple[str, set[str]]] = []
    for path in sorted(GOLD_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line) if line.strip() else {}
            for key in ("question", "draft"):
                if isinstance(item.get(key), str) and len(item[key]) >= 8:
                    gold.append((f"{path.name} {item.get('id')}", _char_pairs(item[key])))
    postings: dict[str, list[int]] = defaultdict(list)
    for i, (_, pairs) in enumerate(gold):
        for pair in pairs:
            postings[pair].append(i)
    found = []
    for source in sorted((GOLD_DIR.parents[1] / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) >= 8):
                continue
            pairs = _char_pairs(node.value)
            # gold texts sharing a pair few others have: a near copy shares many
            near = {i for p in pairs if len(postings.get(p, ())) <= 100 for i in postings[p]}
            for i in near:
                shared = len(pairs & gold[i][1])
                if shared / (len(pairs) + len(gold[i][1]) - shared) >= 0.8:
                    found.append((source.name, node.lineno, node.value, gold[i][0]))
    assert not found, found
