"""Text analyser for the lexical index: Chinese words and character pairs, English words, whole numbers.

One function serves passages and queries alike, so a query is cut exactly the way its passage was.

* Chinese runs go through jieba's search mode (words plus the dictionary words inside them, so
  ``毛利率`` also yields ``毛利``) and additionally give their overlapping character pairs, except pairs
  touching a function character (的, 了, 是 ...). The pairs let a paraphrase match where jieba cuts the
  query and the passage differently. Measured on the bundled records (MRR@10 for 52 paraphrased
  questions / for 156 record questions against their answers): precise mode 0.82 / 0.59, search mode
  0.84 / 0.62, all pairs alone 0.87 / 0.62, search mode + filtered pairs 0.88 / 0.64.
* English is NFKC-folded and lower-cased, without stemming; ``A股``/``C端`` stay one token.
* A number keeps its unit in one token (``4369.53万元``, ``70.34%``, ``14.8t``, ``2024年``,
  ``3个百分点``) and is also given bare (``4369.53``), so a query with or without the unit matches.
  Thousands commas go (``4,369.53`` -> ``4369.53``) and trailing decimal zeros get a second form
  (``50.00%`` also gives ``50%``).
"""

from __future__ import annotations

import logging
import marshal
import os
import re
import stat
import tempfile
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = [
    "ANALYSER_VERSION",
    "STOPWORDS",
    "analyser_fingerprint",
    "iter_tokenize",
    "tokenize",
    "tokenize_many",
]

ANALYSER_VERSION = "zh-search-pairs-1"
"""Bump when any rule below changes: a saved index cut by other rules no longer matches queries."""

# Function words and question scaffolding. They name no topic, and in Q&A text the question words
# (什么, 如何, 是否) would otherwise tie every question to every other. Finance words (公司, 收入, 增长,
# 同比) stay: BM25's idf already discounts the common ones, and dropping them loses 子公司-style matches.
STOPWORDS: frozenset[str] = frozenset(
    """
    的 了 是 在 和 与 及 以及 或 或者 等 等等 也 都 就 而 并 并且 且 对 对于 从 把 被 将 向 这 那 这个
    那个 这些 那些 其 其中 之 于 以 为 为了 因为 所以 但 但是 而且 如果 则 即 还 又 再 很 非常 比较
    我 我们 你 你们 您 他 他们 她 它 它们 咱们 自己 请 请问 请教 问 答 谢谢 感谢 您好 你好 吗 呢 吧
    啊 呀 么 嘛 哦 什么 怎么 怎样 怎么样 如何 哪些 哪个 哪 是否 有何 有没有 会不会 能否 可否 多少 几
    一下 一些 一个 有 个 中 上 下 着 过 之后 之前 此外 另外 同时 方面 情况 目前 这样 那样 可以 能够
    the a an of to in on at by for and or is are was were be been it its this that these those with as
    from we our you your they their i he she what how which who whom why do does did has have had
    will would can could may might about into than then there here so not no
    """.split()  # noqa: SIM905 - a word list reads better as text than as 150 quoted strings
)

# A character pair touching one of these (的X, X了, 在X) is grammar, not vocabulary.
_GLUE = frozenset("的了是在和与及或也都就而并把被这那吗呢吧啊")

# Units kept on their number. Regex alternation takes the first that fits, not the longest, so longer
# units come first: 个百分点 before 个, 个月 before 个, 年度 before 年, 美元 before 元.
_CJK_UNITS = (
    "个百分点|百分点|个基点|基点|"
    "[百千万亿]*(?:美元|港元|欧元|日元|人民币|元|个月|个|台|家|人|名|项|款|座|条|次|吨|辆|套|件|户|股|份|张|"
    "平方米|千瓦时|千瓦|瓦|公里|倍|年度|年|月|日|天|小时|季度|周)|"
    "[百千万亿]+"
)
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
# A number takes an ASCII unit written against it (14.8T, 4cm, 3D, 5G), or a CJK unit or percent sign
# after optional spaces: text extracted from PDFs often reads "385 亿元".
_TOKEN_RE = re.compile(
    rf"(?P<num>{_NUMBER})(?:(?P<aunit>[a-z][a-z0-9]*)|[ \t]*(?P<cunit>%|‰|°c|{_CJK_UNITS}))?"
    r"|(?P<market>[a-z][股端])"
    r"|(?P<word>[a-z][a-z0-9]*(?:\.\d+)?(?:'[a-z]+)?)"
    r"|(?P<cjk>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)"
)

_FULLWIDTH_GROUP_RE = re.compile(r"(?<=[０-９])，(?=[０-９]{3}(?![０-９]))")

