"""How well a mentor suits a mentee: a score in 0..1 with the reasons in words.

The score is a weighted sum of five parts, each in 0..1 (the weights sum to 1):

==============  ======  ==================================================================================
part            weight  value
==============  ======  ==================================================================================
field           0.35    1 when the mentee's field is one of the mentor's areas of expertise (as a phrase:
                        case, spacing and hyphens ignored); otherwise 0.6 x the share of the field's words
                        found in the mentor's expertise ("data science" vs "data engineering": 0.3)
interests       0.20    Jaccard similarity of the two sets of interests (as phrases): shared / all distinct
sector          0.15    1 when the mentor works in the mentee's preferred sector, 0 when not, 0.5 when the
                        mentee has no preference (neutral)
degree level    0.10    PhD mentees: 1 with a mentor whose expertise or interests speak of research
                        (research, R&D, academia, PhD, doctoral, laboratory, innovation), 0 otherwise.
                        Bachelor's and Master's mentees: 0.5 with anyone (neutral)
goals           0.20    the mentee's goals against the mentor's expertise and interests: the number of
                        shared meaningful words (common words such as "job" or "career" ignored) / 2,
                        at most 1
==============  ======  ==================================================================================

Languages are not scored: sharing one is a hard constraint (see :func:`domain.matching.feasible`), and
the shared languages are named among the reasons ("both speak Finnish").

:func:`score` scores one pair; :func:`score_matrix` scores a whole pool at once with numpy and sparse
matrices, with the very same arithmetic (the same floating-point operations in the same order), so both
give identical numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

from domain.matching.text import LANGUAGE_NAMES, language_key, language_name, phrase, tokens, words
from domain.people import DegreeLevel, MenteeProfile, MentorProfile, Sector

W_FIELD = 0.35
W_INTERESTS = 0.20
W_SECTOR = 0.15
W_DEGREE = 0.10
W_GOALS = 0.20
WEIGHTS = {"field": W_FIELD, "interests": W_INTERESTS, "sector": W_SECTOR, "degree": W_DEGREE, "goals": W_GOALS}

FIELD_PARTIAL = 0.6
"""The most a field earns from shared words alone (an exact match earns 1)."""
GOAL_WORDS_FOR_FULL = 2
"""Shared goal words that earn the full goals part."""
NEUTRAL = 0.5
"""Sector (no preference) and degree level (Bachelor's, Master's): the same for every mentor."""
RESEARCH_WORDS = frozenset(
    {"research", "researcher", "r&d", "academia", "academic", "phd", "doctoral", "laboratory", "innovation"}
)

Matrix = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


# ---------------------------------------------------------------------------------------------- features


def _phrases(items: Iterable[str]) -> dict[str, str]:
    """Normalised phrase → the first spelling given (empty phrases dropped)."""
    found: dict[str, str] = {}
    for item in items:
        key = phrase(item)
        if key and key not in found:
            found[key] = item.strip()
    return found


def _languages(codes: Iterable[str]) -> dict[str, str]:
    """Language key → display name, in the order given."""
    found: dict[str, str] = {}
    for code in codes:
        key = language_key(code)
        if key and key not in found:
            found[key] = language_name(key) if key in LANGUAGE_NAMES else code.strip()
    return found


@dataclass(frozen=True)
class MenteeFeatures:
    mentee_id: str
    institution_id: str
    field: str
    field_phrase: str
    field_tokens: frozenset[str]
    interests: dict[str, str]
    languages: dict[str, str]
    goal_tokens: frozenset[str]
    preferred_sector: Sector | None
    phd: bool

    @classmethod
    def of(cls, mentee: MenteeProfile) -> MenteeFeatures:
        return cls(
            mentee_id=mentee.mentee_id,
            institution_id=mentee.institution_id,
            field=mentee.field.strip(),
            field_phrase=phrase(mentee.field),
            field_tokens=tokens(mentee.field),
            interests=_phrases(mentee.interests),
            languages=_languages(mentee.languages),
            goal_tokens=frozenset().union(*(tokens(goal) for goal in mentee.goals)),
            preferred_sector=mentee.preferred_sector,
            phd=mentee.degree_level is DegreeLevel.PHD,
        )


@dataclass(frozen=True)
class MentorFeatures:
    mentor_id: str
    sector: Sector
    expertise: dict[str, str]
    expertise_tokens: frozenset[str]
    expertise_item_tokens: tuple[tuple[str, frozenset[str]], ...]
    interests: dict[str, str]
    languages: dict[str, str]
    profile_tokens: frozenset[str]
    """Words of expertise and interests together (what goals are compared with)."""
    research: bool
    conflicts: frozenset[str]

    @classmethod
    def of(cls, mentor: MentorProfile) -> MentorFeatures:
        item_tokens = tuple((item.strip(), tokens(item)) for item in mentor.expertise)
        expertise_tokens = frozenset().union(*(t for _, t in item_tokens))
        profile_tokens = expertise_tokens.union(*(tokens(interest) for interest in mentor.interests))
        return cls(
            mentor_id=mentor.mentor_id,
            sector=mentor.sector,
            expertise=_phrases(mentor.expertise),
            expertise_tokens=expertise_tokens,
            expertise_item_tokens=item_tokens,
            interests=_phrases(mentor.interests),
            languages=_languages(mentor.languages),
            profile_tokens=profile_tokens,
            research=bool(profile_tokens & RESEARCH_WORDS),
            conflicts=frozenset(mentor.conflicts),
        )


def shared_languages(mentee: MenteeFeatures, mentor: MentorFeatures) -> list[str]:
    """The languages both speak, named, in the mentee's order."""
    return [name for key, name in mentee.languages.items() if key in mentor.languages]


