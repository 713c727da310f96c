"""The landmark U-Net: annotated hands as it reads them (``data``), its loss and loop
(``train``), and the run that measures it and writes its card (``run``)."""
