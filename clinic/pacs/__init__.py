"""PACS in, PACS out: hand radiographs received over DICOM (C-STORE, STOW-RS) become studies, and
each study's results go back to the institution's PACS as an SR and a secondary capture."""
