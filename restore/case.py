"""Sentence-initial case: one rule for counting edits, labelling them and proposing them.

A capitalised word is counted and labelled as its lowercase form ("Best" and "best" share counts and a label:
``fold``), and a replacement takes the capital back where it is used (``recase``).
"""

from __future__ import annotations


def lower_initial(text: str) -> str:
    """A capitalised (not all-caps) word's first letter lowercased: "Best" -> "best"; "NATO" and "I" stay."""
    return text[0].lower() + text[1:] if text[:1].isupper() and not text[:2].isupper() else text


def upper_initial(text: str) -> str:
    """The first letter uppercased: "top" -> "Top"."""
    return text[:1].upper() + text[1:]


def fold(before: str, after: str) -> tuple[str, str]:
    """An edit with sentence-initial case folded out: ("Best", "Top") -> ("best", "top"); an all-caps or
    lowercase side keeps its case, and an edit whose replacement starts lowercase is left as it is."""
    if before[:1].isupper() and after[:1].isupper() and not before[:2].isupper():
        return lower_initial(before), lower_initial(after)
    return before, after


def recase(before: str, after: str, sentence_start: bool = False) -> str:
    """``after`` cased to replace ``before``: capitalised where ``before`` is (its case was folded out when
    it was counted or labelled), and at a sentence start where ``before`` begins with a digit ("2 ..." was
    "Two ...")."""
    if before[:1].isupper() or (sentence_start and before[:1].isdigit()):
        return upper_initial(after)
    return after
