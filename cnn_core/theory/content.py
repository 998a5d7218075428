"""The Theory page's content: six questions and answers, read from ``content/theory/``.

Each question is one Markdown file a non-programmer can edit, in this shape::

    ---
    number: 1
    title: What are the advantages of a CNN over a fully connected DNN?
    keywords: receptive field, parameter sharing, equivariance
    demo: dense_vs_conv
    ---
    The answer, in Markdown. {{exercise2.total_params}} is replaced by a computed figure.

    ## References
    - Author, A. (year). Title. Venue.

    ## Self-check
    ### A multiple-choice question?
    - [ ] a wrong option
    - [x] the right option
    > Why it is right (shown when the learner asks).

``{{name}}`` placeholders are filled from ``cnn_core.theory.facts.facts()`` (figures computed by
the calculator), so the text never states a number the code could contradict. The architecture
table of question 6 is ``architectures.csv`` in the same folder. No TensorFlow, no Streamlit.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from cnn_core.errors import CNNLabError
from cnn_core.paths import CONTENT_DIR

THEORY_DIR = CONTENT_DIR / "theory"
PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


@dataclass(frozen=True)
class QuizItem:
    question: str
    options: tuple[str, ...]
    answer: int  # index of the right option
    explanation: str


@dataclass(frozen=True)
class Section:
    number: int
    title: str
    keywords: str
    demo: str  # which demo the page draws under the answer
    answer: str  # Markdown
    references: tuple[str, ...]
    quiz: tuple[QuizItem, ...]
    source: str  # file name, for error messages

    @property
    def search_text(self) -> str:
        return " ".join([self.title, self.keywords, self.answer, *self.references]).lower()


def fill(text: str, facts: dict[str, str], where: str = "") -> str:
    """Replace every {{name}} by facts[name]; an unknown name is an error in the content."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in facts:
            raise CNNLabError(f"{where}: unknown figure {{{{{name}}}}} in the text.")
        return str(facts[name])

    return PLACEHOLDER.sub(value, text)


def _front_matter(text: str, source: str) -> tuple[dict[str, str], str]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---" or "---" not in [l.strip() for l in lines[1:]]:
        raise CNNLabError(f"{source}: the file must start with a '---' block (number, title...).")
    end = 1 + [l.strip() for l in lines[1:]].index("---")
    meta = {}
    for line in lines[1:end]:
        if line.strip():
            key, sep, val = line.partition(":")
            if not sep:
                raise CNNLabError(f"{source}: front-matter line {line!r} needs 'key: value'.")
            meta[key.strip().lower()] = val.strip()
    return meta, "\n".join(lines[end + 1 :])


def _split_sections(body: str) -> dict[str, str]:
    """'answer', 'references', 'self-check': the text under each level-2 heading."""
    parts = {"answer": []}
    current = "answer"
    for line in body.splitlines():
        heading = re.match(r"^##\s+(.+?)\s*$", line)
        if heading and heading.group(1).lower() in ("references", "self-check"):
            current = heading.group(1).lower()
            parts[current] = []
        else:
            parts[current].append(line)
    return {k: "\n".join(v).strip() for k, v in parts.items()}


def parse_quiz(text: str, source: str) -> tuple[QuizItem, ...]:
    items, question, options, answer, explanation = [], None, [], None, []

    def close():
        if question is None:
            return
        if len(options) < 2 or answer is None:
            raise CNNLabError(
                f"{source}: quiz question {question!r} needs two or more options, one marked [x]."
            )
        items.append(QuizItem(question, tuple(options), answer, " ".join(explanation).strip()))

    for line in text.splitlines():
        stripped = line.strip()
        option = re.match(r"^[-*]\s+\[( |x|X)\]\s+(.+)$", stripped)
        if stripped.startswith("### "):
            close()
            question, options, answer, explanation = stripped[4:].strip(), [], None, []
        elif option and question is not None:
            if option.group(1).lower() == "x":
                if answer is not None:
                    raise CNNLabError(f"{source}: {question!r} has more than one [x] option.")
                answer = len(options)
            options.append(option.group(2).strip())
        elif stripped.startswith(">") and question is not None:
            explanation.append(stripped.lstrip(">").strip())
        elif stripped:
            raise CNNLabError(f"{source}: cannot read quiz line {stripped!r}.")
    close()
    return tuple(items)