# ---------------------------------------------------------------------------------------------- one pair


def _parts(mentee: MenteeFeatures, mentor: MentorFeatures) -> tuple[float, float, float, float, float]:
    if mentee.field_phrase in mentor.expertise:
        field = 1.0
    elif mentee.field_tokens:
        field = FIELD_PARTIAL * (len(mentee.field_tokens & mentor.expertise_tokens) / len(mentee.field_tokens))
    else:
        field = 0.0
    shared = len(mentee.interests.keys() & mentor.interests.keys())
    union = len(mentee.interests) + len(mentor.interests) - shared
    interests = shared / union if union else 0.0
    sector = NEUTRAL if mentee.preferred_sector is None else float(mentee.preferred_sector is mentor.sector)
    degree = (1.0 if mentor.research else 0.0) if mentee.phd else NEUTRAL
    goals = min(1.0, len(mentee.goal_tokens & mentor.profile_tokens) / GOAL_WORDS_FOR_FULL)
    return field, interests, sector, degree, goals


def _combine(field: float, interests: float, sector: float, degree: float, goals: float) -> float:
    return W_FIELD * field + W_INTERESTS * interests + W_SECTOR * sector + W_DEGREE * degree + W_GOALS * goals


def score_features(mentee: MenteeFeatures, mentor: MentorFeatures) -> tuple[float, tuple[str, ...]]:
    field, interests, sector, degree, goals = _parts(mentee, mentor)
    reasons: list[str] = []
    if field == 1.0:
        reasons.append(f"shared field: {mentee.field}")
    elif field > 0.0:
        best = max(mentor.expertise_item_tokens, key=lambda item: len(item[1] & mentee.field_tokens))
        reasons.append(f"related field: {mentee.field} ~ {best[0]}")
    if languages := shared_languages(mentee, mentor):
        reasons.append(f"both speak {words(languages)}")
    if mentee.preferred_sector is not None and sector == 1.0:
        reasons.append(f"sector preference: {mentee.preferred_sector.value}")
    if interests > 0.0:
        common = [shown for key, shown in mentee.interests.items() if key in mentor.interests]
        reasons.append(f"shared interests: {', '.join(common)}")
    if goals > 0.0:
        reasons.append(f"goals match: {', '.join(sorted(mentee.goal_tokens & mentor.profile_tokens))}")
    if mentee.phd and degree == 1.0:
        reasons.append("research experience for a PhD mentee")
    return _combine(field, interests, sector, degree, goals), tuple(reasons)


