"""An independent count of the questions a record prints, for checking the parser's pair counts.

It shares no code with ``ingest``: it reads the PDF's raw text layer through pypdfium2 (page text as pdfium
lays it out, no table geometry, no paragraph joining), or a text file as it is, and counts question markers its
own way: ``Q：``/``问：``/``问题N`` marks where the record uses them, else the longest run of consecutive
question numbers (``1、`` ``2.`` …) at line starts after the Q&A begins.
"""

from __future__ import annotations

import re
from pathlib import Path

# Where the questions begin: the body row's label, or a heading of the Q&A part after a presentation.
_BODY = re.compile(r"主要内容\s*介\s*绍|主要内容")
_QA_START = re.compile(
    r"(?:问答|交流|互动|座谈|提问|答疑)\s*(?:环节|部分|交流|问答)|Q\s*&\s*A|问题及(?:公司)?(?:回复|答复)|进行了(?:回复|答复)"
)
_END = re.compile(r"附件清单|关于本次活动是否涉及应披露重大信息")
_MARKED = re.compile(
    r"(?m)(?:^|(?<=[。！？!?）]))\s*(?:Q\s*\d{0,3}\s*[：:、.．]|问\s*[：:]|问题\s*\d{1,3}(?!\d)\s*[：:、.．]?)"
)
# A number's mark may be missing ("5 请正面答复…") or glued to a year ("5.24 年公司…", "5.2025 年上半年…").
_NUMBER = re.compile(r"(?m)^\s*(\d{1,3})(?:\s*[、．]|\s*\.(?=\s*(?:\D|\d{4}(?!\d)|\d\d\s*年))|\s+(?=[^\d\s]))")


def raw_text(path: Path) -> str:
    """The file's text: a PDF's text layer page by page, or a text file's content."""
    if path.suffix.lower() == ".pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            pages = []
            for page in pdf:
                text_page = page.get_textpage()
                pages.append(text_page.get_text_range().replace("\r\n", "\n").replace("\r", "\n"))
                text_page.close()
                page.close()
            return "\n".join(pages)
        finally:
            pdf.close()
    return path.read_text(encoding="utf-8-sig")


def qa_part(text: str) -> str:
    """The text from the start of the Q&A to the attachments row."""
    m = _BODY.search(text)
    body = text[m.end() :] if m else text
    heading = None
    for h in _QA_START.finditer(body):
        heading = h
        break
    if heading is not None and heading.start() < len(body) // 2:
        body = body[heading.end() :]
    end = _END.search(body)
    return body[: end.start()] if end else body


def count_questions(path: Path) -> int:
    """How many questions the record at ``path`` prints."""
    body = qa_part(raw_text(path))
    marked = _MARKED.findall(body)
    if len(marked) >= 2:
        return len(marked)
    # numbered questions: the longest chain 1, 2, 3 … of line-start numbers, each after the one before
    numbers = [(int(m.group(1)), m.start()) for m in _NUMBER.finditer(body)]
    best = 0
    for i, (n, _) in enumerate(numbers):
        if n != 1:
            continue
        want, length = 2, 1
        for m, _pos in numbers[i + 1 :]:
            if m == want:
                want, length = want + 1, length + 1
        best = max(best, length)
    return best
