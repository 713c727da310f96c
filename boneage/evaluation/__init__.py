"""Measuring the product: the full assessment over a labelled folder (``labelled_folder``), the
learning curve on real films (``real_curve``, with the row type of every curve in ``curves``),
and contact sheets of overlays (``contact_sheet``)."""