# Finance terms missing from jieba's general dictionary; without them 归母净利润 falls apart.
_EXTRA_WORDS = (
    "个百分点",
    "归母",
    "归母净利润",
    "扣非",
    "扣非净利润",
    "非经常性损益",
    "净利率",
    "毛利额",
    "环比",
)

_lock = threading.Lock()
_segmenter_instance: Segmenter | None = None

SHARDS_FORMAT = 1
"""Bump when the layout of the sharded dictionary file changes."""


class Segmenter:
    """jieba with its prefix dictionary loaded by first character, as texts need it.

    jieba only ever looks up substrings of the text it cuts, so the words starting with that text's characters
    are all it needs: a question loads a few dozen of the ~12,000 shards in milliseconds, where the whole
    dictionary (500k entries) takes 0.6 s to unmarshal — most of a cold ``irchat ask``'s lexical work. The cuts
    are jieba's own, the same as with the whole dictionary loaded at once (checked in tests).
    """

    def __init__(self, shards: Path) -> None:
        import jieba

        data = shards.read_bytes()
        head = int.from_bytes(data[:8], "little")
        total, self._index = marshal.loads(data[8 : 8 + head])
        self._data, self._base = data, 8 + head
        if 8 + head + sum(length for _, length in self._index.values()) != len(data):
            raise ValueError(f"{shards} is cut short or padded")  # built again by _segmenter
        self._loaded: set[str] = set()
        self._merge = threading.Lock()
        self._jieba = jieba.Tokenizer()
        # jieba's initialize() would load the whole dictionary; the shards stand in for it
        self._jieba.FREQ, self._jieba.total, self._jieba.initialized = {}, total, True
        for word in _EXTRA_WORDS:
            self._need(word)
            self._jieba.add_word(word)

    def _need(self, text: str) -> None:
        missing = set(text) - self._loaded
        if not missing:
            return
        with self._merge:
            for char in missing - self._loaded:
                where = self._index.get(char)
                if where is not None:
                    start = self._base + where[0]
                    # dict.update is atomic under the GIL: a thread cutting another text never sees half a shard
                    self._jieba.FREQ.update(marshal.loads(self._data[start : start + where[1]]))
                self._loaded.add(char)

    def cut_for_search(self, text: str) -> list[str]:
        """jieba's search mode: words plus the dictionary words inside them."""
        self._need(text)
        return self._jieba.lcut_for_search(text)

    def cut(self, text: str, *, hmm: bool = True) -> list[str]:
        """jieba's precise mode (``hmm=False``: unknown words stay single characters)."""
        self._need(text)
        return self._jieba.lcut(text, HMM=hmm)

    def frequency(self, word: str) -> int:
        """How often jieba's dictionary counts ``word`` (0 for a word it does not have)."""
        self._need(word[:1])
        return int(self._jieba.FREQ.get(word) or 0)


def cut(text: str) -> list[str]:
    """jieba's precise cut of ``text``, its HMM finding words the dictionary lacks (东莞硅翔 → 东莞, 硅翔)."""
    return _segmenter().cut(text)


def word_frequency(word: str) -> int:
    """How often jieba's dictionary counts ``word`` (0 for a word it does not have)."""
    return _segmenter().frequency(word)


def _cache_dir() -> Path:
    """A folder only this user can write, for the sharded dictionary.

    It is loaded with ``marshal`` and no check (as jieba loads its own cache), so the folder must not be one
    another user could have planted a file in.
    """
    uid = os.getuid() if hasattr(os, "getuid") else None
    base = Path(tempfile.gettempdir()) / f"irchat-jieba-{uid if uid is not None else 'user'}"
    try:
        base.mkdir(mode=0o700, exist_ok=True)
        st = base.lstat()
        private = stat.S_ISDIR(st.st_mode) and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if uid is not None and (st.st_uid != uid or not private):
            raise PermissionError(base)
    except OSError:
        base = Path(tempfile.mkdtemp(prefix="irchat-jieba-"))
    return base


def write_shards(path: Path) -> Path:
    """Write jieba's whole prefix dictionary to ``path`` as one marshalled dict per first character, behind an
    index of where each starts (built once per jieba version; takes a few seconds)."""
    import jieba

    full = jieba.Tokenizer()
    full.tmp_dir = str(path.parent)
    full.cache_file = f"irchat-jieba-{jieba.__version__}.cache"
    full.initialize()
    by_char: dict[str, dict[str, int]] = {}
    for word, freq in full.FREQ.items():
        by_char.setdefault(word[0], {})[word] = freq
    blobs, index, offset = [], {}, 0
    for char, words in by_char.items():
        blob = marshal.dumps(words)
        index[char] = (offset, len(blob))
        offset += len(blob)
        blobs.append(blob)
    head = marshal.dumps((full.total, index))
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}")
    tmp.write_bytes(len(head).to_bytes(8, "little") + head + b"".join(blobs))
    tmp.replace(path)  # atomic: another process never reads half a file
    return path


