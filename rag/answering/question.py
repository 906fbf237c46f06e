"""A question read once into what every later stage needs: its companies, periods, months, the record field it
asks for, whether it asks for a figure, and its idf-weighted concepts."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from rag import pinyin
from rag.asked_figure import AskedFigure, asked_figure
from rag.companies import Company
from rag.coverage import (
    QUESTION_WORDS,
    Concept,
    form_weight,
    named_organisations,
    proper_names,
    question_concepts,
    unknown_organisation,
)
from rag.cue_words import cue
from rag.dictionary import Dictionary
from rag.glossary import Glossary
from rag.intent import (
    FULL_YEAR_WORDS,
    asked_periods,
    asks_change,
    asks_how_much,
    figure_periods,
    forward_looking,
    mentioned_months,
    metadata_fields,
    names_period,
    period_spans,
    sentence_periods,
    spelled_periods,
)
from rag.lang import detect_language
from rag.tokenize import word_frequency


@dataclass(frozen=True)
class Question:
    """One question as every stage after retrieval reads it."""

    text: str
    lang: str
    companies: tuple[Company, ...] = ()
    """Indexed companies the question (or the conversation, or a filter) is about."""
    organisations: tuple[str, ...] = ()
    """Organisations an English question names that match no indexed company ("Eoptolink", "Dahua")."""
    read_as: tuple[tuple[str, str], ...] = ()
    """Words taken for a company because they spell its pinyin: ("Goaland", "高澜股份")."""
    unknown_org: str = ""
    """An organisation the question names that no indexed passage mentions (格力电器): likely not covered."""
    periods: tuple[tuple[int, str], ...] = ()
    """Reporting periods whose results it asks for: ``(2024, "H1")``."""
    dated: tuple[tuple[int, str], ...] = ()
    """The periods it names as such (a half, a quarter, a year's results; not a bare year): those a meeting held
    before they ended cannot have reported."""
    months: tuple[tuple[int, int], ...] = ()
    records: tuple[str, ...] = ()
    """Record numbers it names ("编号2024-013的那场")."""
    metadata: tuple[str, ...] = ()
    """Record fields it asks for (地点, 时间, 接待人员, 参与单位, 活动类别): who, when, where, what kind."""
    asks_figure: bool = False
    figure_asked: AskedFigure = field(default_factory=AskedFigure)
    """The kind of figure (a share, money, a count ...) or the unit it asks for, when it says."""
    asks_change: bool = False
    forward: bool = False
    """It asks about plans, targets or expectations (which may be stated before the period ends)."""
    now: bool = False
    lexical_text: str = ""
    """The text BM25 searches: for English, the question with its glossary renderings and company names."""
    dense_text: str = ""
    concepts: tuple[Concept, ...] = field(default=(), compare=False)
    """What it asks about, idf-weighted (English terms through the glossary)."""
    topics: tuple[Concept, ...] = field(default=(), compare=False)
    """The concepts less those naming a period (2024, 上半年) when it asks for periods: what a sentence stating the
    figure must be about. The period is checked by itself, and a passage often names it once for several
    sentences ("2024年前三季度，…；截止三季度末，公司实现营业收入…")."""

    @property
    def company_names(self) -> list[str]:
        """Every name of the companies it is about."""
        return [n for c in self.companies for n in c.names]

    @cached_property
    def per_period(self) -> tuple[Question, ...]:
        """For a question asking for several periods ("2024年上半年和前三季度"), one question per period: the words of
        the others left out of its concepts. A passage answering one of them joins the answer."""
        if len(self.periods) < 2:
            return ()
        low = self.text.lower()
        spans = period_spans(self.text)
        # each period mention as written, with its reading, and the text outside them: read once for every concept
        mentions = [(low[a:b], sentence_periods(self.text[a:b])) for a, b in spans]
        edges = [(0, 0), *spans, (len(low), len(low))]
        outside = "".join(low[b:a] for (_, b), (a, _) in itertools.pairwise(edges))
        return tuple(
            replace(
                self,
                periods=(period,),
                dated=tuple(p for p in self.dated if p == period),
                concepts=tuple(c for c in self.concepts if _agrees(c, period, mentions, outside)),
                topics=tuple(c for c in self.topics if _agrees(c, period, mentions, outside)),
            )
            for period in self.periods
        )


def _agrees(
    concept: Concept,
    period: tuple[int, str],
    mentions: Sequence[tuple[str, tuple[list[tuple[int, str]], set[int], set[str]]]],
    outside: str,
) -> bool:
    """Whether a concept of a question may be about ``period``: by the period ``mentions`` of the question (lower-cased
    text, reading) it is written in ("前三" of 前三季度), else by the period it names itself (2024, 上半年), else it is
    (``outside``: the question's text beside its mentions)."""
    forms = [f.lower() for f in concept.forms]
    inside = [reading for written, reading in mentions if any(f in written for f in forms)]
    if any(_about(period, reading) for reading in inside):
        return True
    own = next((r for r in map(sentence_periods, concept.forms) if any(r)), None)
    if own is not None:
        return _about(period, own)
    return not inside or any(f in outside for f in forms)


def _about(period: tuple[int, str], reading: tuple[list[tuple[int, str]], set[int], set[str]]) -> bool:
    explicit, bare, kinds = reading
    return period in explicit or period[0] in bare or period[1] in kinds


def analyse(
    text: str,
    *,
    companies: Sequence[Company] = (),
    known_names: Sequence[str] = (),
    name_part: Callable[[str], bool] | None = None,
    records: Sequence[str] = (),
    spelled: Sequence[tuple[str, Company]] = (),
    glossary: Glossary | None = None,
    idf: Callable[[str], float] | None = None,
    lang: str | None = None,
    dictionary: Callable[[], Dictionary | None] | None = None,
    written_as_word: Callable[[str], bool] | None = None,
) -> Question:
    """Read ``text`` once. ``companies`` are those it is about (resolved by the caller from the text, the
    conversation or a filter); ``known_names`` the indexed companies' names (those the text contains are
    enough: :meth:`CompanyDirectory.names_in`), ``name_part`` whether a word is part of any of them; ``idf`` the
    lexical index's;
    ``dictionary`` gives the dictionary that renders an English question's words the glossary lacks;
    ``written_as_word`` whether the passages holding a character pair write it as a word (:func:`pinyin.spelled`)."""
    lang = lang or detect_language(text)
    names = [n for c in companies for n in c.names]
    lexical = dense = text
    # English period labels written out ("1H25" → "H1 2025"): searched and covered as periods, not as digits
    worded = spelled_periods(text) if lang == "en" else text
    if lang == "en" and glossary is not None:
        extra = [c.short_name for c in companies if c.short_name] + glossary.render(worded)
        lexical = dense = " ".join([text, *extra])
    others = named_organisations(text, [*known_names, *names], glossary) if lang == "en" else []
    # The weight the lexical index gives a word no passage contains.
    unseen = idf("\x00") if idf is not None else 0.0
    if lang == "en" and idf is not None:
        # A capitalised word the records never use ("Hikvision", not "DeepSeek") is most likely a company's name.
        others += [
            w
            for w in proper_names(text, [*known_names, *names])
            if idf(w.lower()) >= unseen and (glossary is None or not glossary.matches(w)) and w not in others
        ]
    # The rest of a resolved company's written name ("Micro" of "Jingjia Micro", "Guangzhou" of "Guangzhou
    # Goaland") and fiscal labels ("FY2024") name no other organisation.
    own = _name_words(text, [*names, *(w for w, _ in spelled)])
    others = [o for o in others if o not in own and not re.search(r"\d", o)]
    concepts: tuple[Concept, ...] = ()
    unknown = ""
    if idf is not None:
        # The company's names as the question writes them ("Jingjia Micro", read as 景嘉微) say which company, not
        # what about: as concepts no passage contains, they made every passage look half off the question.
        written = [*names, *own, *(w for w, _ in spelled)]
        concepts = tuple(question_concepts(worded, lexical, idf, written, glossary if lang == "en" else None))
        unknown = unknown_organisation(text, idf, [*known_names, *names, *own], glossary, others)
        book = dictionary() if dictionary is not None and lang == "en" and glossary is not None else None
        if book is not None:
            # Words the glossary lacks are searched (BM25) in the Chinese the records use for them. They are not
            # concepts: a dictionary's sense is often not the records' ("high" is 凌云 as often as 高位), and as
            # concepts they cost 0.9 points of leave-company-out citation precision for no more right answers.
            named = {w.lower() for n in [*written, *others] for w in n.split()}
            words = [w for w in _unglossed_words(worded, glossary, idf, unseen) if w not in named]
            lexical = " ".join([lexical, *(f for w in words for f in book.renderings(w, idf, unseen))])
        if lang == "en" and glossary is not None:
            lower = {w for w in _WORD.findall(worded) if w.islower()}
            rendered = tuple(_rendered(c, book, idf, unseen, written_as_word, lower) for c in concepts)
            read = [c for c in rendered if c not in concepts]
            # the names' Chinese is searched too: the records write 苏州, never "Suzhou"
            lexical = " ".join([lexical, *(f for c in read for f in c.forms[1:])])
            concepts = rendered
            # a name the passages write in Chinese as no dictionary has it ("Guixiang": 硅翔) is no company the index
            # lacks; a spelling that is also an everyday word ("Weilai": 未来) may still be one
            spelt = {c.forms[0] for c in read if any(not word_frequency(f) for f in c.forms[1:])}
            if unknown and all(re.sub(r"['’]s$", "", w.lower()) in spelt for w in unknown.split()):
                unknown = ""
    dated = asked_periods(text)
    how_much = asks_how_much(text, dated)
    change = asks_change(text)
    periods = tuple(figure_periods(text, how_much, dated))
    if any(kind == "FY" for _, kind in periods):
        # The period is checked against the passage by its own features; 全年 / "full year" is not a topic word
        # a passage must repeat (it says "2024年营业收入").
        concepts = tuple(c for c in concepts if not set(c.forms) <= FULL_YEAR_WORDS)
    topics = concepts
    if periods:  # a question naming nothing but its period keeps it as its topic
        topics = tuple(c for c in concepts if not any(names_period(f) for f in c.forms)) or concepts
    return Question(
        text=text,
        lang=lang,
        companies=tuple(companies),
        organisations=tuple(
            o
            for o in others
            if not (name_part(o) if name_part is not None else any(o.lower() in n.lower() for n in known_names))
            and o not in {w for w, _ in spelled}
        ),
        read_as=tuple((w, c.short_name or c.name) for w, c in spelled),
        unknown_org=unknown,
        periods=periods,
        dated=tuple(dated),
        months=tuple(mentioned_months(text)),
        records=tuple(records),
        metadata=metadata_fields(text),
        asks_figure=how_much,
        figure_asked=asked_figure(text, how_much, change),
        asks_change=change,
        forward=forward_looking(text),
        now=bool(cue("now").search(text)),
        lexical_text=lexical,
        dense_text=dense,
        concepts=concepts,
        topics=topics,
    )


_WORD = re.compile(r"[A-Za-z][a-z]+(?:-[a-z]+)*")


def _rendered(
    concept: Concept,
    book: Dictionary | None,
    idf: Callable[[str], float],
    unseen: float,
    written_as_word: Callable[[str], bool] | None = None,
    lower: Iterable[str] = (),
) -> Concept:
    """A proper name no passage writes in Latin letters (Thailand, Suzhou) is present where the records write it in
    Chinese (泰国, 苏州): its dictionary renderings the passages use, else the words it spells in pinyin, join its
    forms and give its weight. Of the words some passage holds in Latin letters, an everyday word the question writes
    in lower case (``lower``) joins its dictionary renderings ("value" of a fund's name in a participants list: as a
    concept of that form alone it was present only there), and a name written capitalised the words it spells in
    pinyin ("KUKA", of one passage's "KUKA Digital", is 库卡 in the others). Other common words stay out (a
    dictionary's sense is often not the records', see :func:`analyse`)."""
    word = concept.forms[0] if len(concept.forms) == 1 else ""
    if not (word.isascii() and word.isalpha()):
        return concept

    def sounds() -> list[str]:
        return pinyin.spelled(word, lambda t: idf(t) < unseen, idf, found=written_as_word)

    known = idf(word) < unseen
    if known and word not in lower:
        # a name one passage writes in Latin letters ("KUKA Digital") the others write as it sounds (库卡)
        chinese = sounds()
    else:
        meant = book.renderings(word, idf, unseen) if book is not None else []
        chinese = meant if known else meant or sounds()
    if not chinese:
        return concept
    return Concept(min(form_weight(f, idf) for f in chinese), (word, *chinese), concept.word)


def _unglossed_words(text: str, glossary: Glossary, idf: Callable[[str], float], unseen: float) -> list[str]:
    """Lower-case English words of ``text`` (a sentence's first word too) outside the glossary's terms, not
    question words, and not used as such by the records (those are concepts already, ``unseen``: the idf of a word
    no passage has): the words to look up."""
    covered = [(s, e) for s, e, _ in glossary.spans(text)]
    out: list[str] = []
    for m in _WORD.finditer(text):
        word, start = m.group(0), m.start()
        first = not text[:start].strip() or text[:start].rstrip()[-1] in '.?!:;"“'
        if (word[0].isupper() and not first) or any(s <= start < e for s, e in covered):
            continue
        word = word.lower()
        if word in QUESTION_WORDS or len(word) < 3 or idf(word) < unseen or word in out:
            continue
        out.append(word)
    return out


# A run of capitalised words, as a company's name is written in English ("Tongfu Microelectronics Co.").
# A possessive ends the name: "Hikvision's Chongqing base" names a place of the company, not more of its name.
_CAPITALISED_RUN = re.compile(r"(?<![\w&'’-])[A-Z][\w&-]*(?:[ \t]+[A-Z][\w&-]*)*(?:['’]s)?")


def _name_words(text: str, names: Sequence[str]) -> set[str]:
    """The words of every capitalised run of ``text`` that contains one of ``names`` (Latin ones), possessives
    stripped: the rest of the run is the same company's written name. A label with a digit or in capitals that is
    not one of the names ("Hikvision Q3 2024", "Hikvision EBG revenue") is what the question asks about."""
    latin = {w.lower() for n in names if n.isascii() for w in n.split()}
    out: set[str] = set()
    for m in _CAPITALISED_RUN.finditer(text):
        words = [re.sub(r"['’]s$", "", w) for w in m.group(0).split()]
        if any(w.lower() in latin for w in words):
            out.update(w for w in words if w.lower() in latin or not _LABEL.fullmatch(w))
    return out


# A segment's or product's label (EBG, R&D, AI) or a period's (Q3, 1H25): written in capitals or with digits.
_LABEL = re.compile(r"(?=.*[A-Z0-9].*[A-Z0-9])[A-Z0-9&-]+|\w*\d\w*")
