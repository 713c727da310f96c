"""What a report says beside the estimates: the confidence notes and the agreement of the two
(:mod:`~boneage.report.notes`), the reading against the chronological age
(:mod:`~boneage.report.chronological`), the age bands of the cards' errors
(:mod:`~boneage.report.age_bands`) and the growth chart (:mod:`~boneage.report.chart`)."""
