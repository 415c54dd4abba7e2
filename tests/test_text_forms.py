"""Text as users have it: hard-wrapped lines, odd spacing, decomposed accents, lone surrogates."""

from hypothesis import given, settings
from hypothesis import strategies as st

from restore.edits import BREAKS, SURROGATES
from restore.phrases import PhraseTable
from restore.pipeline import Decision
from restore.restorer import Restorer
from restore.tags import decode

PARAGRAPH = (
    "Washington's best diplomat began a visit to Kazakhstan on Tuesday and the minister said the economic "
    "support would continue for a year. Officials condemned the invasion and promised help to the region, "
    "she said. Prices rose by 3% in March, the statistics office said, and they will rise again in 12 months."
)


def wrap(text: str, width: int) -> str:
    """``text`` hard-wrapped at ``width`` columns, each chosen space replaced by a line break (same offsets)."""
    out, line_start, last_space = list(text), 0, -1
    for i, c in enumerate(text):
        if c == " ":
            if i - line_start > width and last_space > line_start:
                out[last_space], line_start = "\n", last_space + 1
            last_space = i
    return "".join(out)


def tagger_only(pipeline):
    """A stand-in for ``Pipeline.decide``: the tagger's own edits, so what the model reads in each piece shows."""

    def decide(sentences, batch_size=32, min_confidence=None, progress=None, candidates=True, terms=None):
        out = []
        for s, (labels, probs, *_) in zip(sentences, pipeline.tag(sentences, batch_size, progress)):
            edits = decode(s, labels, probs, pipeline.backend.phrases, min_confidence)
            out.append(Decision(edits, edits))
        return out

    return decide


def test_hard_wrapped_text_gets_the_edits_of_its_unwrapped_form_but_those_crossing_a_break(tiny_model):
    restorer = Restorer(tiny_model, min_confidence=0.0)
    restorer.pipeline.decide = tagger_only(restorer.pipeline)  # a random tagger: it edits nearly every sentence
    wrapped = wrap(PARAGRAPH, 40)
    assert wrapped.count("\n") >= 6 and wrapped.replace("\n", " ") == PARAGRAPH
    breaks = [m.start() for m in BREAKS.finditer(wrapped)]
    flat = {(e.start, e.end, e.after) for e in restorer.explain(PARAGRAPH)}
    folded = {(e.start, e.end, e.after) for e in restorer.explain(wrapped)}
    crossing = {e for e in flat if any(e[0] <= b < e[1] for b in breaks)}
    assert len(flat - crossing) >= 5  # the comparison has edits to compare
    assert flat - crossing <= folded
    for s, e, _ in folded - flat:  # only where an edit would have crossed a break (a deletion then takes the
        assert any(s < e2 and s2 < e for s2, e2, _ in crossing)  # space after its words instead)
    assert all(not BREAKS.search(wrapped[s:e]) for s, e, _ in folded)


def test_a_known_swap_is_found_whatever_the_spacing_between_its_words():
    table = PhraseTable.build([("threats posed by means of Russia", "threats posed by Russia")] * 2)
    assert table.lookup("by means of") == (2, [("by", 2)])
    for spaced in ("by  means of", "by\tmeans of", "by\u00a0means of", "by \u2003means  of"):
        assert table.lookup(spaced) == (2, [("by", 2)]), spaced
    assert table.lookup("by\nmeans of") is None  # no edit changes a line break


def test_decomposed_accents_are_looked_up_as_composed():
    import unicodedata

    table = PhraseTable.build([("a café was here", "a bar was here")] * 2)
    assert table.lookup(unicodedata.normalize("NFD", "café")) == (2, [("bar", 2)])


def test_the_spaced_and_no_break_forms_of_a_swap_are_restored_in_place(tiny_model):
    restorer = Restorer(tiny_model)
    plain = "The minister said the financial strengthen would continue for 12 months."
    restored = restorer.restore(plain)
    assert "economic support" in restored and "year" in restored  # the tiny decider makes both swaps
    for space in ("  ", "\t", "\u00a0"):
        text = plain.replace("financial strengthen", f"financial{space}strengthen").replace(
            "12 months", f"12{space}months"
        )
        assert restorer.restore(text) == restored, repr(space)


def test_a_lone_surrogate_is_kept_and_a_swap_beside_it_restored(tiny_model):
    restorer = Restorer(tiny_model)
    plain = "The minister said the financial strengthen would continue for 12 months."
    assert restorer.restore(plain) == "The minister said the economic support would continue for year."
    for surrogate in ("\ud800", "\udfff", "\ud83d\ude00"):  # a UTF-16 pair is two lone surrogates in a str
        text = plain.replace("the financial", f"the {surrogate}financial").replace("months", f"months{surrogate}")
        expected = f"The minister said the {surrogate}economic support would continue for year{surrogate}."
        assert restorer.restore(text) == expected


def test_a_deletion_after_a_line_break_takes_the_space_after_it_and_keeps_the_break():
    text = "threats posed by\nmeans of Russia"
    (edit,) = decode(text, [0, 0, 0, 1, 1, 0], [1.0] * 6, ["by"])
    assert (edit.before, edit.after) == ("means of ", "")
    assert decode("posed by means\nof Russia", [0, 0, 1, 1, 0], [1.0] * 5, ["by"]) == []


def test_the_cli_refuses_an_encoded_surrogate_in_one_line(tmp_path, tiny_model, capsys):
    from restore.cli import main

    path = tmp_path / "bad.txt"
    path.write_bytes(b"the best diplomat \xed\xa0\x80 said\n")  # U+D800 as a lax UTF-8 encoder writes it
    assert main(["--model", str(tiny_model), str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == f"restore: error: {path}: not UTF-8 text (invalid byte at offset 18)\n"


def test_no_edit_changes_a_lone_surrogate():
    assert decode("x \ud800 y", [0, 1, 0], [1.0] * 3, ["by"]) == []
    assert decode("x \ud800y z", [0, 2, 0], [1.0] * 3, ["by"]) == []


@settings(max_examples=60, deadline=None)
@given(st.text(st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff", "a", "b", "é", "1", " ", ".", "\n"])))
def test_any_text_with_lone_surrogates_comes_back_with_them_in_place(tiny_restorer, text):
    tiny_restorer.min_confidence = 0.0  # a random model applies junk: surrogates and line breaks must survive it
    out = tiny_restorer.restore(text)
    assert SURROGATES.findall(out) == SURROGATES.findall(text) and out.count("\n") == text.count("\n")


def test_the_language_model_reads_a_lone_surrogate_as_a_replacement_character(tiny_lm):
    from restore.lm import ContextLM

    lm = ContextLM(tiny_lm / "ct2")
    assert lm.logprobs(["The \ud800 minister said"]) == lm.logprobs(["The \ufffd minister said"])
