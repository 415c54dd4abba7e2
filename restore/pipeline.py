"""From text to edits, one way for every caller: spans -> tag -> propose -> reread -> second look -> choose.

``Restorer`` makes the edits it returns, ``restore-bench --ceiling`` reads every candidate with the final
look's probability, and ``scripts/train.py`` fits each look on the output of the steps before it.

1. spans: each text is split into sentences (``restore.segment``); offsets come back into the text.
2. tag: the tagger flags each word (``restore.engine``), a chunk of sentences at a time, working ahead in threads.
3. propose: the phrase table and the tagger propose candidates with FEATURES (``restore.features``).
4. reread: the context features are read again with the edits the first look makes at its own threshold.
5. second look (with a language model): the candidates the first look finds likely enough get
   SECOND_LOOK_FEATURES, read with the first look's other edits made.
6. choose: the final look's likeliest non-overlapping candidates at least ``min_confidence`` likely. A term alone
   (a text of one short sentence, ``restore.segment.term_alone``) is judged by the term look instead, after step 4.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from restore.edits import Edit
from restore.engine import BATCH_SIZE
from restore.features import Candidate, propose, relook, reread
from restore.looks import Look, choose, made, with_scores
from restore.segment import pieces

if TYPE_CHECKING:
    from restore.engine import OnnxBackend, Tags, TorchBackend
    from restore.graph import SynonymGraph
    from restore.lm import ContextLM
    from restore.phrases import NgramLM, PhraseTable


@dataclass
class Decision:
    """What the final look makes of one text (or sentence): every candidate it weighs, overlapping ones
    included, with ``score`` = its probability, and the edits it makes; offsets into the text."""

    candidates: list[Edit]
    edits: list[Edit]


@dataclass
class Pipeline:
    """The tagger, the counts (news n-grams; ``science``: scientific prose's), the language model and the looks;
    ``second`` (with ``lm``) is the final look when present, ``term`` the look for terms alone (without it, terms
    alone are judged as other sentences). Steps 2 to 5 take the look they read explicitly, so ``scripts/train.py``
    runs them while it fits the looks (``first`` None until then)."""

    backend: TorchBackend | OnnxBackend
    sp: object  # sentencepiece.SentencePieceProcessor
    table: PhraseTable
    ngrams: NgramLM
    lm: ContextLM | None = None
    graph: SynonymGraph | None = None
    science: NgramLM | None = None
    first: Look | None = None
    second: Look | None = None
    term: Look | None = None

    @property
    def final(self) -> Look:
        """The look whose probabilities decide: the second when there is one."""
        if self.first is None:
            raise ValueError("the pipeline has no looks yet (scripts/train.py fits them)")
        return self.second or self.first

    def run(
        self,
        texts: Sequence[str],
        batch_size: int = BATCH_SIZE,
        min_confidence: float | None = None,
        progress: Callable[[int], None] | None = None,
        candidates: bool = True,
    ) -> list[Decision]:
        """Each text's decision (``min_confidence``: each look's own by default); ``progress`` is called with the
        number of sentences done; ``candidates`` False leaves them out (the edits alone are made)."""
        spans, sentences, alone = pieces(texts)
        terms = [alone[t] for t, _, _ in spans]
        found = self.decide(sentences, batch_size, min_confidence, progress, candidates, terms)
        out = [Decision([], []) for _ in texts]
        for (t, s, _), decision in zip(spans, found):
            out[t].candidates += [_moved(x, s) for x in decision.candidates]
            out[t].edits += [_moved(x, s) for x in decision.edits]
        return out

    def decide(
        self,
        sentences: Sequence[str],
        batch_size: int = BATCH_SIZE,
        min_confidence: float | None = None,
        progress: Callable[[int], None] | None = None,
        candidates: bool = True,
        terms: Sequence[bool] | None = None,
    ) -> list[Decision]:
        """Each sentence's decision: steps 2 to 6 (``candidates`` False: the edits alone); a sentence marked in
        ``terms`` is a term alone, judged by the term look."""
        alone = [bool(t) and self.term is not None for t in (terms or [False] * len(sentences))]
        found = []
        for c, tagged in self.tag_chunks(sentences, batch_size):  # later chunks are tagged meanwhile
            found += self.candidates(sentences[c : c + len(tagged)], tagged, alone[c : c + len(tagged)])
            if progress:
                progress(len(tagged))
        out = []
        for cs, (look, ps) in zip(found, self.judged(found, alone, self.final)):
            threshold = look.min_confidence if min_confidence is None else min_confidence
            if candidates:
                scored = with_scores(cs, ps)
                out.append(Decision(scored, choose(scored, threshold)))
            else:  # only the candidates made become edits
                out.append(Decision([], made(cs, ps, threshold)))
        return out

    def judged(
        self, candidates: Sequence[list[Candidate]], terms: Sequence[bool], look: Look
    ) -> list[tuple[Look, list[float]]]:
        """Each sentence's judging look (the term look for one marked in ``terms``, when there is one; else ``look``)
        and its probabilities of the sentence's candidates, each look's sentences weighed in one call."""
        out: list[tuple[Look, list[float]]] = [(look, [])] * len(candidates)
        for term, by in ((False, look), (True, self.term)):
            mine = [j for j, t in enumerate(terms) if (bool(t) and self.term is not None) == term]
            for j, ps in zip(mine, by.grouped_probabilities([candidates[j] for j in mine]) if mine else []):
                out[j] = (by, ps)
        return out

    def tag(
        self, sentences: Sequence[str], batch_size: int = BATCH_SIZE, progress: Callable[[int], None] | None = None
    ) -> list[Tags]:
        """Step 2: the tagger's proposal for each word of each sentence."""
        from restore.engine import tag_sentences

        return tag_sentences(self.backend, self.sp, sentences, batch_size, progress)

    def tag_chunks(self, sentences: Sequence[str], batch_size: int = BATCH_SIZE) -> Iterator[tuple[int, list[Tags]]]:
        """Step 2 a chunk of sentences at a time (16, 32, ... up to engine.CHUNK; each chunk's first index and its
        tags), the tagger working ahead in threads."""
        from restore.engine import tag_chunks

        return tag_chunks(self.backend, self.sp, sentences, batch_size)

    def candidates(
        self, sentences: Sequence[str], tagged: Sequence[Tags], terms: Sequence[bool] | None = None
    ) -> list[list[Candidate]]:
        """Steps 3 to 5: each sentence's candidates with the features its look weighs: the final look's, or for a
        sentence marked in ``terms`` (a term alone) the term look's, which reads them after step 4."""
        found = self.reread(sentences, self.propose(sentences, tagged), self.first)
        if self.second is None:
            return found
        rest = [j for j in range(len(sentences)) if not (terms and terms[j])]
        for j, cs in zip(rest, self.relook([sentences[j] for j in rest], [found[j] for j in rest], self.first)):
            found[j] = cs
        return found

    def propose(self, sentences: Sequence[str], tagged: Sequence[Tags]) -> list[list[Candidate]]:
        """Step 3: each sentence's candidates with FEATURES."""
        phrases = self.backend.phrases
        return propose(sentences, tagged, phrases, self.table, self.ngrams, self.graph, self.science)

    def reread(
        self,
        sentences: Sequence[str],
        candidates: Sequence[list[Candidate]],
        first: Look,
        probabilities: Sequence[Sequence[float]] | None = None,
    ) -> list[list[Candidate]]:
        """Step 4: the candidates' context features read again where the edits ``first`` makes are made;
        ``probabilities``: ``first``'s of the candidates, when the caller has them already."""
        if probabilities is None:
            probabilities = first.grouped_probabilities(candidates)  # one call: a call per sentence cost more
        contexts = [made(cs, ps, first.min_confidence) for cs, ps in zip(candidates, probabilities)]
        return reread(sentences, candidates, contexts, self.ngrams, self.science)

    def relook(
        self, sentences: Sequence[str], candidates: Sequence[list[Candidate]], first: Look
    ) -> list[list[Candidate]]:
        """Step 5: the candidates ``first`` finds likely enough, with SECOND_LOOK_FEATURES from ``lm``."""
        if self.lm is None:
            raise ValueError("the second look needs a language model (lm)")
        return relook(self.lm, sentences, candidates, first)


def _moved(edit: Edit, offset: int) -> Edit:
    return Edit(edit.start + offset, edit.end + offset, edit.before, edit.after, edit.score)
