"""Which standard a bone age is equivalent to: the one that read its models' training films.

A bone age is only a number against a standard: an age on the Greulich & Pyle atlas differs from a
Tanner-Whitehouse (TW3) age of the same film by months, more in some bands. The models learn
whatever their training labels were; the RSNA 2017 films were labelled by radiologists reading
them against Greulich & Pyle, so every shipped estimate is a Greulich & Pyle equivalent, and the
report, FHIR and the SR say so. A model trained on other labels (the phantoms') names none.
"""

from __future__ import annotations

from collections.abc import Iterable

from boneage.modelcard import ModelCard

GREULICH_PYLE_RSNA = "Greulich & Pyle (RSNA 2017 training labels)"

LABELLED_BY: dict[str, str] = {"rsna-2017": GREULICH_PYLE_RSNA}
"""The standard of each training-data family (the part of a card's ``training_data.kind``
before its split)."""


def standard_of(cards: Iterable[ModelCard]) -> str | None:
    """The one standard all the age-giving models' labels follow, or None when they follow
    none, or different ones."""
    standards = set()
    for card in cards:
        kind = card.training_data.kind
        standards.add(next((s for f, s in LABELLED_BY.items() if kind.startswith(f)), None))
    return standards.pop() if len(standards) == 1 else None
