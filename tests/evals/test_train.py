"""Training the answer model end to end on the bundled records (hash vectors, a handful of pairs): examples,
out-of-fold calibration and threshold, save and load, leave-company-out folds."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from evals.gold import GoldQuestion
from evals.train import (
    ENSEMBLE,
    GOLD_WEIGHT,
    WRONG_COST,
    Example,
    Outcome,
    build_examples,
    fit_calibration,
    leave_company_out,
    load_or_build,
    metrics,
    near_duplicate,
    seed_spread,
    train,
    utility,
)
from ingest.pipeline import Ingestor
from rag.answering.features import FEATURES
from rag.answering.model import AnswerModel, ModelError
from rag.index import Index
from rag.settings import Settings
from tests.conftest import BUNDLED
from tests.fakes import HashEmbedder

# Questions of our own over the bundled records (not from the gold sets), with the passages that answer them.
OWN = [
    GoldQuestion(
        "t1",
        "海天瑞声上半年境外业务收入同比增长多少",
        "zh",
        ["688787 2024-013 Q1", "688787 2024-013 Q3"],
        [],
        "fact",
        "688787",
    ),
    GoldQuestion("t2", "海天瑞声公司目前员工总数是多少人", "zh", [], [], "unanswerable", "688787"),
    GoldQuestion("t3", "美的集团对美国关税的影响怎么看", "zh", ["000333 2025-2 Q1"], [], "fact", "000333"),
    GoldQuestion("t4", "美的集团明年的资本开支预算是多少亿", "zh", [], [], "unanswerable", "000333"),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    index = Index(Settings(data_dir=tmp_path_factory.mktemp("train")), embedder=HashEmbedder())
    assert Ingestor(index).ingest([BUNDLED]).errors == []
    return index


@pytest.fixture(scope="module")
def examples(index):
    return build_examples(index, OWN, seed=1, limit=120)


def _held_out_t4(examples):
    """The examples with t4 as a question of a held-out set (answered, never trained on)."""
    return [dataclasses.replace(e, source="held_out") if e.qid == "gold:t4" else e for e in examples]


def _write(path: Path, questions) -> Path:
    path.write_text("".join(json.dumps(q.__dict__, ensure_ascii=False) + "\n" for q in questions), encoding="utf-8")
    return path


def test_the_calibration_is_a_smooth_curve_recovering_the_chance_a_score_stands_for():
    # Scores whose true chance of answering is a logistic curve of their log-odds: the fitted calibration must find
    # it again and rise strictly (a step function moves whole groups of questions across the threshold at once).
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.01, 0.99, 4000)
    truth = 1 / (1 + np.exp(-(1.5 * np.log(raw / (1 - raw)) - 0.7)))
    labels = (rng.uniform(size=raw.size) < truth).astype(np.int8)
    examples = [
        Example(f"x{i}", "record", "c", None, [], np.zeros((100, 1)), labels[i : i + 100], [])  # type: ignore[arg-type]
        for i in range(0, raw.size, 100)
    ]
    scores = {f"x{i}": raw[i : i + 100] for i in range(0, raw.size, 100)}
    x, y = fit_calibration(examples, scores)
    assert (np.diff(x) > 0).all() and (np.diff(y) > 0).all() and len(x) > 100
    expected = 1 / (1 + np.exp(-(1.5 * np.log(x / (1 - x)) - 0.7)))
    assert np.abs(y - expected).max() < 0.05


def test_near_duplicate_questions():
    assert near_duplicate("公司今年毛利率变化的原因是什么？", "公司今年毛利率变化原因是什么")
    assert not near_duplicate("公司今年毛利率变化的原因是什么？", "海外工厂的建设进度如何？")


def test_examples_from_pairs_hide_their_own_question_and_label_it(examples):
    pairs = [ex for ex in examples if ex.source == "record"]
    removed = [ex for ex in examples if ex.source == "removed"]
    gold = [ex for ex in examples if ex.source == "gold"]
    assert len(pairs) == 120 and removed and len(gold) == len(OWN)
    col = FEATURES.index("dense_question")
    assert all(np.isnan(ex.rows[:, col]).all() for ex in pairs + removed if len(ex.rows))
    assert any(not np.isnan(ex.rows[:, col]).all() for ex in gold if len(ex.rows))
    # a pair's own question finds it nearly always (hash vectors, BM25 does the work)
    found = sum(int((ex.labels == 1).any()) for ex in pairs)
    assert found >= 0.8 * len(pairs)
    assert all((ex.labels <= 0).all() for ex in removed)
    # the gold questions (what users ask) outweigh the pair-made stand-ins, whatever weight the cache was built with
    assert all(ex.weight == GOLD_WEIGHT > 1 for ex in gold)
    assert all(ex.weight == 1 for ex in pairs + removed)


def test_which_pairs_also_give_keyword_and_removed_examples_does_not_depend_on_the_other_pairs(index, examples):
    # the first 60 of the seeded shuffle are a subset of its first 120, met in another order: each pair's draws
    # are its own, so the same pairs get the same extra examples (a change to one question moves no other)
    fewer = build_examples(index, [], seed=1, limit=60)
    mine = {ex.qid.split(":", 1)[1] for ex in fewer if ex.source == "record"}
    assert len(mine) == 60
    extra = lambda exs: {ex.qid for ex in exs if ex.source in ("keywords", "removed")}  # noqa: E731
    kept = {q for q in extra(examples) if q.split(":", 1)[1] in mine}
    assert kept and extra(fewer) == kept


def test_a_pairs_keyword_shuffle_does_not_move_its_removed_draw(index, monkeypatch):
    # a question read with more words shuffles longer: which pairs also give a removed near miss stays the same
    import evals.train as train_module

    before = build_examples(index, [], seed=1, limit=40)
    shuffle = train_module.keywords

    def longer(question, idx, rng):
        for _ in range(7):
            rng.random()
        return shuffle(question, idx, rng)

    monkeypatch.setattr(train_module, "keywords", longer)
    after = build_examples(index, [], seed=1, limit=40)
    removed = lambda exs: {ex.qid for ex in exs if ex.source == "removed"}  # noqa: E731
    keyworded = lambda exs: {ex.qid.split(":", 1)[1] for ex in exs if ex.source == "keywords"}  # noqa: E731
    assert removed(before) and removed(after) == removed(before)
    assert keyworded(before) and keyworded(after) == keyworded(before)


def test_train_save_load_and_the_same_probabilities(examples, tmp_path: Path):
    model = train(examples, seed=1, folds=3)
    assert 0.0 < model.threshold < 1.0
    assert np.all(np.diff(model.calibration_y) >= 0)  # calibration is monotone
    rows = np.vstack([ex.rows for ex in examples if len(ex.rows)][:20])
    probs = model.probabilities(rows)
    assert ((probs >= 0) & (probs <= 1)).all()
    model.save(tmp_path / "m")
    again = AnswerModel.load(tmp_path / "m")
    # loaded, the trees run on ONNX Runtime in float32: a value between a split's threshold and its float32
    # rounding may take the other branch of one tree (a leaf's worth, ~0.01 in log-odds: 2e-5 seen at 0.997), so
    # the same scores to that, and the same probabilities within the tolerance (the calibration is a smooth curve:
    # the shipped one's steepest slope is 13)
    assert np.allclose(again.raw(rows), model.raw(rows), atol=1e-4) and again.threshold == model.threshold
    assert np.allclose(again.probabilities(rows), probs, atol=1e-3)
    assert len(list((tmp_path / "m").glob("model-*.onnx"))) == len(model.boosters) == ENSEMBLE
    assert len(list((tmp_path / "m").glob("model-*.txt"))) == ENSEMBLE
    # the model answers a pair's own question with that pair more often than not
    pairs = [ex for ex in examples if ex.source == "record" and (ex.labels == 1).any()]
    top = sum(ex.labels[int(np.argmax(model.probabilities(ex.rows)))] == 1 for ex in pairs)
    assert top >= 0.7 * len(pairs)


def test_a_model_for_other_features_is_refused(examples, tmp_path: Path):
    model = train(examples, seed=1, folds=3)
    model.save(tmp_path / "m")
    meta = (tmp_path / "m" / "model.json").read_text(encoding="utf-8").replace('"q_en"', '"q_other"')
    (tmp_path / "m" / "model.json").write_text(meta, encoding="utf-8")
    with pytest.raises(ModelError, match="other features"):
        AnswerModel.load(tmp_path / "m")
    with pytest.raises(ModelError, match="irchat train"):
        AnswerModel.load(tmp_path / "missing")


def test_leave_company_out_keeps_each_company_out_of_its_own_fold(examples):
    report = leave_company_out(examples, seed=1)
    assert set(report["folds"]) == {"688787", "000333"}
    assert sum(f["n"] for f in report["folds"].values()) == len(OWN) == report["overall"]["n"]
    m = report["overall"]
    assert m["answerable"] == 2 and 0.0 <= m["answered_right"] <= 1.0
    assert sum(m["verdicts"].values()) == len(OWN)
    assert metrics([])["n"] == 0


def test_utility_counts_right_answers_less_the_cost_of_wrong_ones_and_nothing_for_refusals():
    def outcome(cited: list[str], expected: list[str]) -> Outcome:
        return Outcome("q", "zh", "fact", bool(expected), cited, expected, "answered" if cited else "x", "1")

    right = outcome(["688787 2024-013 Q5"], ["688787 2024-013 Q5"])
    wrong_passage = outcome(["688787 2024-013 Q4"], ["688787 2024-013 Q5"])
    answered_unanswerable = outcome(["688787 2024-013 Q4"], [])
    refused = [outcome([], ["688787 2024-013 Q5"]), outcome([], [])]
    assert utility([right, right, *refused]) == 2.0
    assert utility([right, wrong_passage, answered_unanswerable, *refused]) == 1.0 - 2 * WRONG_COST
    assert utility([wrong_passage], wrong_cost=3.0) == -3.0
    assert metrics([right, wrong_passage])["utility"] == 1.0 - WRONG_COST and metrics([])["utility"] == 0.0


def test_a_refusals_pointer_to_the_closest_passage_is_scored_apart_from_the_answers():
    def refusal(closest: str | None, expected: list[str]) -> Outcome:
        return Outcome("q", "en", "fact", bool(expected), [], expected, "low_confidence", "1", closest)

    led = refusal("688787 2024-013 Q5", ["688787 2024-013 Q5"])
    misled = refusal("688787 2024-013 Q4", ["688787 2024-013 Q5"])
    nowhere = refusal(None, ["688787 2024-013 Q5"])
    near_miss = refusal("688787 2024-013 Q4", [])
    m = metrics([led, misled, nowhere, near_miss])
    assert m["refused_closest_right"] == 1 / 3 and m["closest_precision"] == 1 / 3
    assert m["utility"] == 0.0 and m["answerable_refused"] == 1.0  # a pointer is not an answer


def test_held_out_questions_are_answered_by_the_fold_models_but_never_trained_on(examples):
    marked = _held_out_t4(examples)
    report = leave_company_out(marked, seed=1)
    assert report["held_out"]["n"] == 1 and report["overall"]["n"] == len(OWN) - 1
    assert [o.qid for o in report["held_out_outcomes"]] == ["gold:t4"]
    assert report["held_out_unstudied"]["n"] == 1  # not listed as read one by one
    rows = next(e.rows for e in marked if e.qid == "gold:t4")
    without = train([e for e in marked if e.qid != "gold:t4"], seed=1)
    assert np.array_equal(train(marked, seed=1).probabilities(rows), without.probabilities(rows))
    # the check above can fail: the same question trained on moves the model
    trained_on = train(examples, seed=1)
    assert not np.array_equal(trained_on.probabilities(rows), without.probabilities(rows))


def test_held_out_questions_read_one_by_one_are_reported_apart(examples, monkeypatch):
    import evals.train as train_module

    monkeypatch.setattr(train_module, "studied_ids", lambda: frozenset({"gold:t4"}))
    report = leave_company_out(_held_out_t4(examples), seed=1)
    assert report["held_out"]["n"] == 1 and report["held_out_unstudied"] is None


def test_a_cache_built_before_a_held_out_set_gets_its_questions_added(index, examples, tmp_path: Path):
    cache = tmp_path / "examples.pkl"
    cache.write_bytes(pickle.dumps([e for e in examples if e.qid != "gold:t4"]))
    held = _write(tmp_path / "held.jsonl", OWN[3:])
    got = load_or_build(cache, None, [], 1, index=index, held_out_files=[held])
    assert [e.source for e in got if e.qid == "gold:t4"] == ["held_out"] and len(got) == len(examples)
    again = load_or_build(cache, None, [], 1, held_out_files=[held])  # read back: nothing left to build
    assert [e.qid for e in again] == [e.qid for e in got]


def test_a_cache_built_before_a_gold_set_gets_its_questions_added(index, examples, tmp_path: Path):
    cache = tmp_path / "examples.pkl"
    cache.write_bytes(pickle.dumps([e for e in examples if e.qid != "gold:t4"]))
    added = _write(tmp_path / "added.jsonl", OWN[3:])
    got = load_or_build(cache, None, [added], 1, index=index)
    assert [e.source for e in got if e.qid == "gold:t4"] == ["gold"] and len(got) == len(examples)
    again = load_or_build(cache, None, [added], 1)  # read back: nothing left to build
    assert [e.qid for e in again] == [e.qid for e in got]
    # the same set listed as held out later is answered only, never trained on
    moved = load_or_build(cache, None, [], 1, held_out_files=[added])
    assert [e.source for e in moved if e.qid == "gold:t4"] == ["held_out"] and len(moved) == len(examples)


def test_a_cache_follows_corrected_citations_of_its_gold_questions(examples, tmp_path: Path):
    cache = tmp_path / "examples.pkl"
    cache.write_bytes(pickle.dumps(examples))
    (t3,) = [e for e in examples if e.qid == "gold:t3"]
    other = t3.candidates[list(t3.labels).index(0)]  # a passage the question's citations did not name
    corrected = dataclasses.replace(OWN[2], expected=[*OWN[2].expected, other.chunk.citation.passage])
    gold = _write(tmp_path / "gold.jsonl", [*OWN[:2], corrected, OWN[3]])
    got = {e.qid: e for e in load_or_build(cache, None, [gold], 1)}  # no index: nothing is built again
    assert got["gold:t3"].expected == corrected.expected and got["gold:t3"].gold == corrected
    assert got["gold:t3"].labels.sum() == t3.labels.sum() + 1
    assert got["gold:t3"].labels[t3.candidates.index(other)] == 1
    assert np.array_equal(got["gold:t1"].labels, next(e for e in examples if e.qid == "gold:t1").labels)
    (read,) = [e for e in pickle.loads(cache.read_bytes()) if e.qid == "gold:t3"]  # written back
    assert read.expected == corrected.expected


def test_a_cache_written_before_questions_kept_their_dated_periods_reads_them(examples, tmp_path: Path):
    from rag.answering.question import analyse

    cache = tmp_path / "examples.pkl"
    old = copy.deepcopy(examples)
    asked = analyse("示例科技2023年上半年和2023年前三季度的营业收入分别是多少？")
    dated, periods = asked.dated, asked.periods
    old[0].question = asked
    for e in old:  # as if pickled before the field existed: the class default stands in for it
        for q in (e.question, *e.question.per_period):
            vars(q).pop("dated", None)
    assert old[0].question.dated == ()
    cache.write_bytes(pickle.dumps(old))
    got = load_or_build(cache, None, [], 1)  # no index: nothing is built again
    assert got[0].question.dated == dated and set(dated) == {(2023, "H1"), (2023, "9M")}
    assert [sub.dated for sub in got[0].question.per_period] == [(p,) for p in periods]
    assert "dated" in vars(pickle.loads(cache.read_bytes())[0].question)  # written back


def test_a_cache_written_before_a_column_was_added_has_its_rows_made_again(index, examples, tmp_path: Path):
    cache = tmp_path / "examples.pkl"
    old = copy.deepcopy(examples)
    for e in old:  # as if written when the model had one column fewer
        e.rows = e.rows[:, :-1]
        e.period_rows = [r[:, :-1] for r in e.period_rows]
    cache.write_bytes(pickle.dumps(old))
    got = load_or_build(cache, None, [], 1, index=index)
    assert [e.qid for e in got] == [e.qid for e in examples]
    for new, made in zip(got, examples, strict=True):
        assert np.allclose(new.rows, made.rows, equal_nan=True) and np.array_equal(new.labels, made.labels)
        assert len(new.period_rows) == len(made.period_rows)
    assert all(e.rows.shape[1] == len(FEATURES) for e in pickle.loads(cache.read_bytes()))  # written back


def test_a_question_asking_for_several_periods_has_rows_for_each_period_alone(index, tmp_path: Path):
    two = GoldQuestion(
        "t5", "海天瑞声2023年和2024年上半年的毛利率分别是多少", "zh", ["688787 2024-013 Q2"], [], "fact", "688787"
    )
    (ex,) = build_examples(index, [two], seed=1, limit=0)
    assert set(ex.question.periods) == {(2023, "FY"), (2024, "H1")}
    assert [rows.shape for rows in ex.period_rows] == [ex.rows.shape] * 2
    assert not np.array_equal(ex.period_rows[0], ex.period_rows[1])  # each period's own agreement features
    # a cache written before the rows existed gets them on reading
    del ex.period_rows
    cache = tmp_path / "old.pkl"
    cache.write_bytes(pickle.dumps([ex]))
    (read,) = load_or_build(cache, None, [], 1, index=index)
    assert len(read.period_rows) == 2
    assert len(pickle.loads(cache.read_bytes())[0].period_rows) == 2


def test_seed_spread_brackets_each_seed_and_its_mean(examples):
    first = leave_company_out(examples, seed=1)
    spread = seed_spread(examples, [1, 2], done={1: first})
    one = first["overall"]["answered_right"]
    right = spread["all"]["answered_right"]
    assert right["min"] <= one <= right["max"] and right["min"] <= right["mean"] <= right["max"]
    assert set(spread) >= {"all", "zh"}


def test_seed_spread_reports_each_held_out_set_apart(examples):
    marked = _held_out_t4(examples)
    spread = seed_spread(marked, [1, 2], sets={"gold:t4": "later.jsonl", "gold:none": "absent.jsonl"})
    assert "later.jsonl" in spread and "absent.jsonl" not in spread  # a set with no question answered has no row
    assert spread["later.jsonl"] == spread["held out"]  # its one question is all that is held out here


def test_the_shipped_model_loads_and_says_what_it_was_trained_on():
    from rag.answering.model import default_model

    model = default_model()
    assert len(model.manifest["companies"]) >= 11 and model.manifest["examples"]["gold"] > 0
    assert 0.0 < model.threshold < 1.0


def test_the_shipped_onnx_trees_score_as_the_lightgbm_model_they_were_converted_from():
    import lightgbm

    from rag.answering.model import default_model, log_odds

    folder = Path(str(resources.files("rag") / "data" / "answer_model"))
    boosters = [lightgbm.Booster(model_file=str(f)) for f in sorted(folder.glob("model-*.txt"))]
    assert len(boosters) == len(default_model().boosters) > 1
    rng = np.random.default_rng(7)
    rows = rng.normal(0.5, 0.5, (400, len(FEATURES)))
    rows[rng.random(rows.shape) < 0.2] = np.nan  # hidden features are NaN, and must take the same branch
    averaged = 1 / (1 + np.exp(-np.mean([log_odds(b.predict(rows)) for b in boosters], axis=0)))
    assert np.abs(default_model().raw(rows) - averaged).max() < 1e-5


def test_irchat_eval_lco_prints_and_reports_the_spread_over_seeds(examples, real_index, tmp_path: Path, monkeypatch):
    from typer.testing import CliRunner

    from ui import cli

    cache = tmp_path / "examples.pkl"
    cache.write_bytes(pickle.dumps(_held_out_t4(examples)))
    # the draft check searches the bundled records (the real index the session ingested once)
    settings = real_index.settings
    monkeypatch.setenv("IRCHAT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("IRCHAT_MODEL_DIR", str(settings.model_dir))
    monkeypatch.setenv("IRCHAT_EMBED_CACHE_DIR", str(settings.cache_dir))
    # two gold files and a held-out one: the table has a row per file, each counting its own questions
    first, second = _write(tmp_path / "first.jsonl", OWN[:2]), _write(tmp_path / "second.jsonl", OWN[2:3])
    held = _write(tmp_path / "held.jsonl", OWN[3:])
    args = ["eval", "--lco", "--examples", str(cache), "--seeds", "2", "--report", str(tmp_path / "rep")]
    args += ["--gold-set", str(first), "--gold-set", str(second), "--held-out", str(held)]
    # two draft sets, each checked with the fold models and scored apart
    claim = {"company": "688787", "lang": "zh", "label": "never_said", "past_figure": None, "source": None}
    for name, n in (("d1.jsonl", 1), ("d2.jsonl", 2)):
        rows = [{**claim, "id": f"{name}-{i}", "draft": f"公司已在火星设立第{i + 1}个数据中心。"} for i in range(n)]
        (tmp_path / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        args += ["--drafts", str(tmp_path / name)]
    result = CliRunner().invoke(cli.app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "over seeds 0–1" in result.output
    result_seeds = result.output.split("over seeds 0–1", 1)[1]
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in result.output.splitlines()
        if "│ set " in line
    }
    assert rows == {"set first.jsonl": "2", "set second.jsonl": "1", "set held.jsonl": "1"}
    assert "held out (never trained on)" in result.output
    assert "draft check, d1.jsonl (1 drafts" in result.output and "draft check, d2.jsonl (2 drafts" in result.output
    report = json.loads((tmp_path / "rep" / "lco.json").read_text(encoding="utf-8"))
    assert {k: len(v) for k, v in report["drafts"].items()} == {"d1.jsonl": 1, "d2.jsonl": 2}
    # a draft about a company the index lacks: a clear error naming the draft file, not a traceback
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({**claim, "id": "b", "company": "999999", "draft": "公司营收增长。"}) + "\n", encoding="utf-8"
    )
    args = ["eval", "--lco", "--examples", str(cache), "--report", str(tmp_path / "rep2"), "--drafts", str(bad)]
    result = CliRunner().invoke(cli.app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "bad.jsonl" in result.output and "999999" in result.output, result.output
    assert "leave-company-out" not in result.output  # refused before any fold was trained
    right = report["lco"]["seeds"]["all"]["answered_right"]
    assert right["min"] <= report["lco"]["overall"]["answered_right"] <= right["max"]
    # the utility changes are judged by is reported per set and over the seeds, as a count (one place)
    gained = report["lco"]["seeds"]["held.jsonl"]["utility"]
    assert gained["min"] <= gained["mean"] <= gained["max"] and "utility" in report["lco"]["overall"]
    assert f"utility {gained['mean']:.1f} (" in result_seeds
    # the held-out file has its own line over the seeds; the sets trained on are in "all"
    assert "held.jsonl" in report["lco"]["seeds"] and "first.jsonl" not in report["lco"]["seeds"]
    assert "\n  held.jsonl " in result_seeds