def parse_section(text: str, source: str, facts: dict[str, str]) -> Section:
    meta, body = _front_matter(text, source)
    for key in ("number", "title", "demo"):
        if key not in meta:
            raise CNNLabError(f"{source}: the front matter needs '{key}:'.")
    parts = {k: fill(v, facts, source) for k, v in _split_sections(body).items()}
    references = tuple(
        re.sub(r"^[-*]\s+", "", line.strip())
        for line in parts.get("references", "").splitlines()
        if line.strip()
    )
    return Section(
        number=int(meta["number"]),
        title=fill(meta["title"], facts, source),
        keywords=meta.get("keywords", ""),
        demo=meta["demo"],
        answer=parts["answer"],
        references=references,
        quiz=parse_quiz(parts.get("self-check", ""), source),
        source=source,
    )


def load_sections(facts: dict[str, str], folder: Path = THEORY_DIR) -> list[Section]:
    """The questions in their order (by 'number:'), placeholders filled from ``facts``."""
    files = sorted(Path(folder).glob("q*.md"))
    if not files:
        raise CNNLabError("no question files (q*.md) in content/theory on this server.",
                          server_detail=f"none in {folder}")
    sections = [parse_section(f.read_text(encoding="utf-8"), f.name, facts) for f in files]
    numbers = [s.number for s in sections]
    if len(set(numbers)) != len(numbers):
        raise CNNLabError(f"two question files share a number: {sorted(numbers)}.")
    return sorted(sections, key=lambda s: s.number)


def search(sections: list[Section], query: str) -> list[Section]:
    """The sections whose title, keywords, answer or references contain every word of query."""
    words = query.lower().split()
    return [s for s in sections if all(w in s.search_text for w in words)]


def match_summary(shown: int, total: int, query: str) -> str:
    """'2 of 6 questions match “pooling”' (empty when there is no query)."""
    if not query.strip():
        return ""
    verb = "matches" if shown == 1 else "match"
    return f"{shown} of {total} questions {verb} “{query.strip()}”"


def anchor(section: Section) -> str:
    """The HTML id of a section's heading, for links to it: 'q1', 'q2', ..."""
    return f"q{section.number}"


def contents_markdown(sections: list[Section]) -> str:
    """A table of contents: one Markdown link per question, to its heading's anchor."""
    return "\n".join(f"{s.number}. [{s.title}](#{anchor(s)})" for s in sections)


# Markdown the highlighter must not touch: display and inline math, code, link targets
_PROTECTED = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$|`[^`\n]*`|\]\([^)\s]*\)", re.DOTALL)
_HIGHLIGHTABLE = re.compile(r"^(?=.*\w)[\w'’.%×-]+$")  # no bare '-' (a list marker)


def highlight(markdown: str, query: str) -> str:
    """Mark every occurrence of the query's words in Markdown text with Streamlit's
    ``:orange-background[...]`` (case-insensitive), leaving math, code and link targets alone.
    Words with Markdown punctuation in them are found by the search but not marked."""
    words = sorted({w for w in query.split() if _HIGHLIGHTABLE.match(w)}, key=len, reverse=True)
    if not words:
        return markdown
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    mark = lambda m: f":orange-background[{m.group(0)}]"  # noqa: E731
    out, end = [], 0
    for protected in _PROTECTED.finditer(markdown):
        out.append(pattern.sub(mark, markdown[end : protected.start()]))
        out.append(protected.group(0))
        end = protected.end()
    out.append(pattern.sub(mark, markdown[end:]))
    return "".join(out)


def is_correct(item: QuizItem, choice: str | None) -> bool:
    return choice is not None and item.options.index(choice) == item.answer


def load_architectures(facts: dict[str, str], folder: Path = THEORY_DIR) -> list[dict[str, str]]:
    """Question 6's table: one dict per row of architectures.csv, placeholders filled."""
    path = Path(folder) / "architectures.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [{k: fill(v or "", facts, path.name) for k, v in row.items()} for row in rows]
