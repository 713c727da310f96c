"""The clinic's settings: ``base`` shared, ``local`` (default), ``production`` and ``test``."""
