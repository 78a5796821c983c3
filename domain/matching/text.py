"""Normalising the free text of profiles (fields, expertise, interests, goals) and language codes.

Everything here is deterministic and locale-free: lower case, hyphens inside words dropped
("start-ups" → "startups", "e-commerce" → "ecommerce"), any other punctuation a space.
"""

from __future__ import annotations

import functools
import re

_HYPHEN_IN_WORD = re.compile(r"(?<=\w)[-\u2010\u2011\u2013](?=\w)")
_NOT_WORD = re.compile(r"[^\w&+#]+")
_TOKEN = re.compile(r"[\w&+#]+")

_COMMON_WORDS = """
    a an and or the of in on at to for from with by as into about my our your their his her its be being
    been am is are was were do does get getting got find finding want wish hope would like to learn
    learning improve improving better more most some any new good great also me i we you they it this that
    these those how what which who work working job jobs career careers field fields finland
    position role roles opportunity opportunities first next future year years skill skills experience
    understand understanding build building develop developing grow growing knowledge insight insights
    people professional professionals local abroad
"""
STOPWORDS = frozenset(_COMMON_WORDS.split())
"""Words too common (in goals especially) to say anything about a pairing."""

LANGUAGE_NAMES = {"fi": "Finnish", "sv": "Swedish", "en": "English"}
_LANGUAGE_ALIASES = {
    "finnish": "fi",
    "suomi": "fi",
    "fin": "fi",
    "swedish": "sv",
    "svenska": "sv",
    "ruotsi": "sv",
    "swe": "sv",
    "english": "en",
    "englanti": "en",
    "eng": "en",
}


@functools.lru_cache(maxsize=4096)  # a pool repeats its fields, interests and goals
def phrase(text: str) -> str:
    """A phrase compared as a whole: ``"Start-ups "`` → ``"startups"``, ``"Data  Science"`` → ``"data science"``."""
    lowered = _HYPHEN_IN_WORD.sub("", text.strip().lower())
    return " ".join(_NOT_WORD.sub(" ", lowered).split())


@functools.lru_cache(maxsize=4096)
def tokens(text: str) -> frozenset[str]:
    """The meaningful words of ``text`` (stop words and one-letter words dropped)."""
    return frozenset(word for word in _TOKEN.findall(phrase(text)) if len(word) > 1 and word not in STOPWORDS)


def language_key(code: str) -> str:
    """The key a language is compared by: ``fi``/``Finnish``/``suomi`` → ``fi``; others lower-cased as given."""
    key = code.strip().lower()
    return _LANGUAGE_ALIASES.get(key, key)


def language_name(key: str) -> str:
    """``fi`` → ``Finnish``, ``sv`` → ``Swedish``, ``en`` → ``English``; any other code as it is."""
    return LANGUAGE_NAMES.get(key, key)


def words(items: list[str]) -> str:
    """``["a"]`` → ``a``; ``["a", "b"]`` → ``a and b``; ``["a", "b", "c"]`` → ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
