"""Similar tickets and likely duplicates: TF-IDF cosine of the same character n-grams, within what a caller reaches.

The candidates are the caller's tenant's newest tickets as the `tickets` read model holds them,
narrowed to the part of the tenant the caller reaches (the access policy's list scope), so no
ticket the caller may not see is ever named. They are compared by title, the words the read model
keeps (descriptions are personal data sealed in the events): two titles close enough are a likely
duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass

from projections.tickets.rows import TicketRow

#: A title at least this close (cosine of n-gram TF-IDF, 0..1) marks a likely duplicate.
DUPLICATE_SCORE = 0.8
#: Below this nothing is called similar.
SIMILAR_SCORE = 0.2


@dataclass(frozen=True, slots=True)
class Similar:
    """A ticket like the one asked about, and how alike their titles are."""

    row: TicketRow
    score: float

    @property
    def likely_duplicate(self) -> bool:
        """Whether the titles are close enough to be the same request."""
        return self.score >= DUPLICATE_SCORE


def similar(title: str, candidates: list[TicketRow], *, limit: int) -> list[Similar]:
    """The candidates whose titles are like `title`, most alike first, at most `limit`."""
    if not candidates or not title.strip():
        return []
    # Imported here, not with the module: scikit-learn takes seconds to import (infrastructure/suggestions/model.py).
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415
    from sklearn.metrics.pairwise import linear_kernel  # noqa: PLC0415

    texts = [title, *(row.title for row in candidates)]
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True).fit_transform(texts)
    scores = linear_kernel(matrix[0:1], matrix[1:]).ravel()  # rows are L2-normalised: the dot product is the cosine
    ranked = sorted(range(len(candidates)), key=lambda i: (-scores[i], str(candidates[i].ticket_id)))
    return [Similar(candidates[i], round(float(scores[i]), 4)) for i in ranked[:limit] if scores[i] >= SIMILAR_SCORE]