def _segmenter() -> Segmenter:
    """The jieba segmenter, built once per process; its dictionary ships in the wheel, nothing is fetched."""
    global _segmenter_instance
    if _segmenter_instance is None:
        with _lock:
            if _segmenter_instance is None:
                import jieba

                # jieba announces its dictionary build at DEBUG on stderr through its own handler.
                logging.getLogger("jieba").setLevel(logging.WARNING)
                path = _cache_dir() / f"irchat-jieba-{jieba.__version__}-shards{SHARDS_FORMAT}.bin"
                try:
                    _segmenter_instance = Segmenter(path)
                except (OSError, EOFError, ValueError, TypeError):  # missing, or damaged: built again
                    _segmenter_instance = Segmenter(write_shards(path))
    return _segmenter_instance


def analyser_fingerprint() -> str:
    """Identifies the rules and the jieba dictionary; an index is only valid with the same fingerprint."""
    import jieba

    return f"{ANALYSER_VERSION}/jieba-{jieba.__version__}"


def _pairs(run: str) -> list[str]:
    """Overlapping character pairs of a Chinese run, leaving out pairs that touch a function character."""
    return [
        pair
        for i in range(len(run) - 1)
        if run[i] not in _GLUE and run[i + 1] not in _GLUE and (pair := run[i : i + 2]) not in STOPWORDS
    ]


def _canonical(number: str) -> str:
    """``4,369.50`` -> ``4369.5``; ``50.00`` -> ``50``."""
    number = number.replace(",", "")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number


def _normalise(text: str) -> str:
    # NFKC folds full-width digits, letters and signs (４３６９．５３％) into ASCII. The Chinese comma is a
    # clause break, not a thousands separator ("5，100家" is 5 then 100家), so it must not fold to ","
    # unless it sits inside full-width digits (１２，３４５), where it does group thousands.
    text = _FULLWIDTH_GROUP_RE.sub(",", text).replace("，", " ").replace("’", "'")
    return unicodedata.normalize("NFKC", text).lower()


def tokenize(text: str) -> list[str]:
    """BM25 tokens of ``text``: Chinese words and pairs, lower-cased English, numbers with/without unit."""
    segment = _segmenter().cut_for_search
    out: list[str] = []
    for m in _TOKEN_RE.finditer(_normalise(text)):
        kind = m.lastgroup
        if kind == "cjk":
            run = m.group("cjk")
            out.extend(w for w in segment(run) if w not in STOPWORDS)
            out.extend(_pairs(run))
        elif kind == "word":
            word = m.group("word").removesuffix("'s")
            if word not in STOPWORDS:
                out.append(word)
        elif kind == "market":
            out.append(m.group("market"))
        else:
            num = m.group("num")
            unit = m.group("aunit") or m.group("cunit") or ""
            raw, canon = num.replace(",", ""), _canonical(num)
            forms = [raw + unit, canon + unit, raw, canon] if unit else [raw, canon]
            out.extend(dict.fromkeys(forms))
            # A word-like unit (万元, 个百分点) is also a word a query may use alone ("多少万元").
            if len(unit) > 1 and not unit.isascii():
                out.extend(w for w in segment(unit) if len(w) > 1 and w not in STOPWORDS)
    return out


def _tokenize_batch(texts: list[str]) -> list[list[str]]:
    return [tokenize(t) for t in texts]


def iter_tokenize(texts: Iterable[str], workers: int = 1, batch_size: int = 256) -> Iterator[list[str]]:
    """:func:`tokenize` for each text, in order, yielded as they are ready.

    With ``workers > 1`` and enough texts, batches are cut in that many spawned processes (each loads
    jieba once, about two seconds); below a few thousand texts that start-up costs more than it saves.
    As with any spawned pool, a calling script needs an ``if __name__ == "__main__":`` guard.
    """
    if workers <= 1:
        for t in texts:
            yield tokenize(t)
        return
    items = list(texts)
    if len(items) < 8 * batch_size:
        for t in items:
            yield tokenize(t)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    # spawn, not fork: the caller may hold threads (Gradio, Chroma) that fork would copy mid-lock.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        for result in pool.map(_tokenize_batch, batches):
            yield from result


def tokenize_many(texts: Iterable[str], workers: int = 1) -> list[list[str]]:
    """:func:`tokenize` for each text, in order (see :func:`iter_tokenize` for ``workers``)."""
    return list(iter_tokenize(texts, workers=workers))
