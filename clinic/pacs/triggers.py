"""When results go to the PACS: once a study is done, and again each time its report is signed.

Called by ``clinic.services`` at those two moments, inside their transaction, so that a delivery
exists exactly when the report or the signature does (and is sent once it is committed).
"""

from __future__ import annotations

from clinic.models import Review, Study


def study_done(study: Study) -> None:
    from clinic.pacs.services import deliveries_queue

    deliveries_queue(study=study)


def report_signed(review: Review) -> None:
    from clinic.pacs.services import deliveries_queue

    deliveries_queue(study=review.report.study, review=review)
