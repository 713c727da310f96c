"""The reference table: the statistics fitter (``fit``), the real hands measured once by the
landmark U-Net (``hands``), and the run that fits the shipped table and scores it (``run``)."""