def score(mentee: MenteeProfile, mentor: MentorProfile) -> tuple[float, tuple[str, ...]]:
    """The pair's score in 0..1 and why, in words (e.g. ``"shared field: data science"``).

    Hard constraints are not checked here: see :func:`domain.matching.feasible`.
    """
    return score_features(MenteeFeatures.of(mentee), MentorFeatures.of(mentor))


# ---------------------------------------------------------------------------------------------- a whole pool


class Overlap:
    """Counts of shared items between the rows of two sides, ``counts(a, b)[i, j]`` = the number of distinct
    items ``left[a + i]`` and ``right[j]`` share, a block of rows at a time (no dense temporaries of the
    whole pool).

    The left side is a sparse 0/1 incidence matrix over the vocabulary of the left side only (an item no
    left row has cannot be shared); the right side a dense float32 0/1 matrix over that vocabulary. Their
    product counts the overlaps exactly (small integers are exact in float32).
    """

    def __init__(self, left: Sequence[Iterable[str]], right: Sequence[Iterable[str]]) -> None:
        vocabulary: dict[str, int] = {}
        indptr, indices = [0], []
        for items in left:
            indices.extend(sorted({vocabulary.setdefault(item, len(vocabulary)) for item in items}))
            indptr.append(len(indices))
        width = max(len(vocabulary), 1)
        self.left = sparse.csr_matrix(
            (np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(len(left), width)
        )
        dense = np.zeros((width, len(right)), dtype=np.float32)
        for j, items in enumerate(right):
            for item in items:
                if (k := vocabulary.get(item)) is not None:
                    dense[k, j] = 1.0
        self.right = dense

    def counts(self, start: int = 0, stop: int | None = None) -> npt.NDArray[np.float32]:
        block: npt.NDArray[np.float32] = np.asarray(self.left[start:stop] @ self.right)
        return block


def overlap(left: Sequence[Iterable[str]], right: Sequence[Iterable[str]]) -> npt.NDArray[np.int64]:
    """``counts[i, j]`` = the number of distinct items ``left[i]`` and ``right[j]`` share (a dense matrix)."""
    return Overlap(left, right).counts().astype(np.int64)


ROWS_PER_BLOCK = 512
"""Rows of the pool scored at a time: blocks of a few MB keep the temporaries in cache."""


def row_blocks(m: int, size: int = ROWS_PER_BLOCK) -> Iterable[tuple[int, int]]:
    for start in range(0, m, size):
        yield start, min(m, start + size)


def score_matrix(mentees: Sequence[MenteeFeatures], mentors: Sequence[MentorFeatures]) -> Matrix:
    """``scores[i, j]`` = the score of ``mentees[i]`` with ``mentors[j]``, as :func:`score` computes it.

    The overlaps are counted in float32 (exact: small integers); the score itself is float64 and uses the
    very operations of :func:`score` in the same order, so both give identical numbers. Computed a block of
    mentees at a time.
    """
    m, n = len(mentees), len(mentors)
    total = np.zeros((m, n))
    if m == 0 or n == 0:
        return total

    exact = Overlap([[e.field_phrase] for e in mentees], [list(r.expertise) for r in mentors])
    field_words = Overlap([e.field_tokens for e in mentees], [r.expertise_tokens for r in mentors])
    field_sizes = np.array([len(e.field_tokens) for e in mentees], dtype=np.float64)
    shared_interests = Overlap([e.interests for e in mentees], [r.interests for r in mentors])
    mentee_interests = np.array([len(e.interests) for e in mentees], dtype=np.float64)
    mentor_interests = np.array([len(r.interests) for r in mentors], dtype=np.float64)
    goal_words = Overlap([e.goal_tokens for e in mentees], [r.profile_tokens for r in mentors])

    # Sector and degree level take a few values: W x part for each kind of mentee, against every mentor.
    codes = {sector: code for code, sector in enumerate(Sector)}
    offered = np.array([codes[r.sector] for r in mentors])
    sector_rows = np.array(
        [np.full(n, W_SECTOR * NEUTRAL)] + [W_SECTOR * (offered == p).astype(np.float64) for p in range(len(codes))]
    )
    preferred = np.array([0 if e.preferred_sector is None else 1 + codes[e.preferred_sector] for e in mentees])
    research = np.array([1.0 if r.research else 0.0 for r in mentors])
    degree_rows = np.array([np.full(n, W_DEGREE * NEUTRAL), W_DEGREE * research])
    phd = np.array([1 if e.phd else 0 for e in mentees])
    goal_table = np.array([W_GOALS * min(1.0, g / GOAL_WORDS_FOR_FULL) for g in range(GOAL_WORDS_FOR_FULL + 1)])
    any_empty_field = bool((field_sizes == 0).any())

    for a, b in row_blocks(m):
        block = total[a:b]
        np.divide(field_words.counts(a, b), field_sizes[a:b, None], out=block)  # the partial field
        block *= FIELD_PARTIAL
        if any_empty_field:
            block[field_sizes[a:b] == 0, :] = 0.0
        np.copyto(block, 1.0, where=exact.counts(a, b) > 0)
        block *= W_FIELD

        shared = shared_interests.counts(a, b).astype(np.float64)
        union = mentee_interests[a:b, None] + mentor_interests[None, :]
        union -= shared
        interests = np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
        interests *= W_INTERESTS
        block += interests

        block += sector_rows[preferred[a:b]]
        block += degree_rows[phd[a:b]]

        goals = np.minimum(goal_words.counts(a, b), GOAL_WORDS_FOR_FULL).astype(np.intp)
        block += goal_table[goals]
    return total


def score_unit(mentees: Sequence[MenteeFeatures], mentors: Sequence[MentorFeatures]) -> int:
    """A whole number ``U`` such that every score of this pool is a whole multiple of ``1 / U`` (as a
    rational: the float is the nearest double to it).

    With the weights in twentieths and the neutral parts halves, ``200 x`` a score is ``70 field' +
    40 shared/union + 30 sector + 20 degree + 40 goals`` with ``field' = 1`` or ``0.6 words/size``: a whole
    number once multiplied by the least common multiple of the field sizes (word counts) and of the
    interest unions that occur. The solver checks the claim on every pair it uses (``rint(score * U)`` must
    be within 1e-6 of ``score * U``) before relying on it.
    """
    denominators = {len(e.field_tokens) for e in mentees if e.field_tokens}
    left = {len(e.interests) for e in mentees}
    right = {len(r.interests) for r in mentors}
    for a in left:
        for b in right:
            denominators.update(range(max(a, b), a + b + 1))  # a + b - shared, shared in 0..min(a, b)
    denominators.discard(0)
    return 200 * math.lcm(1, *denominators)


def _any_shared(left: Sequence[Iterable[str]], right: Sequence[Iterable[str]]) -> Mask:
    counts = Overlap(left, right)
    mask = np.zeros((len(left), len(right)), dtype=bool)
    for a, b in row_blocks(len(left)):
        mask[a:b] = counts.counts(a, b) > 0
    return mask


def languages_shared(mentees: Sequence[MenteeFeatures], mentors: Sequence[MentorFeatures]) -> Mask:
    """``shared[i, j]``: mentee ``i`` and mentor ``j`` have a language in common."""
    return _any_shared([e.languages for e in mentees], [r.languages for r in mentors])


def conflicts(mentees: Sequence[MenteeFeatures], mentors: Sequence[MentorFeatures]) -> Mask:
    """``conflict[i, j]``: mentor ``j`` declares a conflict with mentee ``i``'s institution."""
    return _any_shared([[e.institution_id] for e in mentees], [r.conflicts for r in mentors])
