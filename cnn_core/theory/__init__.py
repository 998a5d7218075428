"""Theory Q&A: the classic CNN questions, their answers (Markdown in ``content/theory/``), live
demos in numpy and the calculator, and self-check quizzes. No TensorFlow.

    content.py        the questions read from Markdown: sections, quizzes, search, highlights
    facts.py          facts(): every {{placeholder}}'s figure, computed by the calculator
    demos.py          the numpy demos (dense vs conv, shifted digits, pooling, LRN)
    architectures.py  LeNet-5 … Xception's figures, computed (SE blocks, separable convolutions)
    oom_fixes.py      oom_fixes(): what each fix for "GPU out of memory" saves, computed
    views.py          charts

The Theory page reads these modules as namespaces (``from cnn_core.theory import demos``).
"""

from cnn_core.theory.content import (
    QuizItem,
    Section,
    contents_markdown,
    highlight,
    is_correct,
    load_architectures,
    load_sections,
    match_summary,
    search,
)

__all__ = ["QuizItem", "Section", "contents_markdown", "highlight", "is_correct",
           "load_architectures", "load_sections", "match_summary", "search"]
