"""The end-to-end CNN: its training loop (``train``) and the run that calibrates and measures it
and writes its card (``run``)."""
