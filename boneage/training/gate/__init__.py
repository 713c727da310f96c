"""The quality gate: real hands against made-up negatives (``train``)."""
